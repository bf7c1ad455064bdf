/**
 * Every worker's manifest: what the CDK stack and the local runtime iterate over. Adding a worker means
 * adding its manifest here (and its compose.ts to functions/local/workers.ts).
 */
import { alertmanagerWebhookManifest } from './alertmanager-webhook/manifest.js';
import { doraMetricsManifest } from './dora-metrics/manifest.js';
import { githubWebhookManifest } from './github-webhook/manifest.js';
import { incidentTimelineManifest } from './incident-timeline/manifest.js';
import type { ProcessorManifest, WebhookManifest } from './shared/workers/manifest.js';

export const WEBHOOK_MANIFESTS: readonly WebhookManifest[] = [
  alertmanagerWebhookManifest,
  githubWebhookManifest,
];

export const PROCESSOR_MANIFESTS: readonly ProcessorManifest[] = [
  incidentTimelineManifest,
  doraMetricsManifest,
];
