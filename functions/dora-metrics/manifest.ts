import type { ProcessorManifest } from '../shared/workers/manifest.js';

export const doraMetricsManifest = {
  kind: 'processor',
  name: 'dora-metrics',
  id: 'DoraMetrics',
  description: 'toilless dora-metrics: deployment, change and incident records, DORA metrics by remote-write',
  consumes: [
    'GitHubDeployment',
    'GitHubDeploymentStatus',
    'GitHubWorkflowRun',
    'GitHubPush',
    'GitHubPullRequest',
    'IncidentOpened',
    'IncidentResolved',
  ],
  emits: ['DeploymentRecorded'],
  secrets: ['GITHUB_TOKEN', 'GRAFANA_TOKEN'],
  store: { readWrite: ['deployments/', 'changes/', 'dora/'], read: ['claim-check/'] },
  schedules: [
    {
      name: 'DoraRecompute',
      title: 'hourly recompute',
      description: 'hourly recompute, which also rolls the DORA windows forward',
      every: { rate: { hours: 1 } },
      payload: { source: 'toilless.schedule', task: 'DoraRecompute' },
      // The next hour's run recomputes everything anyway.
      retryWindowMinutes: 60,
    },
  ],
  stackConfigFiles: ['toilless.yaml', 'slos.yaml'],
  // It writes to Prometheus and queries nothing there; Grafana takes the deployment annotations.
  endpoints: ['remoteWriteUrl', 'grafanaUrl'],
  postsToSlack: false,
  // The hourly recompute reads every ledger and remote-writes every series.
  sizing: { memoryMb: 1024, timeoutSeconds: 300 },
} as const satisfies ProcessorManifest;
