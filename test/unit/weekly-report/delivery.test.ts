import { rm } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../../functions/shared/adapters/local/fs-object-store.js';
import { SlackNotifier } from '../../../functions/shared/adapters/slack/slack-notifier.js';
import { loadRuntimeConfig } from '../../../functions/shared/config.js';
import { StaticSecretSource } from '../../../functions/shared/ports/secrets.js';
import { parseToillessConfig } from '../../../functions/shared/stack-config.js';
import { create } from '../../../functions/weekly-report/compose.js';
import type { DeliveryRecord } from '../../../functions/weekly-report/delivery.js';
import { captureLog } from '../../support/captured-log.js';
import { createTempDir } from '../../support/process.js';
import { RecordingBus } from '../../support/recording-bus.js';
import { RecordingClock } from '../../support/recording-clock.js';
import { type StandInEngines, standInEngines } from '../../support/report-stand-ins.js';
import { type SlackApiServer, startSlackApiServer } from '../../support/slack-api-server.js';

// Monday 2026-12-07 08:00 UTC: the default schedule's run for 2026-W49.
const MONDAY_RUN = new Date('2026-12-07T08:00:00Z');
const PDF_KEY = 'reports/2026-W49/report.pdf';

let dir: string;
let slack: SlackApiServer;
let store: FsObjectStore;
let bus: RecordingBus;
let clock: RecordingClock;
let engines: StandInEngines;
let log: ReturnType<typeof captureLog>;

async function composeReport() {
  const toilless = parseToillessConfig('report: { dashboards: [toilless, slo-error-budget] }');
  const notifier = new SlackNotifier({
    token: slack.token,
    channel: '#toilless',
    apiUrl: slack.url,
    maxRetries: 0,
  });
  return create(
    {
      store,
      bus,
      clock,
      logger: log.logger,
      notifier,
      secrets: new StaticSecretSource({ SLACK_BOT_TOKEN: slack.token }),
    },
    {
      // Nothing listens here: the summary parts from Prometheus become unavailable, as they would.
      runtime: loadRuntimeConfig({ PROMETHEUS_URL: 'http://127.0.0.1:9', TOILLESS_DATA_DIR: dir }),
      toilless,
      stackConfigDir: 'stack-config',
      platform: 'local',
    },
    { engines: () => engines, delivery: { uploadAttempts: 2, retryDelayMs: 1_000 } },
  );
}

async function storedKeys(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of store.list(prefix)) keys.push(key);
  return keys;
}

async function deliveryRecord(): Promise<DeliveryRecord> {
  const stored = await store.get('reports/2026-W49/delivery.json');
  if (!stored) throw new Error('no delivery record');
  return JSON.parse(stored.body.toString('utf8')) as DeliveryRecord;
}

beforeEach(async () => {
  dir = await createTempDir('report-delivery');
  slack = await startSlackApiServer();
  store = new FsObjectStore(dir);
  bus = new RecordingBus();
  clock = new RecordingClock(MONDAY_RUN);
  engines = standInEngines();
  log = captureLog('weekly-report');
});

afterEach(async () => {
  await slack.close();
  await rm(dir, { recursive: true, force: true });
});

describe('Weekly report delivery', () => {
  it('stores the PDF under the ISO week, uploads it in Slack three steps with a summary, and emits ReportPublished', async () => {
    // Prepare
    const worker = await composeReport();

    // Act: what EventBridge Scheduler (or the local timer) runs
    await worker.schedules.WeeklyReport();

    // Assess
    const stored = await store.get(PDF_KEY);
    expect(stored?.body.toString('utf8')).toContain('% stand-in report 2026-W49 run 1 mode native');
    const uploadSteps = slack.calls
      .map((call) => call.method)
      .filter((method) => method !== 'conversations.list');
    expect(uploadSteps).toEqual(['files.getUploadURLExternal', 'upload', 'files.completeUploadExternal']);
    const [file] = slack.files();
    expect(file?.content).toEqual(stored?.body);
    expect(file).toMatchObject({
      completed: true,
      channel: slack.channelId('toilless'),
      filename: 'toilless-report-2026-W49.pdf',
    });
    expect(file?.initial_comment).toMatch(
      /^Weekly report toilless 2026-W49 \(2026-11-30 to 2026-12-07\)\nSLOs: unavailable/,
    );
    expect(file?.initial_comment).not.toMatch(/replaces/);
    expect(bus.published).toEqual([
      expect.objectContaining({
        type: 'ReportPublished',
        detail: {
          week: '2026-W49',
          key: PDF_KEY,
          from: '2026-11-30T00:00:00.000Z',
          to: '2026-12-07T00:00:00.000Z',
        },
      }),
    ]);
    expect(engines.assembled[0]?.dashboards.map((dashboard) => dashboard.uid)).toEqual([
      'toilless',
      'slo-error-budget',
    ]);
    expect(await deliveryRecord()).toMatchObject({
      slack: { state: 'uploaded' },
      published: true,
      replaced: false,
    });
  });

  it('replaces the stored report on a second run for the same week, and says so in Slack and the logs', async () => {
    // Prepare
    const worker = await composeReport();
    await worker.schedules.WeeklyReport();

    // Act
    await worker.schedules.WeeklyReport();

    // Assess
    expect(await storedKeys('reports/')).toEqual(['reports/2026-W49/delivery.json', PDF_KEY]);
    expect((await store.get(PDF_KEY))?.body.toString('utf8')).toContain('run 2');
    const [first, second] = slack.files();
    expect(second?.initial_comment).toMatch(/This replaces the report stored earlier for this week\.$/);
    expect(first?.initial_comment).not.toMatch(/replaces/);
    expect(log.text()).toContain('report stored, replacing the one stored earlier for this week');
    expect(bus.published).toHaveLength(2);
  });

  it('keeps the stored PDF when the upload fails, and the retry delivers that PDF without storing or rendering again', async () => {
    // Prepare: Slack fails the last step of both attempts of the first run
    const worker = await composeReport();
    slack.failNext({ error: 'internal_error' }, { method: 'files.completeUploadExternal', times: 2 });

    // Act
    const failed = worker.schedules.WeeklyReport();

    // Assess: the run fails (so the schedule retries it), the PDF stays, the delivery is pending
    await expect(failed).rejects.toThrow(
      /the report for 2026-W49 is stored at reports\/2026-W49\/report\.pdf but its upload failed 2 times/,
    );
    const stored = await store.get(PDF_KEY);
    expect(stored?.body.length).toBeGreaterThan(0);
    expect(await deliveryRecord()).toMatchObject({
      slack: { state: 'pending', attempts: 2 },
      published: false,
    });
    expect(clock.sleeps).toEqual([1_000]);
    expect(bus.published).toEqual([]);

    // Act: the schedule's retry
    await worker.schedules.WeeklyReport();

    // Assess
    expect(engines.assembled).toHaveLength(1);
    expect(await storedKeys('reports/')).toEqual(['reports/2026-W49/delivery.json', PDF_KEY]);
    expect((await store.get(PDF_KEY))?.etag).toBe(stored?.etag);
    const shared = slack.files().filter((file) => file.completed);
    expect(shared).toHaveLength(1);
    expect(shared[0]?.content).toEqual(stored?.body);
    expect(bus.published.map((event) => event.type)).toEqual(['ReportPublished']);
    expect(await deliveryRecord()).toMatchObject({
      slack: { state: 'uploaded', attempts: 3 },
      published: true,
    });
  });

  it('does not upload again when only the event failed: the retry publishes it', async () => {
    // Prepare
    const worker = await composeReport();
    bus.failNext(1);
    await expect(worker.schedules.WeeklyReport()).rejects.toThrow(/simulated throttling/);

    // Act
    await worker.schedules.WeeklyReport();

    // Assess
    expect(slack.files().filter((file) => file.completed)).toHaveLength(1);
    expect(bus.published).toHaveLength(1);
  });
});
