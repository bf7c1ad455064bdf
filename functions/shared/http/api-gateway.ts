/** API Gateway HTTP API (payload format 2.0) <-> the webhook request and response the intakes use. */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { WebhookRequest, WebhookResponse } from './webhook.js';

export function toWebhookRequest(event: APIGatewayProxyEventV2): WebhookRequest {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    headers[name.toLowerCase()] = value;
  }
  // Signatures are over the bytes as sent: binary or non-JSON bodies arrive base64-encoded.
  const body =
    event.body === undefined
      ? Buffer.alloc(0)
      : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
  return { method: event.requestContext.http.method, headers, body };
}

export function toApiGatewayResult(response: WebhookResponse): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: response.status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...response.headers },
    body: JSON.stringify(response.body),
    isBase64Encoded: false,
  };
}
