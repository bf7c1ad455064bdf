/**
 * Every worker's manifest: what the CDK stack and the local runtime iterate over. Adding a worker means
 * adding its manifest here and its compose.ts to functions/compositions.ts (the compiler asks for it).
 */
import { alertmanagerWebhookManifest } from './alertmanager-webhook/manifest.js';
import { doraMetricsManifest } from './dora-metrics/manifest.js';
import { githubWebhookManifest } from './github-webhook/manifest.js';
import { incidentTimelineManifest } from './incident-timeline/manifest.js';
import type { ProcessorManifest, WebhookManifest } from './shared/workers/manifest.js';
import { weeklyReportManifest } from './weekly-report/manifest.js';

const webhooks = [alertmanagerWebhookManifest, githubWebhookManifest] as const;
const processors = [incidentTimelineManifest, doraMetricsManifest, weeklyReportManifest] as const;

export type WebhookName = (typeof webhooks)[number]['name'];
export type ProcessorName = (typeof processors)[number]['name'];

export const WEBHOOK_MANIFESTS: readonly (WebhookManifest & { readonly name: WebhookName })[] = webhooks;
export const PROCESSOR_MANIFESTS: readonly (ProcessorManifest & { readonly name: ProcessorName })[] =
  processors;
