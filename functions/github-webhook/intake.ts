/**
 * POST /webhooks/github: verifies X-Hub-Signature-256 over the raw body, normalises the event and
 * publishes it exactly once per (hook, delivery), however often GitHub or a person redelivers it.
 */
import { Webhooks } from '@octokit/webhooks';
import { PreconditionFailedError } from '../shared/errors.js';
import { normalizeGitHubEvent } from '../shared/events/github.js';
import {
  type DeliveryAuthentication,
  describeError,
  type IntakeDependencies,
  readPayload,
  screenDelivery,
} from '../shared/http/intake.js';
import { errorResponse, type WebhookHandler, type WebhookResponse } from '../shared/http/webhook.js';
import type { ObjectStore } from '../shared/ports/object-store.js';

/** A claim older than this belongs to an attempt that crashed: a redelivery may take it over. */
export const CLAIM_TIMEOUT_MS = 60_000;

/** What the store holds per delivery, at `webhooks/github/<hook-id>/<delivery-id>.json`. */
export type DeliveryRecord =
  | { readonly state: 'claimed'; readonly claimedAt: string }
  | { readonly state: 'published'; readonly eventId: string; readonly publishedAt: string };

export type DeliveryClaim =
  | { readonly kind: 'won' }
  | { readonly kind: 'duplicate'; readonly inFlight: boolean }
  /** The claim kept changing under us; the caller should ask GitHub to retry. */
  | { readonly kind: 'contended' };

const DELIVERY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const HOOK_ID = /^[0-9]{1,20}$/;
const EVENT_NAME = /^[a-z_]{1,64}$/;
const JSON_CONTENT = { contentType: 'application/json' } as const;

export function deliveryKey(hookId: string, deliveryId: string): string {
  return `webhooks/github/${hookId}/${deliveryId}.json`;
}

export function createGitHubWebhook(deps: IntakeDependencies): WebhookHandler {
  const { bus, store, clock, logger } = deps;
  let verifier: { readonly secret: string; readonly webhooks: Webhooks } | undefined;
  const authentication: DeliveryAuthentication = {
    secretName: 'GITHUB_WEBHOOK_SECRET',
    sender: 'GitHub',
    verify: async (request, secret) => {
      // One verifier per secret value, rebuilt when the secret rotates.
      if (verifier?.secret !== secret) verifier = { secret, webhooks: new Webhooks({ secret }) };
      const raw = request.body.toString('utf8');
      if (await signatureMatches(verifier.webhooks, raw, request.headers['x-hub-signature-256'])) {
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

  return async (request) => {
    const refused = await screenDelivery(request, deps, authentication);
    if (refused) return refused;

    const eventName = request.headers['x-github-event'];
    const deliveryId = request.headers['x-github-delivery'];
    const hookId = request.headers['x-github-hook-id'] || 'none';
    if (!eventName || !EVENT_NAME.test(eventName)) return badHeader('X-GitHub-Event', eventName);
    if (!deliveryId || !DELIVERY_ID.test(deliveryId)) return badHeader('X-GitHub-Delivery', deliveryId);
    if (hookId !== 'none' && !HOOK_ID.test(hookId)) return badHeader('X-GitHub-Hook-ID', hookId);
    const context = { deliveryId, hookId, githubEvent: eventName };

    const reading = readPayload(
      request.body,
      (json) => normalizeGitHubEvent(eventName, json, deliveryId),
      (issues) => logger.warn({ ...context, issues }, 'invalid GitHub payload'),
    );
    if (!reading.ok) return reading.response;
    const normalized = reading.value;
    if (normalized.kind === 'ignored') {
      logger.info({ ...context, reason: normalized.reason }, 'GitHub delivery ignored');
      return { status: 202, body: { ok: true, ignored: normalized.reason } };
    }
    const { event } = normalized;

    const key = deliveryKey(hookId, deliveryId);
    let claim: DeliveryClaim;
    try {
      claim = await claimDelivery(store, key, clock.now());
    } catch (error) {
      logger.error({ ...context, err: error }, 'could not claim the GitHub delivery');
      return unavailable(`the delivery could not be recorded (${describeError(error)})`);
    }
    if (claim.kind === 'contended') return unavailable('the delivery is being claimed concurrently');
    if (claim.kind === 'duplicate') {
      logger.info({ ...context, inFlight: claim.inFlight }, 'duplicate GitHub delivery');
      // Not 200 while the other attempt has not published: it may still fail or crash, and GitHub
      // never resends a delivery it saw succeed.
      if (claim.inFlight) return unavailable('another attempt of this delivery is in progress');
      return { status: 200, body: { ok: true, duplicate: true, eventId: event.id } };
    }

    try {
      await bus.publish([event]);
    } catch (error) {
      logger.error({ ...context, err: error, eventId: event.id }, 'could not publish the GitHub event');
      // Released so that GitHub's (or a person's) redelivery can publish it.
      await store.delete(key).catch((releaseError: unknown) => {
        logger.error({ ...context, err: releaseError }, 'could not release the delivery claim');
      });
      return unavailable(`the event was not published (${describeError(error)})`);
    }
    const published: DeliveryRecord = {
      state: 'published',
      eventId: event.id,
      publishedAt: clock.now().toISOString(),
    };
    // The event is out: a failure here only means a later redelivery could publish it again.
    await store.put(key, JSON.stringify(published), JSON_CONTENT).catch((error: unknown) => {
      logger.warn({ ...context, err: error }, 'published, but could not mark the delivery as published');
    });
    logger.info({ ...context, eventId: event.id, type: event.type }, 'GitHub event published');
    return { status: 200, body: { ok: true, eventId: event.id } };
  };
}

/**
 * Claims a delivery atomically: the first caller wins; later ones see a duplicate, unless the claim is
 * older than CLAIM_TIMEOUT_MS, which they take over with a compare-and-swap (one of them wins).
 */
export async function claimDelivery(store: ObjectStore, key: string, now: Date): Promise<DeliveryClaim> {
  const claimed = JSON.stringify({ state: 'claimed', claimedAt: now.toISOString() } satisfies DeliveryRecord);
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await store.putIfAbsent(key, claimed, JSON_CONTENT)) return { kind: 'won' };
    const existing = await store.get(key);
    // Released by a failed attempt between our two calls: claim again.
    if (!existing) continue;
    const record = readRecord(existing.body);
    if (record?.state === 'published') return { kind: 'duplicate', inFlight: false };
    const age = record ? now.getTime() - Date.parse(record.claimedAt) : Number.POSITIVE_INFINITY;
    if (age < CLAIM_TIMEOUT_MS) return { kind: 'duplicate', inFlight: true };
    try {
      await store.put(key, claimed, { ...JSON_CONTENT, ifMatch: existing.etag });
      return { kind: 'won' };
    } catch (error) {
      if (error instanceof PreconditionFailedError) return { kind: 'duplicate', inFlight: true };
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

async function signatureMatches(
  webhooks: Webhooks,
  raw: string,
  signature: string | undefined,
): Promise<boolean> {
  if (!signature || raw.length === 0) return false;
  try {
    return await webhooks.verify(raw, signature);
  } catch {
    return false;
  }
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
  return errorResponse(503, 'unavailable', `${message}: retry the delivery`);
}
