/**
 * Every PromQL expression of every shipped dashboard, evaluated by the real Prometheus with the shipped
 * rule files loaded and data present: the SLO rules' recorded series, node and blackbox exporter
 * series, the DORA worker's series (from its own doraTimeSeries) and toilless's own /metrics (the real
 * WorkerMetrics registry, scraped). Each query must evaluate without error, instant and over a range,
 * and find data, so a dashboard cannot drift from the names the rules and the runtime use.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DoraMetrics, WindowMetrics } from '../../../functions/dora-metrics/metrics/metrics.js';
import { doraTimeSeries } from '../../../functions/dora-metrics/metrics/metrics.js';
import { WorkerMetrics } from '../../../functions/local/worker-metrics.js';
import { RemoteWriteClient, type TimeSeries } from '../../../functions/shared/prometheus/remote-write.js';
import {
  type DashboardQuery,
  dashboardQueries,
  SAMPLE_VARIABLES,
  STACK_CONFIG,
  shippedDashboards,
  substituteVariables,
} from '../../support/dashboards.js';
import type { InstantQueryData, RunningPrometheus } from '../../support/prometheus.js';
import { startPrometheus } from '../../support/prometheus.js';
import { waitFor } from '../../support/wait.js';

const RULES_DIR = join(STACK_CONFIG, 'prometheus', 'rules');
const STEP_MS = 15_000;
/** Pushed history: long enough for every [5m] and [$__range] window to hold several samples. */
const HISTORY_MS = 30 * 60_000;
const NODE = 'node-exporter:9100';
const PROBED = 'http://sample-app:8000/healthz';

/** Variable values per dashboard where the shared sample does not fit (blackbox probes URLs). */
const VARIABLES_BY_DASHBOARD: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'blackbox-exporter': { ...SAMPLE_VARIABLES, instance: '.+' },
  'node-exporter': { ...SAMPLE_VARIABLES, instance: NODE },
};

/** A counter sampled every STEP_MS over the history, rising by `perSecond`. */
function counter(labels: Record<string, string>, perSecond: number, now: number): TimeSeries {
  const samples = [];
  for (let t = now - HISTORY_MS; t <= now; t += STEP_MS) {
    samples.push({ value: ((t - (now - HISTORY_MS)) / 1000) * perSecond, timestampMs: t });
  }
  return { labels, samples };
}

/** A gauge sampled every STEP_MS over the history. */
function gauge(labels: Record<string, string>, value: (t: number) => number, now: number): TimeSeries {
  const samples = [];
  for (let t = now - HISTORY_MS; t <= now; t += STEP_MS) samples.push({ value: value(t), timestampMs: t });
  return { labels, samples };
}

function applicationSeries(now: number): TimeSeries[] {
  const app = { service: 'sample-app', job: 'sample-app', instance: 'sample-app:8000' };
  const series: TimeSeries[] = [
    counter({ __name__: 'http_requests_total', ...app, status_code: '200' }, 10, now),
    counter({ __name__: 'http_requests_total', ...app, status_code: '500' }, 0.2, now),
    counter({ __name__: 'process_cpu_seconds_total', ...app }, 0.3, now),
    gauge({ __name__: 'process_resident_memory_bytes', ...app }, () => 80e6, now),
    gauge({ __name__: 'up', ...app }, () => 1, now),
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
          now,
        ),
      );
    }
  }
  return series;
}

function nodeSeries(now: number): TimeSeries[] {
  const node = { service: 'node', job: 'node', instance: NODE };
  const series: TimeSeries[] = [
    gauge({ __name__: 'node_uname_info', ...node, nodename: 'host-1' }, () => 1, now),
    gauge({ __name__: 'node_load1', ...node }, () => 0.7, now),
    gauge({ __name__: 'node_load5', ...node }, () => 0.5, now),
    gauge({ __name__: 'node_load15', ...node }, () => 0.4, now),
    gauge({ __name__: 'node_memory_MemTotal_bytes', ...node }, () => 8e9, now),
    gauge({ __name__: 'node_memory_MemAvailable_bytes', ...node }, () => 5e9, now),
    gauge({ __name__: 'node_memory_Cached_bytes', ...node }, () => 2e9, now),
    gauge({ __name__: 'node_memory_Buffers_bytes', ...node }, () => 1e8, now),
    counter({ __name__: 'node_disk_read_bytes_total', ...node, device: 'sda' }, 1e5, now),
    counter({ __name__: 'node_disk_written_bytes_total', ...node, device: 'sda' }, 2e5, now),
    counter({ __name__: 'node_network_receive_bytes_total', ...node, device: 'eth0' }, 3e5, now),
    counter({ __name__: 'node_network_transmit_bytes_total', ...node, device: 'eth0' }, 1e5, now),
  ];
  const disk = { ...node, device: '/dev/sda1', fstype: 'ext4', mountpoint: '/' };
  series.push(
    gauge({ __name__: 'node_filesystem_avail_bytes', ...disk }, () => 4e10, now),
    gauge({ __name__: 'node_filesystem_size_bytes', ...disk }, () => 1e11, now),
  );
  for (const cpu of ['0', '1']) {
    series.push(
      counter({ __name__: 'node_cpu_seconds_total', ...node, cpu, mode: 'idle' }, 0.6, now),
      counter({ __name__: 'node_cpu_seconds_total', ...node, cpu, mode: 'user' }, 0.4, now),
    );
  }
  return series;
}

function probeSeries(now: number): TimeSeries[] {
  const probe = { service: 'sample-app', job: 'probe-http', instance: PROBED };
  const series: TimeSeries[] = [
    gauge({ __name__: 'probe_success', ...probe }, (t) => (t % 300_000 < 15_000 ? 0 : 1), now),
    gauge({ __name__: 'probe_duration_seconds', ...probe }, (t) => 0.05 + (t % 60_000) / 1e6, now),
    gauge({ __name__: 'probe_http_status_code', ...probe }, () => 200, now),
    gauge({ __name__: 'probe_ssl_earliest_cert_expiry', ...probe }, () => now / 1000 + 40 * 86_400, now),
  ];
  for (const phase of ['resolve', 'connect', 'tls', 'processing', 'transfer']) {
    series.push(gauge({ __name__: 'probe_http_duration_seconds', ...probe, phase }, () => 0.01, now));
  }
  return series;
}

/** The DORA worker's own series for one repository, written as it writes them (one sample per computation). */
function doraSeries(now: number): TimeSeries[] {
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
      computedAt: new Date(now).toISOString(),
      windows: [window('7d'), window('30d')],
    },
  ];
  const series: TimeSeries[] = [];
  for (let t = now - HISTORY_MS; t <= now; t += 5 * 60_000) series.push(...doraTimeSeries(metrics, t));
  return series;
}

/** Series toilless will expose and WorkerMetrics does not yet (docs/dashboards.md). */
/** GET /metrics of a real WorkerMetrics registry, as `toilless serve` answers it. */
async function startToillessMetrics(): Promise<{
  target: string;
  metrics: WorkerMetrics;
  close(): Promise<void>;
}> {
  const metrics = new WorkerMetrics();
  const server: Server = createServer((request, response) => {
    if (request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    // Traffic between scrapes, so every rate() has something to show.
    metrics.webhookRequests.inc({ route: '/webhooks/alertmanager', status: '200' }, 3);
    metrics.webhookRequests.inc({ route: '/webhooks/github', status: '401' });
    metrics.webhookDuration.observe({ route: '/webhooks/alertmanager' }, 0.004);
    metrics.eventsPublished.inc({ type: 'AlertNotification' }, 3);
    metrics.workerFailures.inc({ subscriber: 'incident-timeline' });
    metrics.deadLetters.inc({ subscriber: 'incident-timeline' });
    metrics.signals.sourceUnavailable('loki');
    metrics.reportRuns.inc({ outcome: 'success' });
    void metrics.registry.metrics().then((text) => {
      response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text);
    });
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as AddressInfo;
  return {
    target: `127.0.0.1:${port}`,
    metrics,
    close: () =>
      new Promise((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}

function resultCount(data: InstantQueryData): number {
  return data.resultType === 'vector' || data.resultType === 'matrix' ? data.result.length : 1;
}

describe('PromQL of the shipped dashboards on the real Prometheus', () => {
  let prometheus: RunningPrometheus;
  let toilless: Awaited<ReturnType<typeof startToillessMetrics>>;
  const now = Math.floor(Date.now() / 1000) * 1000;
  const queries: DashboardQuery[] = [...shippedDashboards().values()]
    .flatMap(dashboardQueries)
    .filter((query) => query.language === 'promql');

  beforeAll(async () => {
    const ruleFiles: Record<string, string> = {};
    for (const name of readdirSync(RULES_DIR).filter((file) => /\.ya?ml$/.test(file))) {
      ruleFiles[name] = readFileSync(join(RULES_DIR, name), 'utf8');
    }
    toilless = await startToillessMetrics();
    prometheus = await startPrometheus({
      ruleFiles,
      config: [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        `rule_files: [${Object.keys(ruleFiles).join(', ')}]`,
        'scrape_configs:',
        '  - job_name: toilless',
        '    static_configs:',
        `      - targets: ['${toilless.target}']`,
        '        labels: { service: toilless }',
        '',
      ].join('\n'),
    });
    const client = new RemoteWriteClient({ url: prometheus.remoteWriteUrl });
    await client.write([
      ...applicationSeries(now),
      ...nodeSeries(now),
      ...probeSeries(now),
      ...doraSeries(now),
    ]);
    // The SLO rules need two evaluations; the scraped counters two scrapes.
    await waitFor(
      async () => {
        const budget = await prometheus.query('slo:error_budget_remaining:ratio');
        const scraped = await prometheus.query('rate(toilless_webhook_requests_total[1m])');
        return resultCount(budget) >= 2 && resultCount(scraped) > 0 ? true : undefined;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 500,
        description: 'the SLO rules and the toilless scrape to produce data',
      },
    );
  });

  afterAll(async () => {
    await prometheus?.stop();
    await toilless?.close();
  });

  it('finds PromQL in every dashboard', () => {
    expect(new Set(queries.map((query) => query.dashboard)).size).toBe(6);
    expect(queries.length).toBeGreaterThan(60);
  });

  it('evaluates every expression without error, and each finds data', async () => {
    const empty: string[] = [];
    const failed: string[] = [];
    for (const query of queries) {
      const expr = substituteVariables(query.text, VARIABLES_BY_DASHBOARD[query.dashboard]);
      const label = `${query.dashboard} ${query.where}: ${expr}`;
      try {
        const instant = await prometheus.query(expr);
        await prometheus.queryRange(expr, {
          start: new Date(now - HISTORY_MS),
          end: new Date(),
          stepSeconds: 60,
        });
        if (resultCount(instant) === 0) empty.push(label);
      } catch (error) {
        failed.push(`${label}\n  ${(error as Error).message}`);
      }
    }
    expect(failed, 'queries Prometheus refused').toEqual([]);
    expect(empty, 'queries that found no data').toEqual([]);
  });
});
