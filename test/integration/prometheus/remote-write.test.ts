/**
 * The remote-write client against the real Prometheus (Debian package, --web.enable-remote-write-receiver).
 *
 * What Prometheus 2.42 refuses, and what the client surfaces then (a 400 is never retried):
 * - a sample older than the newest one of its series: `400 out of order sample`;
 * - a sample at the newest timestamp with another value: `400 duplicate sample for timestamp`
 *   (the same value is accepted again, so a retried single-sample write is harmless);
 * - a sample older than what the head block still accepts (about an hour behind the newest sample
 *   in the database): `400 out of bounds`.
 * Prometheus rolls back the whole request when one sample is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpstreamError } from '../../../functions/shared/errors.js';
import type { Clock } from '../../../functions/shared/ports/clock.js';
import {
  RemoteWriteClient,
  STALE_NAN,
  type TimeSeries,
} from '../../../functions/shared/prometheus/remote-write.js';
import { type InstantQueryData, type RunningPrometheus, startPrometheus } from '../../support/prometheus.js';

/** The system clock, recording the backoff sleeps so a test can tell a retry happened. */
function recordingClock(): { clock: Clock; sleeps: number[] } {
  const sleeps: number[] = [];
  return {
    clock: {
      now: () => new Date(),
      sleep: (ms) => {
        sleeps.push(ms);
        return new Promise((resolve) => setTimeout(resolve, ms));
      },
    },
    sleeps,
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

function vector(data: InstantQueryData) {
  if (data.resultType !== 'vector') throw new Error(`expected a vector, got ${data.resultType}`);
  return [...data.result].sort((a, b) => JSON.stringify(a.metric).localeCompare(JSON.stringify(b.metric)));
}

function matrix(data: InstantQueryData) {
  if (data.resultType !== 'matrix') throw new Error(`expected a matrix, got ${data.resultType}`);
  return data.result;
}

describe('Remote-write to Prometheus', () => {
  let prometheus: RunningPrometheus;
  let client: RemoteWriteClient;
  let sleeps: number[];
  // Whole seconds, so that query timestamps (float seconds) match sample timestamps exactly.
  const now = Math.floor(Date.now() / 1000) * 1000;

  beforeAll(async () => {
    prometheus = await startPrometheus();
  });

  afterAll(async () => {
    await prometheus?.stop();
  });

  const connect = () => {
    const recording = recordingClock();
    sleeps = recording.sleeps;
    client = new RemoteWriteClient({
      url: prometheus.remoteWriteUrl,
      clock: recording.clock,
      baseDelayMs: 10,
    });
  };

  it('writes DORA series that an instant query returns with their labels and latest values', async () => {
    // Prepare
    connect();
    const series: TimeSeries[] = [
      {
        labels: {
          __name__: 'toilless_deployments_total',
          repository: 'acme/shop',
          environment: 'production',
        },
        samples: [
          { value: 41, timestampMs: now - 120_000 },
          { value: 42, timestampMs: now - 60_000 },
        ],
      },
      {
        labels: {
          __name__: 'toilless_lead_time_seconds',
          repository: 'acme/shop',
          environment: 'production',
          team: '',
        },
        samples: [{ value: 5400.5, timestampMs: now - 60_000 }],
      },
    ];

    // Act
    const result = await client.write(series);
    const data = await prometheus.query('{repository="acme/shop"}', new Date(now));

    // Assess
    expect(result).toEqual({ requests: 1, series: 2, samples: 3, attempts: 1 });
    expect(vector(data)).toEqual([
      {
        metric: {
          __name__: 'toilless_deployments_total',
          environment: 'production',
          repository: 'acme/shop',
        },
        value: [now / 1000, '42'],
      },
      {
        metric: {
          __name__: 'toilless_lead_time_seconds',
          environment: 'production',
          repository: 'acme/shop',
        },
        value: [now / 1000, '5400.5'],
      },
    ]);
  });

  it('stores every sample of a write split into many requests, at its timestamp', async () => {
    // Prepare
    client = new RemoteWriteClient({ url: prometheus.remoteWriteUrl, maxSamplesPerRequest: 100 });
    const series: TimeSeries[] = Array.from({ length: 50 }, (_, s) => ({
      labels: { __name__: 'toilless_split_write', shard: String(s) },
      samples: Array.from({ length: 20 }, (_, i) => ({
        value: s * 100 + i,
        timestampMs: now - (20 - i) * 15_000,
      })),
    }));

    // Act
    const result = await client.write(series);
    const shard7 = await prometheus.query('toilless_split_write{shard="7"}[10m]', new Date(now));
    const total = await prometheus.query('sum(count_over_time(toilless_split_write[10m]))', new Date(now));

    // Assess
    expect(result).toEqual({ requests: 10, series: 50, samples: 1_000, attempts: 10 });
    expect(matrix(shard7)[0]?.values).toEqual(
      Array.from({ length: 20 }, (_, i) => [(now - (20 - i) * 15_000) / 1000, String(700 + i)]),
    );
    expect(vector(total)[0]?.value[1]).toBe('1000');
  });

  it('ends a series with STALE_NAN: queries stop returning it at once', async () => {
    // Prepare
    connect();
    const labels = { __name__: 'toilless_open_incidents', repository: 'acme/stale' };
    await client.write([{ labels, samples: [{ value: 3, timestampMs: now - 30_000 }] }]);

    // Act
    await client.write([{ labels, samples: [{ value: STALE_NAN, timestampMs: now - 20_000 }] }]);

    // Assess: without the marker the sample would be returned for 5 minutes
    expect(vector(await prometheus.query('toilless_open_incidents', new Date(now - 25_000)))).toHaveLength(1);
    expect(vector(await prometheus.query('toilless_open_incidents', new Date(now - 10_000)))).toEqual([]);
  });

  it("surfaces an out-of-order sample as a 400 UpstreamError with Prometheus' message, not retried", async () => {
    // Prepare
    connect();
    const labels = { __name__: 'toilless_change_failure_ratio', repository: 'acme/shop' };
    await client.write([{ labels, samples: [{ value: 0.1, timestampMs: now - 10_000 }] }]);

    // Act
    const error = await rejection(
      client.write([{ labels, samples: [{ value: 0.2, timestampMs: now - 40_000 }] }]),
    );

    // Assess
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).status).toBe(400);
    expect((error as UpstreamError).message).toBe(
      'prometheus remote-write: 400 out of order sample (1 attempt; not retried: the receiver refused this data)',
    );
    expect(sleeps).toEqual([]);
  });

  it('surfaces another value at the newest timestamp as 400 duplicate sample, and accepts the same value again', async () => {
    // Prepare
    connect();
    const labels = { __name__: 'toilless_deployment_frequency_per_day', repository: 'acme/shop' };
    const sample = { value: 2.5, timestampMs: now - 5_000 };
    await client.write([{ labels, samples: [sample] }]);

    // Act
    const repeated = await client.write([{ labels, samples: [sample] }]);
    const error = await rejection(client.write([{ labels, samples: [{ ...sample, value: 3 }] }]));

    // Assess
    expect(repeated.attempts).toBe(1);
    expect((error as UpstreamError).message).toBe(
      'prometheus remote-write: 400 duplicate sample for timestamp (1 attempt; not retried: the receiver refused this data)',
    );
  });

  it('surfaces a sample older than the head block accepts as 400 out of bounds, writing nothing of the request', async () => {
    // Prepare: the newest sample in the database sets how far back the head block accepts samples
    connect();
    await client.write([
      {
        labels: { __name__: 'toilless_backfill', repository: 'acme/anchor' },
        samples: [{ value: 1, timestampMs: now }],
      },
    ]);
    const fresh = {
      labels: { __name__: 'toilless_backfill', repository: 'acme/fresh' },
      samples: [{ value: 1, timestampMs: now - 1_000 }],
    };
    const old = {
      labels: { __name__: 'toilless_backfill', repository: 'acme/old' },
      samples: [{ value: 1, timestampMs: now - 3 * 3_600_000 }],
    };

    // Act
    const error = await rejection(client.write([fresh, old]));

    // Assess
    expect((error as UpstreamError).message).toBe(
      'prometheus remote-write: 400 out of bounds (1 attempt; not retried: the receiver refused this data)',
    );
    expect(
      vector(await prometheus.query('toilless_backfill{repository!="acme/anchor"}', new Date(now))),
    ).toEqual([]);
  });
});
