import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registrySeries } from '../../../functions/shared/prometheus/registry-series.js';

describe('Registry series', () => {
  it('turns counters and histograms into one series per sample, with the push labels winning', async () => {
    // Prepare
    const registry = new Registry();
    const failures = new Counter({
      name: 'toilless_worker_failures_total',
      help: 'failures',
      labelNames: ['subscriber', 'job'] as const,
      registers: [registry],
    });
    failures.inc({ subscriber: 'dora-metrics', job: 'spoofed' }, 2);
    const duration = new Histogram({
      name: 'took_seconds',
      help: 'took',
      buckets: [1],
      registers: [registry],
    });
    duration.observe(0.5);

    // Act
    const series = registrySeries(
      await registry.getMetricsAsJSON(),
      { job: 'toilless', instance: 'fn/1' },
      1000,
    );

    // Assess
    expect(series).toEqual([
      {
        labels: {
          __name__: 'toilless_worker_failures_total',
          subscriber: 'dora-metrics',
          job: 'toilless',
          instance: 'fn/1',
        },
        samples: [{ value: 2, timestampMs: 1000 }],
      },
      {
        labels: { __name__: 'took_seconds_bucket', le: '1', job: 'toilless', instance: 'fn/1' },
        samples: [{ value: 1, timestampMs: 1000 }],
      },
      {
        labels: { __name__: 'took_seconds_bucket', le: '+Inf', job: 'toilless', instance: 'fn/1' },
        samples: [{ value: 1, timestampMs: 1000 }],
      },
      {
        labels: { __name__: 'took_seconds_sum', job: 'toilless', instance: 'fn/1' },
        samples: [{ value: 0.5, timestampMs: 1000 }],
      },
      {
        labels: { __name__: 'took_seconds_count', job: 'toilless', instance: 'fn/1' },
        samples: [{ value: 1, timestampMs: 1000 }],
      },
    ]);
  });

  it('leaves out values that are not finite numbers', async () => {
    // Prepare
    const registry = new Registry();
    const gauge = new Gauge({ name: 'g', help: 'g', labelNames: ['kind'] as const, registers: [registry] });
    gauge.set({ kind: 'nan' }, Number.NaN);
    gauge.set({ kind: 'finite' }, 3);

    // Act
    const series = registrySeries(await registry.getMetricsAsJSON(), {}, 1000);

    // Assess
    expect(series).toEqual([
      { labels: { __name__: 'g', kind: 'finite' }, samples: [{ value: 3, timestampMs: 1000 }] },
    ]);
  });
});
