/**
 * What a webhook intake needs, the same on Lambda and in the local server, and the checks every
 * intake makes before it looks at a payload.
 */
import { ValidationError } from '../errors.js';
import { checkInOversizedEvent } from '../events/claim-check.js';
import type { ToillessEvent } from '../events/types.js';
import type { Logger } from '../log.js';
import type { Clock } from '../ports/clock.js';
import type { EventBus } from '../ports/event-bus.js';
import type { ObjectStore } from '../ports/object-store.js';
import type { SecretName, SecretSource } from '../ports/secrets.js';
import {
  errorResponse,
  MAX_WEBHOOK_BODY_BYTES,
  type WebhookRequest,
  type WebhookResponse,
} from './webhook.js';

export interface IntakeDependencies {
  /** Where accepted events go. */
  readonly bus: EventBus;
  /** Holds delivery claims for deduplication. */
  readonly store: ObjectStore;
  /** The webhook secret or token, read on every request so a rotation needs no restart. */
  readonly secrets: SecretSource;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** 405 unless POST, 413 over MAX_WEBHOOK_BODY_BYTES; undefined when the request may go on. */
export function refuseUnacceptable(request: WebhookRequest): WebhookResponse | undefined {
  if (request.method.toUpperCase() !== 'POST') {
    return {
      ...errorResponse(405, 'method_not_allowed', `${request.method} is not accepted: webhooks are POSTed`),
      headers: { allow: 'POST' },
    };
  }
  if (request.body.length > MAX_WEBHOOK_BODY_BYTES) {
    return errorResponse(
      413,
      'payload_too_large',
      `the body has ${request.body.length} bytes; at most ${MAX_WEBHOOK_BODY_BYTES} are accepted`,
    );
  }
  return undefined;
}

/** How an intake tells its sender's deliveries from anyone else's. */
export interface DeliveryAuthentication {
  /** The secret the sender proves it knows, e.g. GITHUB_WEBHOOK_SECRET. */
  readonly secretName: SecretName;
  /** The sender as messages name it, e.g. `GitHub`. */
  readonly sender: string;
  /** A refusal when the request does not prove it knows `secret`; undefined when it does. */
  readonly verify: (
    request: WebhookRequest,
    secret: string,
  ) => WebhookResponse | undefined | Promise<WebhookResponse | undefined>;
}

/**
 * The checks every intake makes before it looks at a payload, in this order: POST and size
 * ({@link refuseUnacceptable}), the secret readable and set (503, so the sender retries), the delivery
 * authentic. Answers the refusal, or undefined when the request may go on.
 */
export async function screenDelivery(
  request: WebhookRequest,
  deps: Pick<IntakeDependencies, 'secrets' | 'logger'>,
  authentication: DeliveryAuthentication,
): Promise<WebhookResponse | undefined> {
  const refused = refuseUnacceptable(request);
  if (refused) return refused;

  const { secretName, sender } = authentication;
  let secret: string | undefined;
  try {
    secret = await deps.secrets.get(secretName);
  } catch (error) {
    // The cause (a path, an ARN, a role) is for the operator's log, never for the caller.
    deps.logger.error({ err: error }, `could not read ${secretName}`);
    return errorResponse(503, 'secret_unavailable', 'the webhook secret could not be read: retry later');
  }
  if (!secret) {
    deps.logger.error(`${secretName} is not set; refusing ${sender} deliveries`);
    return errorResponse(
      503,
      'not_configured',
      `${secretName} is not set: ${sender} deliveries are refused until it is`,
    );
  }
  return authentication.verify(request, secret);
}

/** A value read from the request, or the 4xx answer that says why it could not be. */
export type PayloadReading<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly response: WebhookResponse };

export type JsonBody = PayloadReading<unknown>;

/**
 * The body as JSON (400 malformed_json otherwise), then through `parse`: a ValidationError it throws
 * becomes 400 invalid_payload, whose issues go to `onInvalid` for the log. Other errors propagate.
 */
export function readPayload<T>(
  body: Buffer,
  parse: (json: unknown) => T,
  onInvalid: (issues: unknown) => void,
): PayloadReading<T> {
  const json = parseJsonBody(body);
  if (!json.ok) return json;
  try {
    return { ok: true, value: parse(json.value) };
  } catch (error) {
    const invalid = invalidPayloadResponse(error);
    if (!invalid) throw error;
    onInvalid(invalid.body.issues);
    return { ok: false, response: invalid };
  }
}

/** Parses the body as JSON, or answers 400 malformed_json saying where it broke. */
export function parseJsonBody(body: Buffer): JsonBody {
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { ok: false, response: errorResponse(400, 'malformed_json', `the body is not JSON: ${reason}`) };
  }
}

/** 400 invalid_payload naming each field, for a ValidationError; undefined for any other error. */
export function invalidPayloadResponse(error: unknown): WebhookResponse | undefined {
  if (!(error instanceof ValidationError)) return undefined;
  return errorResponse(400, 'invalid_payload', error.message, {
    issues: error.issues.map((issue) => ({ path: issue.path, message: issue.message })),
  });
}

/**
 * Publishes an accepted event; one over the bus limit is stored first and published as a reference
 * (see functions/shared/events/claim-check.ts), so every body the intake accepts fits on the bus.
 */
export async function publishAccepted(
  deps: Pick<IntakeDependencies, 'bus' | 'store'>,
  event: ToillessEvent,
): Promise<void> {
  await deps.bus.publish([await checkInOversizedEvent(deps.store, event)]);
}
