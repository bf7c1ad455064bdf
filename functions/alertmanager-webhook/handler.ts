/** POST /webhooks/alertmanager on Lambda, behind API Gateway. */
import { meteredWebhookLambda } from '../shared/adapters/aws/metered-webhook-lambda.js';
import { create } from './compose.js';
import { alertmanagerWebhookManifest } from './manifest.js';

export const handler = meteredWebhookLambda(alertmanagerWebhookManifest, create);
