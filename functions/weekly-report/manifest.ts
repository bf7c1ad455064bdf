import type { ProcessorManifest } from '../shared/workers/manifest.js';

export const weeklyReportManifest = {
  kind: 'processor',
  name: 'weekly-report',
  id: 'WeeklyReport',
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
  // Chromium wants >= 1600 MB on Lambda (its documentation); a run renders about 40 panels.
  sizing: { memoryMb: 2048, timeoutSeconds: 600 },
} as const satisfies ProcessorManifest;
