/**
 * POST /webhooks/alertmanager: authenticates Alertmanager's bearer token, validates the payload and
 * publishes one AlertNotification (claim-checked through the store when it is over the bus limit).
 * Re-sends publish again under the same event id; consumers deduplicate.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { alertmanagerPayloadSchema } from '../shared/events/alertmanager.js';
import { toAlertNotification } from '../shared/events/alertmanager-event.js';
import {
  type DeliveryAuthentication,
  type IntakeDependencies,
  publishAccepted,
  readPayload,
  screenDelivery,
} from '../shared/http/intake.js';
import { errorResponse, type WebhookHandler, type WebhookResponse } from '../shared/http/webhook.js';
import { parseWith } from '../shared/validation.js';

export function createAlertmanagerWebhook(deps: IntakeDependencies): WebhookHandler {
  const { clock, logger } = deps;
  const authentication: DeliveryAuthentication = {
    secretName: 'ALERTMANAGER_WEBHOOK_TOKEN',
    sender: 'Alertmanager',
    verify: (request, token) => {
      if (bearerTokenMatches(request.headers.authorization, token)) return undefined;
      logger.warn('Alertmanager delivery with a missing or wrong bearer token');
      return unauthorized();
    },
  };

  return async (request) => {
    const refused = await screenDelivery(request, deps, authentication);
    if (refused) return refused;

    const reading = readPayload(
      request.body,
      (json) =>
        toAlertNotification(parseWith(alertmanagerPayloadSchema, json, 'Alertmanager payload'), clock.now()),
      (issues) => logger.warn({ issues }, 'invalid Alertmanager payload'),
    );
    if (!reading.ok) return reading.response;
    const event = reading.value;

    try {
      await publishAccepted(deps, event);
    } catch (error) {
      logger.error({ err: error, eventId: event.id }, 'could not publish the alert notification');
      // 5xx on purpose: Alertmanager retries it, and the event id stays the same. The cause is logged only.
      return errorResponse(
        503,
        'publish_failed',
        'the notification was not published: Alertmanager will retry',
      );
    }
    const { payload } = event.detail;
    logger.info(
      {
        eventId: event.id,
        groupKey: payload.groupKey,
        status: payload.status,
        alerts: payload.alerts.length,
      },
      'alert notification published',
    );
    return { status: 200, body: { ok: true, eventId: event.id } };
  };
}

/** Compares digests, not the tokens, so neither the content nor the length leaks through timing. */
export function bearerTokenMatches(authorization: string | undefined, expected: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  const presented = match?.[1];
  if (!presented) return false;
  return timingSafeEqual(digest(presented), digest(expected));
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function unauthorized(): WebhookResponse {
  return {
    ...errorResponse(
      401,
      'unauthorized',
      'a valid "Authorization: Bearer <ALERTMANAGER_WEBHOOK_TOKEN>" header is required',
    ),
    headers: { 'www-authenticate': 'Bearer' },
  };
}
