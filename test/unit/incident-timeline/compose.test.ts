import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { create, createTimelinePreview } from '../../../functions/incident-timeline/compose.js';
import { DEPLOY_INDEX_PREFIX } from '../../../functions/incident-timeline/deploy-index.js';
import type { IncidentTimeline } from '../../../functions/incident-timeline/model.js';
import { FsObjectStore } from '../../../functions/shared/adapters/local/fs-object-store.js';
import { OutboxNotifier } from '../../../functions/shared/adapters/local/outbox-notifier.js';
import { loadRuntimeConfig } from '../../../functions/shared/config.js';
import type { ToillessEvent } from '../../../functions/shared/events/types.js';
import { silentLogger } from '../../../functions/shared/log.js';
import { StaticSecretSource } from '../../../functions/shared/ports/secrets.js';
import { parseToillessConfig, stackConfigDir } from '../../../functions/shared/stack-config.js';
import type { WorkerConfig, WorkerPorts } from '../../../functions/shared/workers/composition.js';
import { RecordingBus } from '../../support/recording-bus.js';
import { RecordingClock } from '../../support/recording-clock.js';
import { capturedPayload, notificationOf } from './payloads.js';

const NOW = new Date('2026-11-28T08:45:00Z');

/** Nothing listens on port 1: every evidence source is refused at once. */
const UNREACHABLE = 'http://127.0.0.1:1';

const DEPLOYED: ToillessEvent<'DeploymentRecorded'> = {
  id: 'deployment:acme/sample-app:production:1234:success',
  type: 'DeploymentRecorded',
  time: '2026-11-28T08:35:12.000Z',
  detail: {
    repository: 'acme/sample-app',
    environment: 'production',
    deploymentId: '1234',
    sha: 'a'.repeat(40),
    status: 'success',
    production: true,
    finishedAt: '2026-11-28T08:35:12.000Z',
    services: ['sample-app'],
  },
};

describe('Incident timeline composition', () => {
  let dataDir: string;
  let ports: WorkerPorts;
  let bus: RecordingBus;
  let unavailable: string[];
  let config: WorkerConfig;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'toilless-compose-'));
    const store = new FsObjectStore(dataDir);
    bus = new RecordingBus();
    unavailable = [];
    const clock = new RecordingClock(NOW);
    ports = {
      store,
      bus,
      notifier: new OutboxNotifier({ store, channel: '#incidents', clock }),
      clock,
      logger: silentLogger,
      secrets: new StaticSecretSource({}),
      signals: { sourceUnavailable: (source) => unavailable.push(source) },
    };
    config = {
      runtime: loadRuntimeConfig({
        PROMETHEUS_URL: UNREACHABLE,
        LOKI_URL: UNREACHABLE,
        TEMPO_URL: UNREACHABLE,
      }),
      toilless: parseToillessConfig('incidents:\n  sourceBudget: 5s\n'),
      stackConfigDir: stackConfigDir({}),
      platform: 'local',
    };
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  async function keys(prefix: string): Promise<string[]> {
    const found: string[] = [];
    for await (const key of ports.store.list(prefix)) found.push(key);
    return found;
  }

  it('indexes DeploymentRecorded for the timelines, and publishes nothing for it', async () => {
    // Prepare
    const worker = await create(ports, config);

    // Act
    await worker.handle(DEPLOYED);
    await worker.handle(DEPLOYED);

    // Assess
    expect(await keys(DEPLOY_INDEX_PREFIX)).toEqual([
      expect.stringMatching(/^incidents\/deploys\/sample-app\/2026-11-28T08-35-12Z-[0-9a-f]{12}\.json$/),
    ]);
    expect(bus.attempts).toBe(0);
  });

  it('opens an incident from an AlertNotification, with the indexed deployment and the unreachable sources counted', async () => {
    // Prepare
    const worker = await create(ports, config);
    await worker.handle(DEPLOYED);

    // Act
    await worker.handle(notificationOf(await capturedPayload('firing-fastburnrate.json'), NOW));

    // Assess
    expect(bus.published.map((event) => event.type)).toEqual(['IncidentOpened']);
    const [timelineKey] = (await keys('incidents/')).filter((key) => key.endsWith('/timeline.json'));
    const stored = await ports.store.get(timelineKey as string);
    const timeline = JSON.parse(stored?.body.toString('utf8') ?? '{}') as IncidentTimeline;
    expect(timeline.events.some((event) => event.kind === 'deployment')).toBe(true);
    expect(timeline.events.some((event) => event.kind === 'source.unavailable')).toBe(true);
    expect(unavailable.length).toBeGreaterThan(0);
    expect(await keys('outbox/slack/')).not.toEqual([]);
  });

  it('has no schedules, and ignores events it does not consume', async () => {
    // Prepare
    const worker = await create(ports, config);
    const unrelated = {
      ...DEPLOYED,
      id: 'report:2026-W48',
      type: 'ReportPublished',
    } as unknown as ToillessEvent;

    // Act
    await worker.handle(unrelated);

    // Assess
    expect(worker.schedules).toEqual({});
    expect(await keys('incidents/')).toEqual([]);
  });

  it('previews a timeline for the CLI without storing or sending anything', async () => {
    // Prepare
    const preview = createTimelinePreview(ports, config);

    // Act
    const { timeline, markdown } = await preview(await capturedPayload('firing-fastburnrate.json'));

    // Assess
    expect(timeline.service).toBe('sample-app');
    expect(markdown.startsWith('# ')).toBe(true);
    expect(await keys('')).toEqual([]);
    expect(bus.attempts).toBe(0);
  });
});
