/**
 * The measured part of the report benchmark, in its own process so that its peak RSS is the report's
 * alone: renders every shipped dashboard in native mode over the window and assembles the PDF.
 * Usage: report-render.ts <prometheus-url> <from-ms> <to-ms> <out.pdf>; prints one JSON line of figures.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PrometheusClient } from '../functions/shared/clients/prometheus.js';
import { createNativeRenderer } from '../functions/weekly-report/native/native-renderer.js';
import { assembleReportPdf } from '../functions/weekly-report/pdf/report-pdf.js';

const [prometheusUrl, fromMs, toMs, out] = process.argv.slice(2);
if (prometheusUrl === undefined || fromMs === undefined || toMs === undefined || out === undefined) {
  throw new Error('usage: report-render.ts <prometheus-url> <from-ms> <to-ms> <out.pdf>');
}
const window = { from: new Date(Number(fromMs)), to: new Date(Number(toMs)), isoWeek: '2026-W49' };
const started = performance.now();
const renderer = createNativeRenderer({
  stackConfigDir: join(import.meta.dirname, '..', 'stack-config'),
  prometheus: new PrometheusClient({ baseUrl: prometheusUrl, timeoutMs: 30_000 }),
  grafanaUrl: 'http://localhost:3000',
});
let panels = 0;
const dashboards = await renderer.render([], window, {
  onProgress: (_done, total) => {
    panels = total;
  },
});
const rendered = performance.now();
const pdf = await assembleReportPdf({
  stackName: 'bench',
  window,
  generatedAt: new Date(),
  mode: 'native',
  summary: { slos: [], incidents: [], dora: [], topAlerts: [] },
  dashboards,
});
const assembled = performance.now();
await writeFile(out, pdf);
const failed = dashboards
  .flatMap((d) => d.rows.flatMap((r) => r.panels))
  .filter((p) => p.content.kind === 'failed');
const points = dashboards
  .flatMap((d) => d.rows.flatMap((r) => r.panels))
  .reduce(
    (sum, p) =>
      sum +
      (p.content.kind === 'timeseries'
        ? p.content.series.reduce((s, series) => s + series.points.length, 0)
        : 0),
    0,
  );
console.log(
  JSON.stringify({
    panels,
    failed: failed.map((p) => `${p.title}: ${p.content.kind === 'failed' ? p.content.reason : ''}`),
    points,
    renderMs: rendered - started,
    assembleMs: assembled - rendered,
    totalMs: assembled - started,
    pdfBytes: pdf.length,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
  }),
);
