import type { ProcessorManifest } from '../shared/workers/manifest.js';

export const weeklyReportManifest = {
  kind: 'processor',
  name: 'weekly-report',
  // Not "WeeklyReport": that is the schedule's construct id in the same stack.
  id: 'WeeklyReportWorker',
  description:
    'toilless weekly-report: the dashboards as a PDF with the SLO, DORA and incident summary, to Slack',
  // Runs on its schedule only.
  consumes: [],
  emits: ['ReportPublished'],
  secrets: ['GRAFANA_TOKEN', 'SLACK_BOT_TOKEN'],
  // incidents/ for the week's incidents; the DORA figures come from the dora_* series in Prometheus.
  store: { readWrite: ['reports/', 'outbox/'], read: ['incidents/'] },
  schedules: [
    {
      name: 'WeeklyReport',
      title: 'weekly report',
      description: 'the report of the previous ISO week, stored and posted to Slack',
      // toilless.yaml report.schedule and report.timeZone (default Mondays 08:00 UTC).
      every: { fromConfig: 'report' },
      payload: { source: 'toilless.schedule', task: 'WeeklyReport' },
      // A failed delivery is retried for a day; the stored PDF is delivered as it is.
      retryWindowMinutes: 24 * 60,
    },
  ],
  stackConfigFiles: ['toilless.yaml', 'slos.yaml', 'grafana/dashboards'],
  // It queries Prometheus (summary, native panels) and Grafana; Loki and Tempo panels are links only.
  // Remote-write carries its own toilless_* metrics (processor-lambda.ts).
  endpoints: ['prometheusUrl', 'remoteWriteUrl', 'grafanaUrl'],
  postsToSlack: true,
  // The npm @sparticuz/chromium ships the x86_64 binary only; installed beside the bundle as its
  // documentation recommends (esbuild cannot bundle its brotli archives). The PDF embeds DejaVu Sans
  // from fonts/ beside the bundle.
  lambdaBundle: {
    architecture: 'x86_64',
    nodeModules: ['@sparticuz/chromium'],
    files: [
      { from: 'node_modules/dejavu-fonts-ttf/ttf/DejaVuSans.ttf', to: 'fonts/DejaVuSans.ttf' },
      { from: 'node_modules/dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf', to: 'fonts/DejaVuSans-Bold.ttf' },
    ],
  },
  // Measured here: native mode peaks at about 160 MiB RSS for all shipped dashboards (57 panels, 10-17 s);
  // grafana mode adds Chromium at about 210 MB peak, 0.8-1.5 s per panel, 3 at a time. 2048 MB keeps
  // both far from the limit and buys CPU (Lambda scales it with memory) for Chromium's Brotli inflate
  // and rendering; @sparticuz/chromium asks for at least 1600 MB. 900 s (Lambda's most): about 40
  // Grafana panels at up to 30 s with one retry each, 3 at a time, take about 800 s when every panel
  // times out, and that run must still deliver its PDF of failure boxes; a normal run takes under a minute.
  sizing: { memoryMb: 2048, timeoutSeconds: 900 },
} as const satisfies ProcessorManifest;
