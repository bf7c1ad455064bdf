import type { WebhookManifest } from '../shared/workers/manifest.js';

export const githubWebhookManifest = {
  kind: 'webhook',
  name: 'github-webhook',
  id: 'GitHubWebhook',
  description: 'toilless github-webhook: authenticate, validate, deduplicate, publish',
  source: 'github',
  senderSetup: 'GitHub webhook Payload URL (content type application/json, secret GITHUB_WEBHOOK_SECRET)',
  secrets: ['GITHUB_WEBHOOK_SECRET'],
  // Delivery claims (deduplication), released with a delete when publishing fails.
  store: { readWrite: ['webhooks/github/'], write: ['claim-check/'] },
  emits: [
    'GitHubDeployment',
    'GitHubDeploymentStatus',
    'GitHubWorkflowRun',
    'GitHubPush',
    'GitHubPullRequest',
  ],
  // Its request and event counts, pushed by remote-write (metered-webhook-lambda.ts).
  endpoints: ['remoteWriteUrl'],
  // GitHub gives up on a delivery after 10 s.
  sizing: { memoryMb: 512, timeoutSeconds: 10 },
} as const satisfies WebhookManifest;
