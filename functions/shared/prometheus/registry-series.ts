/**
 * A prom-client registry's current values as remote-write series: what a Lambda execution environment
 * pushes at the end of an invocation, since nothing can scrape it. Each sample carries the environment's
 * own `instance` label, so series of different environments never collide, and counters stay
 * cumulative per environment: rate() and increase() over them work as for scraped targets.
 */
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { TimeSeries } from './write-request.js';

/** The labels every pushed series gets, e.g. job and instance; a metric's own labels of these names lose. */
export type PushLabels = Readonly<Record<string, string>>;

/**
 * The series of `metrics` (registry.getMetricsAsJSON()) at `timestampMs`: counters and gauges by their
 * name, histograms and summaries by the sample names prom-client gives them (_bucket, _sum, _count).
 * Values that are not finite numbers are left out.
 */
export function registrySeries(
  metrics: readonly MetricObjectWithValues<MetricValue<string>>[],
  labels: PushLabels,
  timestampMs: number,
): TimeSeries[] {
  const series: TimeSeries[] = [];
  for (const metric of metrics) {
    for (const sample of metric.values) {
      if (typeof sample.value !== 'number' || !Number.isFinite(sample.value)) continue;
      const name = (sample as { metricName?: string }).metricName ?? metric.name;
      const own = Object.fromEntries(
        Object.entries(sample.labels).map(([key, value]) => [key, String(value)]),
      );
      series.push({
        labels: { ...own, ...labels, __name__: name },
        samples: [{ value: sample.value, timestampMs }],
      });
    }
  }
  return series;
}
