/**
 * A processor on Lambda pushes its toilless_* counters to the real Prometheus (Debian package, remote-write
 * receiver on) at the end of each invocation, so the toilless rules see them on AWS as they do locally.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { doraMetricsManifest } from '../../../functions/dora-metrics/manifest.js';
import { processorLambda } from '../../../functions/shared/adapters/aws/processor-lambda.js';
import type { ComposeProcessor } from '../../../functions/shared/workers/composition.js';
import { type InstantQueryData, type RunningPrometheus, startPrometheus } from '../../support/prometheus.js';

let prometheus: RunningPrometheus;
const saved = { ...process.env };

beforeAll(async () => {
  prometheus = await startPrometheus();
}, 30_000);

afterAll(async () => {
  await prometheus.stop();
});

beforeEach(() => {
  Object.assign(process.env, {
    TOILLESS_BUCKET: 'toilless-test',
    TOILLESS_EVENT_BUS: 'toilless-test',
    AWS_LAMBDA_FUNCTION_NAME: 'Toilless-Workers-DoraMetrics',
  });
});

afterEach(() => {
  process.env = { ...saved };
});

function values(data: InstantQueryData): Array<{ labels: Record<string, string>; value: number }> {
  if (data.resultType !== 'vector') throw new Error(`expected a vector, got ${data.resultType}`);
  return data.result.map((sample) => ({ labels: sample.metric, value: Number(sample.value[1]) }));
}

/** A worker whose recompute fails on its first run, and reports Loki unavailable on each run. */
const flakyWorker: ComposeProcessor = async (ports) => {
  let runs = 0;
  return {
    handle: async () => {},
    schedules: {
      DoraRecompute: async () => {
        runs += 1;
        ports.signals?.sourceUnavailable('loki');
        if (runs === 1) throw new Error('GitHub answered 502');
      },
    },
  };
};

describe('Worker metrics on Lambda', () => {
  it('pushes the failures and unavailable sources of the execution environment after each invocation, failed ones too', async () => {
    // Prepare
    process.env.PROMETHEUS_URL = prometheus.url;
    const handler = processorLambda(doraMetricsManifest, flakyWorker);
    const [recompute] = doraMetricsManifest.schedules;

    // Act
    await expect(handler({ ...recompute.payload })).rejects.toThrow('GitHub answered 502');
    const afterFailure = values(await prometheus.query('toilless_worker_failures_total'));
    await handler({ ...recompute.payload });

    // Assess
    expect(afterFailure).toEqual([
      {
        labels: expect.objectContaining({ subscriber: 'dora-metrics', job: 'toilless', service: 'toilless' }),
        value: 1,
      },
    ]);
    const [unavailable] = values(
      await prometheus.query('toilless_evidence_sources_unavailable_total{source="loki"}'),
    );
    expect(unavailable?.value).toBe(2);
    expect(unavailable?.labels.instance).toMatch(/^Toilless-Workers-DoraMetrics\/[0-9a-f-]{36}$/);
    expect(afterFailure[0]?.labels.instance).toBe(unavailable?.labels.instance);
  });

  it('pushes nothing and still runs when no Prometheus is configured', async () => {
    // Prepare
    delete process.env.PROMETHEUS_URL;
    delete process.env.PROMETHEUS_REMOTE_WRITE_URL;
    process.env.AWS_LAMBDA_FUNCTION_NAME = 'Unconfigured';
    const handler = processorLambda(doraMetricsManifest, flakyWorker);
    const [recompute] = doraMetricsManifest.schedules;

    // Act
    await expect(handler({ ...recompute.payload })).rejects.toThrow('GitHub answered 502');
    await handler({ ...recompute.payload });

    // Assess
    expect(
      values(await prometheus.query('count(toilless_worker_failures_total{instance=~"Unconfigured/.*"})')),
    ).toEqual([]);
  });

  it('keeps the outcome of the invocation when Prometheus cannot be reached', async () => {
    // Prepare: a port nothing listens on.
    process.env.PROMETHEUS_URL = 'http://127.0.0.1:9';
    const handler = processorLambda(doraMetricsManifest, flakyWorker);
    const [recompute] = doraMetricsManifest.schedules;

    // Act and Assess
    await expect(handler({ ...recompute.payload })).rejects.toThrow('GitHub answered 502');
    await expect(handler({ ...recompute.payload })).resolves.toBeUndefined();
  });
});
