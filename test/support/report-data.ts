/**
 * Data for the series every shipped dashboard reads (application, node and blackbox exporters, the
 * DORA worker's own series, toilless's /metrics names), sampled over a time span, for the weekly
 * report's native renderer tests and benchmark and the dashboards' PromQL test. The values are simple so that the numbers the report
 * shows can be worked out by hand:
 * - sample-app: 10 req/s answered 200 and 0.2 req/s answered 500 (error ratio 0.2 / 10.2 = 1.96%);
 *   p95 latency of the 200s exactly 0.5 s (the 0.25-0.5 s bucket ends at the 95th percentile);
 * - node-exporter:9100: 8 GB memory, 5 GB available (37.5% used); disk / 60% used; 2 cores 40% busy;
 * - the probe answers HTTP 200; octo/shop deploys 12 times with 2 failures in each window.
 */

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DoraMetrics, WindowMetrics } from '../../functions/dora-metrics/metrics/metrics.js';
import { doraTimeSeries } from '../../functions/dora-metrics/metrics/metrics.js';
import { RemoteWriteClient, type TimeSeries } from '../../functions/shared/prometheus/remote-write.js';
import { type RunningPrometheus, startPrometheus } from './prometheus.js';
import { waitFor } from './wait.js';

export const REPORT_NODE = 'node-exporter:9100';
export const REPORT_PROBED = 'http://sample-app:8000/healthz';

export interface ReportDataSpan {
  readonly fromMs: number;
  readonly toMs: number;
  /** Between samples of each series. */
  readonly stepMs: number;
  /** Between the DORA worker's computations. @default 5 minutes */
  readonly doraEveryMs?: number;
}

function times(span: ReportDataSpan, every = span.stepMs): number[] {
  const result: number[] = [];
  for (let t = span.fromMs; t <= span.toMs; t += every) result.push(t);
  return result;
}

function counter(labels: Record<string, string>, perSecond: number, span: ReportDataSpan): TimeSeries {
  return {
    labels,
    samples: times(span).map((t) => ({ value: ((t - span.fromMs) / 1000) * perSecond, timestampMs: t })),
  };
}

function gauge(
  labels: Record<string, string>,
  value: (t: number) => number,
  span: ReportDataSpan,
): TimeSeries {
  return { labels, samples: times(span).map((t) => ({ value: value(t), timestampMs: t })) };
}

function applicationSeries(span: ReportDataSpan): TimeSeries[] {
  const app = { service: 'sample-app', job: 'sample-app', instance: 'sample-app:8000' };
  const series: TimeSeries[] = [
    counter({ __name__: 'http_requests_total', ...app, status_code: '200' }, 10, span),
    counter({ __name__: 'http_requests_total', ...app, status_code: '500' }, 0.2, span),
    counter({ __name__: 'process_cpu_seconds_total', ...app }, 0.3, span),
    gauge({ __name__: 'process_resident_memory_bytes', ...app }, () => 80e6, span),
    gauge({ __name__: 'up', ...app }, () => 1, span),
  ];
  const buckets: [string, number][] = [
    ['0.1', 6],
    ['0.25', 8],
    ['0.5', 9.5],
    ['1', 9.9],
    ['+Inf', 10],
  ];
  for (const status of ['200', '500']) {
    const share = status === '200' ? 1 : 0.02;
    for (const [le, perSecond] of buckets) {
      series.push(
        counter(
          { __name__: 'http_request_duration_seconds_bucket', ...app, status_code: status, le },
          perSecond * share,
          span,
        ),
      );
    }
  }
  return series;
}

function nodeSeries(span: ReportDataSpan): TimeSeries[] {
  const node = { service: 'node', job: 'node', instance: REPORT_NODE };
  const series: TimeSeries[] = [
    gauge({ __name__: 'node_uname_info', ...node, nodename: 'host-1' }, () => 1, span),
    gauge({ __name__: 'node_load1', ...node }, (t) => 0.7 + 0.3 * Math.sin(t / 3_600_000), span),
    gauge({ __name__: 'node_load5', ...node }, () => 0.5, span),
    gauge({ __name__: 'node_load15', ...node }, () => 0.4, span),
    gauge({ __name__: 'node_memory_MemTotal_bytes', ...node }, () => 8e9, span),
    gauge({ __name__: 'node_memory_MemAvailable_bytes', ...node }, () => 5e9, span),
    gauge({ __name__: 'node_memory_Cached_bytes', ...node }, () => 2e9, span),
    gauge({ __name__: 'node_memory_Buffers_bytes', ...node }, () => 1e8, span),
    counter({ __name__: 'node_disk_read_bytes_total', ...node, device: 'sda' }, 1e5, span),
    counter({ __name__: 'node_disk_written_bytes_total', ...node, device: 'sda' }, 2e5, span),
    counter({ __name__: 'node_network_receive_bytes_total', ...node, device: 'eth0' }, 3e5, span),
    counter({ __name__: 'node_network_transmit_bytes_total', ...node, device: 'eth0' }, 1e5, span),
  ];
  const disk = { ...node, device: '/dev/sda1', fstype: 'ext4', mountpoint: '/' };
  series.push(
    gauge({ __name__: 'node_filesystem_avail_bytes', ...disk }, () => 4e10, span),
    gauge({ __name__: 'node_filesystem_size_bytes', ...disk }, () => 1e11, span),
  );
  for (const cpu of ['0', '1']) {
    series.push(
      counter({ __name__: 'node_cpu_seconds_total', ...node, cpu, mode: 'idle' }, 0.6, span),
      counter({ __name__: 'node_cpu_seconds_total', ...node, cpu, mode: 'user' }, 0.4, span),
    );
  }
  return series;
}

function probeSeries(span: ReportDataSpan): TimeSeries[] {
  const probe = { service: 'sample-app', job: 'probe-http', instance: REPORT_PROBED };
  const series: TimeSeries[] = [
    gauge({ __name__: 'probe_success', ...probe }, (t) => (t % 300_000 < 15_000 ? 0 : 1), span),
    gauge({ __name__: 'probe_duration_seconds', ...probe }, (t) => 0.05 + (t % 60_000) / 1e6, span),
    gauge({ __name__: 'probe_http_status_code', ...probe }, () => 200, span),
    gauge(
      { __name__: 'probe_ssl_earliest_cert_expiry', ...probe },
      () => span.toMs / 1000 + 40 * 86_400,
      span,
    ),
  ];
  for (const phase of ['resolve', 'connect', 'tls', 'processing', 'transfer']) {
    series.push(gauge({ __name__: 'probe_http_duration_seconds', ...probe, phase }, () => 0.01, span));
  }
  return series;
}

/** toilless's own series, as its /metrics would be scraped. */
function toillessSeries(span: ReportDataSpan): TimeSeries[] {
  const own = { service: 'toilless', job: 'toilless', instance: 'toilless:8080' };
  return [
    gauge({ __name__: 'up', ...own }, () => 1, span),
    counter(
      { __name__: 'toilless_webhook_requests_total', ...own, route: '/webhooks/alertmanager', status: '200' },
      0.5,
      span,
    ),
    counter({ __name__: 'toilless_events_published_total', ...own, type: 'AlertNotification' }, 0.5, span),
    counter({ __name__: 'toilless_process_cpu_seconds_total', ...own }, 0.02, span),
    gauge({ __name__: 'toilless_process_resident_memory_bytes', ...own }, () => 120e6, span),
    gauge({ __name__: 'toilless_nodejs_eventloop_lag_p99_seconds', ...own }, () => 0.012, span),
  ];
}

/** The DORA worker's series for octo/shop, one sample per computation, merged into one series each. */
function doraSeries(span: ReportDataSpan): TimeSeries[] {
  const window = (label: '7d' | '30d'): WindowMetrics => ({
    window: label,
    successes: 12,
    failures: 2,
    successesWithIncident: 1,
    deploymentFrequencyPerDay: label === '7d' ? 12 / 7 : 12 / 30,
    leadTimeSeconds: { p50: 5_400, p90: 20_000, count: 30 },
    changeFailureRate: 3 / 14,
    timeToRestoreSeconds: { p50: 1_800, p90: 7_200, count: 3 },
    levels: { deploymentFrequency: 4, leadTime: 3, changeFailureRate: 3, timeToRestore: 3 },
  });
  const metrics: DoraMetrics[] = [
    {
      repository: 'octo/shop',
      environment: 'production',
      production: true,
      computedAt: new Date(span.toMs).toISOString(),
      windows: [window('7d'), window('30d')],
    },
  ];
  const merged = new Map<
    string,
    { labels: Record<string, string>; samples: { value: number; timestampMs: number }[] }
  >();
  for (const t of times(span, span.doraEveryMs ?? 300_000)) {
    for (const series of doraTimeSeries(metrics, t)) {
      const key = JSON.stringify(Object.entries(series.labels).sort());
      const entry = merged.get(key) ?? { labels: { ...series.labels }, samples: [] };
      entry.samples.push(...series.samples);
      merged.set(key, entry);
    }
  }
  return [...merged.values()];
}

export interface ReportSeriesOptions {
  /** Include toilless's own /metrics series; leave them out where a real registry is scraped. @default true */
  readonly toillessMetrics?: boolean;
}

/** Every series the shipped dashboards read, over the span. */
export function reportSeries(span: ReportDataSpan, options: ReportSeriesOptions = {}): TimeSeries[] {
  return [
    ...applicationSeries(span),
    ...nodeSeries(span),
    ...probeSeries(span),
    ...(options.toillessMetrics === false ? [] : toillessSeries(span)),
    ...doraSeries(span),
  ];
}

/** prometheus.yml for a test Prometheus that accepts remote-written history up to `days` old. */
export function historyPrometheusConfig(ruleFiles: readonly string[], days: number): string {
  return [
    'global:',
    '  scrape_interval: 15s',
    '  evaluation_interval: 1s',
    ...(ruleFiles.length > 0
      ? [`rule_files: [${ruleFiles.map((name) => JSON.stringify(name)).join(', ')}]`]
      : []),
    'storage:',
    '  tsdb:',
    `    out_of_order_time_window: ${days}d`,
    '',
  ].join('\n');
}

/**
 * A real Prometheus with the shipped rule files, holding the report's series for the hour before
 * `endMs` (15 s apart), once its SLO rules have recorded the objectives.
 */
export async function startReportPrometheus(endMs: number): Promise<RunningPrometheus> {
  const rulesDir = join(import.meta.dirname, '..', '..', 'stack-config', 'prometheus', 'rules');
  const ruleFiles: Record<string, string> = {};
  for (const name of (await readdir(rulesDir)).filter((file) => /\.ya?ml$/.test(file))) {
    ruleFiles[name] = await readFile(join(rulesDir, name), 'utf8');
  }
  const prometheus = await startPrometheus({
    ruleFiles,
    config: historyPrometheusConfig(Object.keys(ruleFiles), 1),
  });
  await new RemoteWriteClient({ url: prometheus.remoteWriteUrl }).write(
    reportSeries({ fromMs: endMs - 60 * 60_000, toMs: endMs, stepMs: 15_000 }),
  );
  await waitFor(
    async () => {
      const data = await prometheus.query('slo:objective:ratio');
      return data.resultType === 'vector' && data.result.length > 0 ? true : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 250, description: 'the SLO rules to record the objectives' },
  );
  return prometheus;
}
