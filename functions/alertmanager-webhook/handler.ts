import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createAwsIntakeDependencies } from '../shared/adapters/aws/aws-intake-dependencies.js';
import { toApiGatewayResult, toWebhookRequest } from '../shared/http/api-gateway.js';
import type { WebhookHandler } from '../shared/http/webhook.js';
import { createAlertmanagerWebhook } from './intake.js';

// Built on the first request and kept for the life of the execution environment.
let intake: WebhookHandler | undefined;

export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  intake ??= createAlertmanagerWebhook(createAwsIntakeDependencies('alertmanager-webhook'));
  return toApiGatewayResult(await intake(toWebhookRequest(event)));
};
