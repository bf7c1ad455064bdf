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
  const tokenMatches = bearerTokenCheck();
  const authentication: DeliveryAuthentication = {
    secretName: 'ALERTMANAGER_WEBHOOK_TOKEN',
    sender: 'Alertmanager',
    verify: (request, token) => {
      if (tokenMatches(request.headers.authorization, token)) return undefined;
      logger.warn('Alertmanager delivery with a missing or wrong bearer token');
      return unauthorized();
    },
  };

  return async (request) => {
    const refused = await screenDelivery(request, deps, authentication);
    if (refused) return refused;

    // Named, so that a CPU profile tells the validation from the logging of its issues.
    const reading = readPayload(
      request.body,
      function validateNotification(json) {
        const payload = parseWith(alertmanagerPayloadSchema, json, 'Alertmanager payload');
        return toAlertNotification(payload, clock.now());
      },
      function logInvalidNotification(issues) {
        logger.warn({ issues }, 'invalid Alertmanager payload');
      },
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
  return bearerTokenCheck()(authorization, expected);
}

/**
 * bearerTokenMatches for one intake: the configured token's digest is kept while the token keeps its
 * value, so only the presented token is hashed per request. The token is still passed (read) on every
 * request, so a rotated one is checked against from the next request on.
 */
export function bearerTokenCheck(): (authorization: string | undefined, expected: string) => boolean {
  let configured: { readonly token: string; readonly digest: Buffer } | undefined;
  return (authorization, expected) => {
    const presented = presentedBearerToken(authorization);
    if (!presented) return false;
    // Compares the configured value with its previous self, never with what the caller sent.
    if (configured?.token !== expected) configured = { token: expected, digest: digest(expected) };
    return timingSafeEqual(digest(presented), configured.digest);
  };
}

function presentedBearerToken(authorization: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
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
