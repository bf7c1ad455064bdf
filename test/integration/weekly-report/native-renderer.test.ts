/**
 * The native renderer against the real Prometheus with the shipped recording rules loaded and data
 * remote-written over the hour before the report window's end: every shipped dashboard is read from a
 * stack-config directory, its panels evaluated, and the PDF assembled from the result shows the numbers
 * worked out by hand in test/support/report-data.ts.
 */
import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrometheusClient } from '../../../functions/shared/clients/prometheus.js';
import type {
  PanelContent,
  RenderedDashboard,
  RenderedPanel,
  ReportWindow,
} from '../../../functions/weekly-report/model.js';
import { createNativeRenderer } from '../../../functions/weekly-report/native/native-renderer.js';
import { assembleReportPdf } from '../../../functions/weekly-report/pdf/report-pdf.js';
import { readPdf } from '../../support/pdf-text.js';
import { createTempDir } from '../../support/process.js';
import type { RunningPrometheus } from '../../support/prometheus.js';
import { startReportPrometheus } from '../../support/report-data.js';
import { STACK_CONFIG_DIR } from '../../support/stack-config-copy.js';

const GRAFANA = 'http://grafana.test:3000';

/** A dashboard of the cases the shipped ones do not have: a collapsed row, a repeat, a broken query. */
const CASES_DASHBOARD = {
  uid: 'report-cases',
  title: 'Report cases',
  templating: {
    list: [
      {
        name: 'code',
        type: 'custom',
        query: '200,500',
        current: { text: ['All'], value: ['$__all'] },
        includeAll: true,
        multi: true,
      },
      { name: 'service', type: 'query', query: { query: 'label_values(http_requests_total, service)' } },
    ],
  },
  panels: [
    { id: 1, type: 'row', title: 'Open row of $service', gridPos: { x: 0, y: 0, w: 24, h: 1 } },
    {
      id: 2,
      type: 'stat',
      title: 'Status $code',
      repeat: 'code',
      repeatDirection: 'h',
      gridPos: { x: 0, y: 1, w: 12, h: 4 },
      datasource: { type: 'prometheus', uid: 'prometheus' },
      fieldConfig: { defaults: { unit: 'reqps' } },
      options: { reduceOptions: { calcs: ['mean'] } },
      targets: [
        {
          refId: 'A',
          expr: 'sum(rate(http_requests_total{service="$service", status_code="$code"}[$__rate_interval]))',
          legendFormat: '',
        },
      ],
    },
    {
      id: 3,
      type: 'row',
      title: 'Collapsed row',
      collapsed: true,
      gridPos: { x: 0, y: 5, w: 24, h: 1 },
      panels: [
        {
          id: 4,
          type: 'timeseries',
          title: 'Broken query',
          gridPos: { x: 0, y: 6, w: 12, h: 8 },
          datasource: { type: 'prometheus', uid: 'prometheus' },
          targets: [{ refId: 'A', expr: 'sum(rate(http_requests_total[$__rate_interval]' }],
        },
        {
          id: 5,
          type: 'logs',
          title: 'Logs of $service',
          gridPos: { x: 12, y: 6, w: 12, h: 8 },
          datasource: { type: 'loki', uid: 'loki' },
          targets: [{ refId: 'A', expr: '{service_name="$service"}' }],
        },
      ],
    },
  ],
};

describe('Native weekly report renderer on the real Prometheus', () => {
  let prometheus: RunningPrometheus;
  let stackConfigDir: string;
  const end = Math.floor(Date.now() / 60_000) * 60_000;
  const window: ReportWindow = { from: new Date(end - 30 * 60_000), to: new Date(end), isoWeek: '2026-W49' };
  let dashboards: readonly RenderedDashboard[];
  const progress: [number, number][] = [];

  beforeAll(async () => {
    prometheus = await startReportPrometheus(end);
    stackConfigDir = await createTempDir('report-stack-config');
    const dashboardsDir = join(stackConfigDir, 'grafana', 'dashboards');
    await mkdir(dashboardsDir, { recursive: true });
    await cp(join(STACK_CONFIG_DIR, 'grafana', 'dashboards'), dashboardsDir, { recursive: true });
    await writeFile(join(dashboardsDir, 'report-cases.json'), JSON.stringify(CASES_DASHBOARD));

    const renderer = createNativeRenderer({
      stackConfigDir,
      prometheus: new PrometheusClient({ baseUrl: prometheus.url }),
      grafanaUrl: GRAFANA,
    });
    dashboards = await renderer.render([], window, {
      onProgress: (done, total) => progress.push([done, total]),
    });
  });

  afterAll(async () => {
    await prometheus?.stop();
    if (stackConfigDir !== undefined) await rm(stackConfigDir, { recursive: true, force: true });
  });

  const dashboard = (uid: string): RenderedDashboard => {
    const found = dashboards.find((entry) => entry.uid === uid);
    if (found === undefined) throw new Error(`dashboard ${uid} was not rendered`);
    return found;
  };
  const panel = (uid: string, title: string): RenderedPanel => {
    const found = dashboard(uid)
      .rows.flatMap((row) => row.panels)
      .find((entry) => entry.title === title);
    if (found === undefined) throw new Error(`panel ${title} of ${uid} was not rendered`);
    return found;
  };
  const values = (content: PanelContent): { name: string; value: number | null }[] =>
    content.kind === 'stat' || content.kind === 'gauge' || content.kind === 'bargauge'
      ? [...content.values]
      : [];

  it('renders every shipped dashboard, and no shipped panel fails', () => {
    expect(dashboards.map((entry) => entry.uid)).toEqual([
      'blackbox-exporter',
      'dora-metrics',
      'node-exporter',
      'report-cases',
      'slo-error-budget',
      'toilless',
      'unified-observability',
    ]);
    const failed = dashboards
      .filter((entry) => entry.uid !== 'report-cases')
      .flatMap((entry) => entry.rows.flatMap((row) => row.panels.map((p) => ({ uid: entry.uid, p }))))
      .filter(({ p }) => p.content.kind === 'failed')
      .map(({ uid, p }) => `${uid} ${p.title}: ${p.content.kind === 'failed' ? p.content.reason : ''}`);
    expect(failed).toEqual([]);
    expect(dashboard('node-exporter').url).toBe(
      `${GRAFANA}/d/node-exporter?from=${window.from.getTime()}&to=${window.to.getTime()}`,
    );
    expect(progress.at(-1)?.[0]).toBe(progress.at(-1)?.[1]);
  });

  it('evaluates stat panels at the window end with the panel unit, as worked out by hand', () => {
    // 0.2 req/s of 500s out of 10.2 req/s.
    expect(values(panel('unified-observability', 'Error ratio').content)[0]?.value).toBeCloseTo(
      0.2 / 10.2,
      6,
    );
    expect(values(panel('unified-observability', 'Requests per second').content)[0]?.value).toBeCloseTo(
      10.2,
      6,
    );
    // The 0.25-0.5 s bucket ends exactly at the 95th percentile of the 200s.
    expect(
      values(panel('unified-observability', 'p95 latency (successful requests)').content)[0]?.value,
    ).toBeCloseTo(0.5, 6);
    expect(panel('unified-observability', 'Error ratio').content).toMatchObject({
      kind: 'stat',
      format: { unit: 'percentunit', decimals: 2 },
    });
    expect(values(panel('node-exporter', 'Disk space used').content)).toEqual([
      { name: '/', value: expect.closeTo(0.6, 9) },
    ]);
  });

  it('chooses the first instance when a variable has no saved value, and substitutes it in titles and queries', () => {
    const rows = dashboard('node-exporter').rows.map((row) => row.title);
    expect(rows).toContain('Memory of node-exporter:9100');
    const memory = panel('node-exporter', 'Memory used (share)').content;
    expect(memory.kind).toBe('timeseries');
    if (memory.kind !== 'timeseries') return;
    expect(memory.series.map((series) => series.name)).toEqual(['used']);
    const last = memory.series[0]?.points.at(-1);
    expect(last?.[0]).toBe(window.to.getTime() / 1000);
    expect(last?.[1]).toBeCloseTo(0.375, 9);
    // 30 minutes at the smallest round step giving at most 400 points: 15 s, 121 points.
    expect(memory.series[0]?.points).toHaveLength(121);
  });

  it('applies legendFormat per series', () => {
    const traffic = panel('unified-observability', 'Traffic by status code').content;
    expect(traffic.kind === 'timeseries' ? traffic.series.map((series) => series.name).sort() : []).toEqual([
      '200',
      '500',
    ]);
  });

  it('builds table panels with the organize transformation', () => {
    const table = panel('dora-metrics', 'Deployments by outcome').content;
    expect(table.kind).toBe('table');
    if (table.kind !== 'table') return;
    expect(table.columns).toEqual(['repository', 'environment', 'window', 'outcome', 'deployments']);
    expect(table.rows).toContainEqual(['octo/shop', 'production', '7d', 'failure', 2]);
    expect(table.rows).toContainEqual(['octo/shop', 'production', '30d', 'success', 12]);
  });

  it('repeats a panel per value, expands a collapsed row, fails only the broken panel and links logs to Explore', () => {
    const cases = dashboard('report-cases');
    expect(cases.rows.map((row) => row.title)).toEqual(['Open row of sample-app', 'Collapsed row']);
    const repeated = cases.rows[0]?.panels ?? [];
    expect(repeated.map((p) => [p.title, p.gridPos.x, p.gridPos.w])).toEqual([
      ['Status 200', 0, 12],
      ['Status 500', 12, 12],
    ]);
    expect(values(repeated[0]?.content ?? { kind: 'failed', reason: '' })[0]?.value).toBeCloseTo(10, 6);
    expect(values(repeated[1]?.content ?? { kind: 'failed', reason: '' })[0]?.value).toBeCloseTo(0.2, 6);
    const broken = panel('report-cases', 'Broken query').content;
    expect(broken).toMatchObject({
      kind: 'failed',
      reason: expect.stringMatching(/prometheus: bad_data: .*parse error/),
    });
    const logs = panel('report-cases', 'Logs of sample-app').content;
    expect(logs.kind).toBe('link');
    if (logs.kind !== 'link') return;
    const url = new URL(logs.url);
    expect(url.origin + url.pathname).toBe(`${GRAFANA}/explore`);
    const panes = JSON.parse(url.searchParams.get('panes') ?? '{}') as Record<
      string,
      { queries: { expr: string }[]; range: { from: string } }
    >;
    expect(Object.values(panes)[0]?.queries[0]?.expr).toBe('{service_name="sample-app"}');
    expect(Object.values(panes)[0]?.range.from).toBe(String(window.from.getTime()));
    expect(logs.note).toContain('Loki logs');
  });

  it('gives a PDF that shows the numbers, the failure, the outline and the page count', async () => {
    const pdf = await assembleReportPdf({
      stackName: 'shop-prod',
      window,
      generatedAt: new Date(end),
      mode: 'native',
      summary: { slos: [], incidents: [], dora: [], topAlerts: [] },
      dashboards,
    });
    const read = await readPdf(pdf);
    const text = read.pages.join('\n');
    expect(text).toContain('1.96%'); // error ratio, 2 decimals
    expect(text).toContain('10.2 req/s');
    expect(text).toContain('500 ms');
    expect(text).toMatch(/Disk space used .* \/ 60%/); // 1 - 40 GB / 100 GB
    expect(text).toContain('40 days'); // the certificate expires 40 days after the window's end
    expect(text).toMatch(/Elite octo\/shop production level .* High octo\/shop production level/); // DORA levels 4 and 3 mapped
    expect(text).toMatch(/CPU and memory .* MiB/); // memory in bytes on the right axis beside CPU in %
    expect(text).toContain('Not rendered');
    expect(text).toMatch(/bad_data/);
    expect(read.pages.at(-1)).toContain(`Page ${read.pageCount} of ${read.pageCount}`);
    expect(read.outline.map((entry) => entry.title)).toEqual([
      'Cover',
      'Summary',
      ...dashboards.map((entry) => entry.title),
      'Appendix: table data',
    ]);
    const appendix = read.outline.at(-1);
    expect(appendix?.children.map((entry) => entry.title)).toContain(
      'A.1 DORA metrics: Deployments by outcome',
    );
  });
});
