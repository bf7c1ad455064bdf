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
  endpoints: ['prometheusUrl', 'grafanaUrl', 'lokiUrl', 'tempoUrl'],
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
  // Chromium wants >= 1600 MB on Lambda (@sparticuz/chromium's documentation; 2048 MB is common), and
  // memory buys CPU for the Brotli inflate of the cold start. Time: grafana mode renders about 40 panels
  // 3 at a time, 3-15 s each with one retry of a slow one (about 200 s at worst); native mode is bounded
  // at 60 s by its benchmark; the rest is Slack's upload and its retries. Revisit with `npm run bench report`.
  sizing: { memoryMb: 2048, timeoutSeconds: 600 },
} as const satisfies ProcessorManifest;
