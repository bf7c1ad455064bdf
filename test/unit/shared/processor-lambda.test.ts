import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { doraMetricsManifest } from '../../../functions/dora-metrics/manifest.js';
import { processorLambda } from '../../../functions/shared/adapters/aws/processor-lambda.js';
import { ValidationError } from '../../../functions/shared/errors.js';
import type { ToillessEvent } from '../../../functions/shared/events/types.js';
import type { ComposeProcessor, WorkerConfig } from '../../../functions/shared/workers/composition.js';
import { captureLog } from '../../support/captured-log.js';

describe('A processor on Lambda', () => {
  const saved = { ...process.env };

  beforeEach(() => {
    Object.assign(process.env, { TOILLESS_BUCKET: 'toilless-test', TOILLESS_EVENT_BUS: 'toilless-test' });
  });

  afterEach(() => {
    process.env = { ...saved };
  });

  function recordingWorker() {
    const seen = { composed: 0, runs: 0, events: [] as ToillessEvent[], configs: [] as WorkerConfig[] };
    const create: ComposeProcessor = async (_ports, config) => {
      seen.composed += 1;
      seen.configs.push(config);
      return {
        handle: async (event) => {
          seen.events.push(event);
        },
        schedules: {
          DoraRecompute: async () => {
            seen.runs += 1;
          },
        },
      };
    };
    return { seen, create };
  }

  it("runs the schedule its manifest's payload names, composing the worker once", async () => {
    // Prepare
    const { seen, create } = recordingWorker();
    const handler = processorLambda(doraMetricsManifest, create);
    const [recompute] = doraMetricsManifest.schedules;

    // Act
    await handler({ ...recompute.payload });
    await handler({ ...recompute.payload });

    // Assess
    expect(seen.runs).toBe(2);
    expect(seen.composed).toBe(1);
    expect(seen.events).toEqual([]);
    expect(seen.configs[0]?.platform).toBe('aws');
  });

  it('hands a toilless event from its rule to the worker', async () => {
    // Prepare
    const { seen, create } = recordingWorker();
    const handler = processorLambda(doraMetricsManifest, create);
    const detail = { id: 'github:1', time: '2026-11-28T09:00:00Z', detail: { repository: 'octo/app' } };

    // Act
    await handler({ source: 'toilless', 'detail-type': 'GitHubPush', detail });

    // Assess
    expect(seen.events).toEqual([
      { id: 'github:1', type: 'GitHubPush', time: detail.time, detail: detail.detail },
    ]);
    expect(seen.runs).toBe(0);
  });

  it('refuses an invocation that is neither an event nor one of its schedules', async () => {
    // Prepare
    const { seen, create } = recordingWorker();
    const handler = processorLambda(doraMetricsManifest, create);

    // Act
    const unknown = handler({ source: 'toilless.schedule', task: 'SomethingElse' });

    // Assess
    await expect(unknown).rejects.toThrow(ValidationError);
    expect(seen.runs).toBe(0);
  });

  it('composes again on the next invocation when composing failed', async () => {
    // Prepare
    const { seen, create } = recordingWorker();
    let attempts = 0;
    const flaky: ComposeProcessor = async (ports, config) => {
      attempts += 1;
      if (attempts === 1) throw new Error('Secrets Manager throttled the read');
      return create(ports, config);
    };
    const handler = processorLambda(doraMetricsManifest, flaky);
    const payload = { ...doraMetricsManifest.schedules[0].payload };

    // Act
    const first = handler(payload);

    // Assess
    await expect(first).rejects.toThrow('Secrets Manager throttled the read');
    await handler(payload);
    expect(seen.runs).toBe(1);
  });

  it('logs a failure once, through the logger its ports hand to the worker', async () => {
    // Prepare
    const log = captureLog('dora-metrics');
    const failing: ComposeProcessor = async (ports) => ({
      handle: async () => {},
      schedules: {
        DoraRecompute: async () => {
          ports.logger.info('recomputing');
          throw new Error('the store refused the write');
        },
      },
    });
    const handler = processorLambda(doraMetricsManifest, failing, { logger: log.logger });

    // Act
    const run = handler({ ...doraMetricsManifest.schedules[0].payload });

    // Assess
    await expect(run).rejects.toThrow('the store refused the write');
    const records = log.records();
    expect(records.map((record) => record['msg'])).toEqual([
      'recomputing',
      'toilless_worker_failures_total +1',
    ]);
    expect(records[1]).toMatchObject({
      metric: 'toilless_worker_failures_total',
      subscriber: 'dora-metrics',
      err: { message: 'the store refused the write' },
    });
  });
});
