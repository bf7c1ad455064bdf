/**
 * Every PromQL expression of every shipped dashboard, evaluated by the real Prometheus with the shipped
 * rule files loaded and data present: the SLO rules' recorded series, node and blackbox exporter
 * series, the DORA worker's series (test/support/report-data.ts) and toilless's own /metrics (the real
 * WorkerMetrics registry, scraped). Each query must evaluate without error, instant and over a range,
 * and find data, so a dashboard cannot drift from the names the rules and the runtime use.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerMetrics } from '../../../functions/local/worker-metrics.js';
import { RemoteWriteClient } from '../../../functions/shared/prometheus/remote-write.js';
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
import { REPORT_NODE, reportSeries } from '../../support/report-data.js';
import { waitFor } from '../../support/wait.js';

const RULES_DIR = join(STACK_CONFIG, 'prometheus', 'rules');
const STEP_MS = 15_000;
/** Pushed history: long enough for every [5m] and [$__range] window to hold several samples. */
const HISTORY_MS = 30 * 60_000;

/** Variable values per dashboard where the shared sample does not fit (blackbox probes URLs). */
const VARIABLES_BY_DASHBOARD: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'blackbox-exporter': { ...SAMPLE_VARIABLES, instance: '.+' },
  'node-exporter': { ...SAMPLE_VARIABLES, instance: REPORT_NODE },
};

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
    // toilless's own series come from the scrape of the real registry above, not from pushed data.
    await client.write(
      reportSeries({ fromMs: now - HISTORY_MS, toMs: now, stepMs: STEP_MS }, { toillessMetrics: false }),
    );
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
