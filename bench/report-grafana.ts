/**
 * Grafana mode: the Lambda Chromium (@sparticuz/chromium) rendering a dashboard of panels from the Grafana-like
 * render server, each panel's query answering after QUERY_MS. Measures the browser launch, the time per panel
 * with one page at a time (page setup, load, readiness, screenshot) and with the default concurrency, and the
 * browser's peak memory (for the function's memory setting). No target: real Grafana adds its own query time.
 */
import { readFile } from 'node:fs/promises';
import { launchReportBrowser, type ReportBrowser } from '../functions/weekly-report/browser/chromium.js';
import { createGrafanaRenderer } from '../functions/weekly-report/grafana/renderer.js';
import { startGrafanaRenderServer } from '../test/support/grafana-render-server.js';
import type { Benchmark, Figure } from './run.js';

const PANELS = Number(process.env.BENCH_GRAFANA_PANELS ?? 12);
const QUERY_MS = 200;
const WINDOW = {
  from: new Date('2026-11-30T00:00:00Z'),
  to: new Date('2026-12-07T00:00:00Z'),
  isoWeek: '2026-W49',
};

async function peakRssMb(pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0;
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

async function renderOnce(concurrency: number) {
  const panels = Array.from({ length: PANELS }, (_, i) => ({
    id: i + 1,
    type: 'timeseries',
    title: `Panel ${i + 1}`,
    gridPos: { x: (i % 2) * 12, y: Math.floor(i / 2) * 8, w: 12, h: 8 },
  }));
  const grafana = await startGrafanaRenderServer({
    dashboards: [{ uid: 'bench', title: 'Bench', panels }],
    panels: Object.fromEntries(panels.map((p) => [p.id, { queryMs: QUERY_MS }])),
  });
  let launched: ReportBrowser | undefined;
  let rssMb = 0;
  try {
    const renderer = createGrafanaRenderer({
      grafanaUrl: grafana.url,
      token: grafana.token,
      concurrency,
      launchBrowser: async () => {
        const browser = await launchReportBrowser();
        launched = browser;
        return {
          ...browser,
          close: async () => {
            rssMb = await peakRssMb(browser.browser.process()?.pid);
            await browser.close();
          },
        };
      },
    });
    let firstPanelAt = 0;
    const started = Date.now();
    const [dashboard] = await renderer.render(['bench'], WINDOW, {
      onProgress: (done) => {
        if (done === 1) firstPanelAt = Date.now();
      },
    });
    const wallMs = Date.now() - started;
    const failed =
      dashboard?.rows.flatMap((r) => r.panels).filter((p) => p.content.kind !== 'image').length ?? 0;
    return { wallMs, launchMs: launched?.launchMs ?? 0, firstPanelAt: firstPanelAt - started, rssMb, failed };
  } finally {
    await grafana.close();
  }
}

export const reportGrafanaBenchmark: Benchmark = {
  name: 'report-grafana',
  description: `grafana mode: ${PANELS} panels (queries of ${QUERY_MS} ms) in the Lambda Chromium`,
  async run(): Promise<Figure[]> {
    const serial = await renderOnce(1);
    const parallel = await renderOnce(3);
    // The API call and the launch come before the first panel; the rest is panel work.
    const perPanel = (run: typeof serial) => Math.round((run.wallMs - run.launchMs) / PANELS);
    return [
      { name: 'browser launch', value: serial.launchMs, unit: 'ms' },
      { name: 'time per panel, one page at a time', value: perPanel(serial), unit: 'ms' },
      { name: 'time per panel, 3 pages at a time', value: perPanel(parallel), unit: 'ms' },
      { name: `wall time, ${PANELS} panels, 3 pages`, value: parallel.wallMs, unit: 'ms' },
      { name: 'Chromium peak RSS, 3 pages', value: parallel.rssMb, unit: 'MB' },
      {
        name: 'panels failed',
        value: serial.failed + parallel.failed,
        unit: 'panels',
        target: '0',
        met: serial.failed + parallel.failed === 0,
      },
    ];
  },
};
