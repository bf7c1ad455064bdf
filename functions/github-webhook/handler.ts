/** POST /webhooks/github on Lambda, behind API Gateway. */
import { meteredWebhookLambda } from '../shared/adapters/aws/metered-webhook-lambda.js';
import { create } from './compose.js';
import { githubWebhookManifest } from './manifest.js';

export const handler = meteredWebhookLambda(githubWebhookManifest, create);
