/**
 * A runtime reads all of its configuration from the one stack-config directory it is given: a copy
 * with its own slos.yaml is used whole, never mixed with the repository's.
 */
import { cp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IncidentTimeline } from '../../../functions/incident-timeline/model.js';
import { createLocalRuntime, type LocalRuntime } from '../../../functions/local/local-runtime.js';
import { silentLogger } from '../../../functions/shared/log.js';
import { type LokiServer, startLokiServer } from '../../support/loki-server.js';
import { freePort } from '../../support/ports.js';
import { createTempDir } from '../../support/process.js';
import { STACK_CONFIG_DIR } from '../../support/stack-config-copy.js';
import { startTempoServer, type TempoServer } from '../../support/tempo-server.js';
import { waitFor } from '../../support/wait.js';
import { incidentTraces, sampleAppStream } from '../../unit/incident-timeline/evidence/incident-data.js';
import { fastBurnCritical, notificationOf, sampleAppGroup } from '../../unit/incident-timeline/payloads.js';

const COPIED_SLOS = `services:
  sample-app:
    copied-latency:
      description: Requests answered within 250 ms.
      objective: 95
      sli:
        type: latency
        metric: http_request_duration_seconds
        selector: 'service="sample-app"'
        threshold: "0.25"
`;

describe('Stack-config directory of a runtime', () => {
  let loki: LokiServer;
  let tempo: TempoServer;
  let dir: string;
  let runtime: LocalRuntime | undefined;

  beforeEach(async () => {
    loki = await startLokiServer({ streams: [sampleAppStream()] });
    tempo = await startTempoServer({ traces: incidentTraces() });
    dir = await createTempDir('stack-config-dir');
  });

  afterEach(async () => {
    await runtime?.close();
    await loki.close();
    await tempo.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("reads slos.yaml from the runtime's stack-config directory, not the repository's", async () => {
    // Prepare
    const configDir = join(dir, 'stack-config');
    await cp(STACK_CONFIG_DIR, configDir, { recursive: true });
    await writeFile(join(configDir, 'slos.yaml'), COPIED_SLOS);
    runtime = await createLocalRuntime({
      dataDir: join(dir, 'data'),
      env: {
        PROMETHEUS_URL: `http://127.0.0.1:${await freePort()}`,
        LOKI_URL: loki.url,
        TEMPO_URL: tempo.url,
      },
      logger: silentLogger,
      clock: { now: () => new Date('2026-11-28T09:05:30Z'), sleep: async () => {} },
      processMetrics: false,
      stackConfigDir: configDir,
    });
    const notification = notificationOf(await sampleAppGroup([fastBurnCritical('2026-11-28T08:55:15Z')]));

    // Act
    await runtime.bus.publish([notification]);

    // Assess
    const store = runtime.store;
    const timeline = await waitFor(
      async () => {
        for await (const key of store.list('incidents/')) {
          if (!key.endsWith('/timeline.json')) continue;
          const object = await store.get(key);
          return object ? (JSON.parse(object.body.toString('utf8')) as IncidentTimeline) : undefined;
        }
        return undefined;
      },
      { timeoutMs: 20_000, description: 'the incident timeline to be stored' },
    );
    const slow = timeline.events.find((event) => event.kind === 'trace.slow');
    expect(slow?.summary).toContain('slower than 250 ms (copied-latency SLO)');
  });
});
