/** POST /webhooks/alertmanager on Lambda, behind API Gateway. */
import { webhookLambda } from '../shared/adapters/aws/lambda-worker.js';
import { create } from './compose.js';
import { alertmanagerWebhookManifest } from './manifest.js';

export const handler = webhookLambda(alertmanagerWebhookManifest, create);
