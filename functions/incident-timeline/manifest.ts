import type { ProcessorManifest } from '../shared/workers/manifest.js';

export const incidentTimelineManifest = {
  kind: 'processor',
  name: 'incident-timeline',
  id: 'IncidentTimeline',
  description:
    'toilless incident-timeline: evidence from the LGTM sources and deploys, one Slack thread per incident',
  // DeploymentRecorded feeds the per-service deploy index the timeline's first suspect comes from.
  consumes: ['AlertNotification', 'DeploymentRecorded'],
  emits: ['IncidentOpened', 'IncidentResolved'],
  secrets: ['SLACK_BOT_TOKEN'],
  // Timelines, group pointers and the deploy index live under incidents/; until SLACK_BOT_TOKEN is set,
  // messages go to outbox/slack/ so operators can read what would have been posted.
  store: { readWrite: ['incidents/', 'outbox/'], read: ['claim-check/'] },
  schedules: [],
  stackConfigFiles: ['toilless.yaml', 'slos.yaml'],
  // Remote-write carries its own toilless_* metrics (processor-lambda.ts).
  endpoints: ['prometheusUrl', 'remoteWriteUrl', 'lokiUrl', 'tempoUrl', 'grafanaUrl'],
  postsToSlack: true,
  // On AWS the timeout is derived from incidents.sourceBudget (the workers stack); this is the default budget's.
  sizing: { memoryMb: 1024, timeoutSeconds: 60 },
} as const satisfies ProcessorManifest;
