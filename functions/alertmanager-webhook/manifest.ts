import type { WebhookManifest } from '../shared/workers/manifest.js';

export const alertmanagerWebhookManifest = {
  kind: 'webhook',
  name: 'alertmanager-webhook',
  id: 'AlertmanagerWebhook',
  description: 'toilless alertmanager-webhook: authenticate, validate, deduplicate, publish',
  source: 'alertmanager',
  senderSetup: 'Alertmanager webhook_configs url (with the ALERTMANAGER_WEBHOOK_TOKEN bearer token)',
  secrets: ['ALERTMANAGER_WEBHOOK_TOKEN'],
  // Notifications over the bus's event size are stored here and the event carries a reference.
  store: { readWrite: [], write: ['claim-check/'] },
  emits: ['AlertNotification'],
  // Its request and event counts, pushed by remote-write (metered-webhook-lambda.ts).
  endpoints: ['remoteWriteUrl'],
  // Alertmanager's webhook timeout is 10 s by default; the intake only checks and publishes.
  sizing: { memoryMb: 512, timeoutSeconds: 10 },
} as const satisfies WebhookManifest;
