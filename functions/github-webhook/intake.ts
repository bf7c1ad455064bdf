/**
 * POST /webhooks/github: verifies X-Hub-Signature-256 over the raw body bytes, normalises the event and
 * publishes it exactly once per signed body, however often GitHub, a person or a replay delivers it.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { PreconditionFailedError } from '../shared/errors.js';
import { normalizeGitHubEvent } from '../shared/events/github.js';
import {
  type DeliveryAuthentication,
  type IntakeDependencies,
  publishAccepted,
  readPayload,
  screenDelivery,
} from '../shared/http/intake.js';
import { errorResponse, type WebhookHandler, type WebhookResponse } from '../shared/http/webhook.js';
import type { ObjectStore } from '../shared/ports/object-store.js';
import { RecentMap } from '../shared/recent-map.js';

/** A claim older than this belongs to an attempt that crashed: a redelivery may take it over. */
export const CLAIM_TIMEOUT_MS = 60_000;

/** What the store holds per signed body, at `webhooks/github/<body-sha256>.json`. */
export type DeliveryRecord =
  | { readonly state: 'claimed'; readonly claimedAt: string; readonly deliveryId?: string }
  | {
      readonly state: 'published';
      readonly eventId: string;
      readonly publishedAt: string;
      readonly deliveryId?: string;
    };

export type DeliveryClaim =
  | { readonly kind: 'won' }
  /** Published before: a redelivery or a replay, answered 200 without publishing again. */
  | { readonly kind: 'published'; readonly eventId: string }
  /** Another attempt holds the claim and may still fail: the sender must retry after this long. */
  | { readonly kind: 'in-flight'; readonly retryAfterSeconds: number }
  /** The claim kept changing under us; the caller should ask GitHub to retry. */
  | { readonly kind: 'contended' };

const DELIVERY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const HOOK_ID = /^[0-9]{1,20}$/;
const EVENT_NAME = /^[a-z_]{1,64}$/;
const SIGNATURE = /^sha256=([0-9a-f]{64})$/i;
/**
 * Delivery records are not flushed to disk (the local store's fsync): one lost with the machine only
 * lets a re-send of that delivery publish again, which the consumers absorb as they absorb any
 * re-delivery. A killed process still leaves them whole. S3 ignores the option.
 */
const DELIVERY_RECORD = { contentType: 'application/json', flush: false } as const;

/**
 * The identity of a delivery is its signed body: only the body is covered by the signature, so a
 * captured delivery replayed under another X-GitHub-Delivery or X-GitHub-Hook-ID (or X-GitHub-Event)
 * is the same delivery. GitHub's own redeliveries resend the same body.
 */
export function deliveryIdentity(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

export function deliveryKey(identity: string): string {
  return `webhooks/github/${identity}.json`;
}

/**
 * Claim keys this intake saw published, with their event ids. A published record never changes again,
 * so a re-send (GitHub's redeliveries, a replay, a person) is answered 200 duplicate from memory instead
 * of two store reads.
 */
export const PUBLISHED_DELIVERIES_KEPT = 10_000;

export function createGitHubWebhook(deps: IntakeDependencies): WebhookHandler {
  const { store, clock, logger } = deps;
  const published = new RecentMap<string, string>(PUBLISHED_DELIVERIES_KEPT);
  const authentication: DeliveryAuthentication = {
    secretName: 'GITHUB_WEBHOOK_SECRET',
    sender: 'GitHub',
    verify: (request, secret) => {
      if (githubSignatureMatches(secret, request.body, request.headers['x-hub-signature-256'])) {
        return undefined;
      }
      logger.warn(
        { deliveryId: request.headers['x-github-delivery'] },
        'GitHub delivery with a bad signature',
      );
      return errorResponse(
        401,
        'invalid_signature',
        'X-Hub-Signature-256 is missing or does not match the body: check the webhook secret',
      );
    },
  };

  const duplicate = (context: Record<string, string>, eventId: string): WebhookResponse => {
    logger.info({ ...context, eventId }, 'duplicate GitHub delivery');
    return { status: 200, body: { ok: true, duplicate: true, eventId } };
  };

  return async (request) => {
    const refused = await screenDelivery(request, deps, authentication);
    if (refused) return refused;

    const eventName = request.headers['x-github-event'];
    const deliveryId = request.headers['x-github-delivery'];
    const hookId = request.headers['x-github-hook-id'];
    if (!eventName || !EVENT_NAME.test(eventName)) return badHeader('X-GitHub-Event', eventName);
    if (!deliveryId || !DELIVERY_ID.test(deliveryId)) return badHeader('X-GitHub-Delivery', deliveryId);
    if (!hookId || !HOOK_ID.test(hookId)) return badHeader('X-GitHub-Hook-ID', hookId);
    const context = { deliveryId, hookId, githubEvent: eventName };

    // Named, so that a CPU profile tells the validation from the logging of its issues.
    const reading = readPayload(
      request.body,
      function normalizeDelivery(json) {
        return normalizeGitHubEvent(eventName, json, deliveryId);
      },
      function logInvalidDelivery(issues) {
        logger.warn({ ...context, issues }, 'invalid GitHub payload');
      },
    );
    if (!reading.ok) return reading.response;
    const normalized = reading.value;
    if (normalized.kind === 'ignored') {
      logger.info({ ...context, reason: normalized.reason }, 'GitHub delivery ignored');
      return { status: 202, body: { ok: true, ignored: normalized.reason } };
    }
    const { event } = normalized;

    const key = deliveryKey(deliveryIdentity(request.body));
    const knownEventId = published.get(key);
    if (knownEventId !== undefined) return duplicate(context, knownEventId);
    let claim: DeliveryClaim;
    try {
      claim = await claimDelivery(store, key, clock.now(), deliveryId);
    } catch (error) {
      logger.error({ ...context, err: error }, 'could not claim the GitHub delivery');
      return unavailable('the delivery could not be recorded');
    }
    if (claim.kind === 'contended') return unavailable('the delivery is being claimed concurrently');
    if (claim.kind === 'in-flight') {
      logger.info({ ...context, retryAfterSeconds: claim.retryAfterSeconds }, 'GitHub delivery in flight');
      return inFlight(claim.retryAfterSeconds);
    }
    if (claim.kind === 'published') {
      published.set(key, claim.eventId);
      return duplicate(context, claim.eventId);
    }

    try {
      await publishAccepted(deps, event);
    } catch (error) {
      logger.error({ ...context, err: error, eventId: event.id }, 'could not publish the GitHub event');
      // Released so that GitHub's (or a person's) redelivery can publish it.
      await store.delete(key).catch((releaseError: unknown) => {
        logger.error({ ...context, err: releaseError }, 'could not release the delivery claim');
      });
      return unavailable('the event was not published');
    }
    const record: DeliveryRecord = {
      state: 'published',
      eventId: event.id,
      publishedAt: clock.now().toISOString(),
      deliveryId,
    };
    // The event is out: a failure here only means a later redelivery could publish it again.
    await store.put(key, JSON.stringify(record), DELIVERY_RECORD).then(
      () => published.set(key, event.id),
      (error: unknown) => {
        logger.warn({ ...context, err: error }, 'published, but could not mark the delivery as published');
      },
    );
    logger.info({ ...context, eventId: event.id, type: event.type }, 'GitHub event published');
    return { status: 200, body: { ok: true, eventId: event.id } };
  };
}

/**
 * Claims a delivery atomically: the first caller wins. A later one sees `published` once the record
 * says so, `in-flight` while the first attempt may still publish or fail, and takes over a claim older
 * than CLAIM_TIMEOUT_MS with a compare-and-swap (one of them wins).
 */
export async function claimDelivery(
  store: ObjectStore,
  key: string,
  now: Date,
  deliveryId?: string,
): Promise<DeliveryClaim> {
  const claimed = JSON.stringify({
    state: 'claimed',
    claimedAt: now.toISOString(),
    ...(deliveryId === undefined ? {} : { deliveryId }),
  } satisfies DeliveryRecord);
  const fullTimeout = { kind: 'in-flight', retryAfterSeconds: Math.ceil(CLAIM_TIMEOUT_MS / 1000) } as const;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await store.putIfAbsent(key, claimed, DELIVERY_RECORD)) return { kind: 'won' };
    const existing = await store.get(key);
    // Released by a failed attempt between our two calls: claim again.
    if (!existing) continue;
    const record = readRecord(existing.body);
    if (record?.state === 'published') return { kind: 'published', eventId: record.eventId };
    const age = record ? now.getTime() - Date.parse(record.claimedAt) : Number.POSITIVE_INFINITY;
    if (age < CLAIM_TIMEOUT_MS) {
      // Retry once the claim would be stale: by then it is published, released or taken over.
      return {
        kind: 'in-flight',
        retryAfterSeconds: Math.max(1, Math.ceil((CLAIM_TIMEOUT_MS - age) / 1000)),
      };
    }
    try {
      await store.put(key, claimed, { ...DELIVERY_RECORD, ifMatch: existing.etag });
      return { kind: 'won' };
    } catch (error) {
      if (error instanceof PreconditionFailedError) return fullTimeout;
      throw error;
    }
  }
  return { kind: 'contended' };
}

/** An unreadable record is treated as a stale claim, so it cannot block a delivery forever. */
function readRecord(body: Buffer): DeliveryRecord | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    if (typeof value !== 'object' || value === null) return undefined;
    const record = value as Partial<Record<string, unknown>>;
    if (record.state === 'published' && typeof record.eventId === 'string') return value as DeliveryRecord;
    if (
      record.state === 'claimed' &&
      typeof record.claimedAt === 'string' &&
      !Number.isNaN(Date.parse(record.claimedAt))
    ) {
      return value as DeliveryRecord;
    }
    return undefined;
  } catch {
    return undefined;
  }
}

/**
 * X-Hub-Signature-256 checked over the body bytes exactly as received: decoding them first would map
 * different byte sequences (invalid UTF-8) onto one string and so onto one signature.
 */
export function githubSignatureMatches(secret: string, body: Buffer, signature: string | undefined): boolean {
  const presented = SIGNATURE.exec(signature ?? '')?.[1];
  if (!presented || body.length === 0) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(Buffer.from(presented, 'hex'), expected);
}

function badHeader(name: string, value: string | undefined): WebhookResponse {
  const message =
    value === undefined || value === ''
      ? `the ${name} header is required`
      : `the ${name} header ${JSON.stringify(value.slice(0, 80))} is not valid`;
  return errorResponse(400, 'invalid_header', message, { header: name });
}

function unavailable(message: string): WebhookResponse {
  // 5xx so that the sender may retry; the claim is free again or owned by the attempt in flight.
  // The message is generic on purpose: the cause is in the log, not in an answer to the caller.
  return errorResponse(503, 'unavailable', `${message}: retry the delivery`);
}

function inFlight(retryAfterSeconds: number): WebhookResponse {
  return {
    ...errorResponse(
      409,
      'delivery_in_flight',
      `an earlier attempt of this delivery is still being published: redeliver after ${retryAfterSeconds} s`,
      { retryAfterSeconds },
    ),
    headers: { 'retry-after': String(retryAfterSeconds) },
  };
}
