/** POST /webhooks/github on Lambda, behind API Gateway. */
import { webhookLambda } from '../shared/adapters/aws/lambda-worker.js';
import { create } from './compose.js';
import { githubWebhookManifest } from './manifest.js';

export const handler = webhookLambda(githubWebhookManifest, create);
