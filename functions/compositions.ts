/**
 * Every worker's composition root (its compose.ts `create`), by manifest name, for the runtimes that
 * host them all (the local server). A manifest in functions/manifests.ts without an entry here does
 * not compile. lib/ never imports this file: it is runtime code.
 */
import { create as createAlertmanagerWebhook } from './alertmanager-webhook/compose.js';
import { create as createDoraMetrics } from './dora-metrics/compose.js';
import { create as createGitHubWebhook } from './github-webhook/compose.js';
import { create as createIncidentTimeline } from './incident-timeline/compose.js';
import type { ProcessorName, WebhookName } from './manifests.js';
import type { ComposeProcessor, ComposeWebhook } from './shared/workers/composition.js';
import { create as createWeeklyReport } from './weekly-report/compose.js';

export const WEBHOOK_COMPOSITIONS: Readonly<Record<WebhookName, ComposeWebhook>> = {
  'alertmanager-webhook': createAlertmanagerWebhook,
  'github-webhook': createGitHubWebhook,
};

export const PROCESSOR_COMPOSITIONS: Readonly<Record<ProcessorName, ComposeProcessor>> = {
  'incident-timeline': createIncidentTimeline,
  'dora-metrics': createDoraMetrics,
  'weekly-report': createWeeklyReport,
};
