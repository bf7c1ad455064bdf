/**
 * The claim-check for events too large for the bus: EventBridge (and the local bus, to stay honest)
 * refuses entries over 256 KB, while the intakes accept bodies up to 1 MiB. An event over the
 * threshold is stored at `claim-check/<event-id>.json` and the bus carries a small event of the same
 * id and type whose detail only references it; consumers call resolveClaimCheck to get it back.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { ToillessError, ValidationError } from '../errors.js';
import type { ObjectStore } from '../ports/object-store.js';
import { parseWith } from '../validation.js';
import { alertmanagerPayloadSchema } from './alertmanager.js';
import { toillessEventEnvelopeSchema } from './envelope.js';
import type { EventType, ToillessEvent } from './types.js';

/** What both buses accept per event (EventBridge's PutEvents entry limit). */
export const BUS_EVENT_LIMIT_BYTES = 256 * 1024;

/**
 * Events whose JSON is larger than this go through the store. The margin below the bus limit covers
 * what a bus adds around the detail (EventBridge counts Source, DetailType and Time too).
 */
export const CLAIM_CHECK_THRESHOLD_BYTES = BUS_EVENT_LIMIT_BYTES - 8 * 1024;

export const CLAIM_CHECK_PREFIX = 'claim-check/';

/** What the bus carries in place of the detail of a claim-checked event. */
export interface ClaimCheckReference {
  /** The store key of the full event, always claimCheckKey(event id). */
  readonly key: string;
  /** Size and sha256 (hex) of the stored JSON, so a consumer never acts on another payload. */
  readonly bytes: number;
  readonly sha256: string;
}

const referenceDetailSchema = z.strictObject({
  claimCheck: z.strictObject({
    key: z.string().min(1),
    bytes: z.number().int().nonnegative(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
  }),
});

/** The detail schemas a stored event is checked against again when it is read back. */
const detailSchemas: Partial<Record<EventType, z.ZodType>> = {
  AlertNotification: z.object({
    receivedAt: z.iso.datetime({ offset: true }),
    payload: alertmanagerPayloadSchema,
  }),
};

/** A claim-checked event cannot be read back: missing (expired, deleted) or not the payload it names. */
export class ClaimCheckError extends ToillessError {
  constructor(
    readonly eventId: string,
    readonly key: string,
    message: string,
  ) {
    super(`event ${eventId}: ${message}`);
  }
}

/** `claim-check/<event-id>.json`, the id URL-encoded so that it stays one key segment. */
export function claimCheckKey(eventId: string): string {
  return `${CLAIM_CHECK_PREFIX}${encodeURIComponent(eventId)}.json`;
}

/** The size the bus judges an event by: its JSON in UTF-8. */
export function serializedEventBytes(event: ToillessEvent): number {
  return Buffer.byteLength(JSON.stringify(event), 'utf8');
}

/**
 * The event as the bus should carry it: unchanged when it fits, otherwise stored under
 * claimCheckKey(id) and replaced by a reference. Created only if absent, so a re-send of the same
 * event id (Alertmanager's retries, GitHub's redeliveries) references the payload stored first.
 */
export async function checkInOversizedEvent(
  store: ObjectStore,
  event: ToillessEvent,
): Promise<ToillessEvent> {
  const text = JSON.stringify(event);
  if (fitsOnTheBus(text)) return event;
  const json = Buffer.from(text, 'utf8');
  const key = claimCheckKey(event.id);
  let stored: Buffer = json;
  if (!(await store.putIfAbsent(key, json, { contentType: 'application/json' }))) {
    const existing = await store.get(key);
    if (existing) stored = existing.body;
    // Gone between the two calls (expired or deleted): store this copy.
    else await store.put(key, json, { contentType: 'application/json' });
  }
  const claimCheck: ClaimCheckReference = { key, bytes: stored.length, sha256: sha256(stored) };
  // The detail is not the type's detail until resolveClaimCheck restores it; both buses accept any object.
  return {
    id: event.id,
    type: event.type,
    time: event.time,
    detail: { claimCheck },
  } as unknown as ToillessEvent;
}

/**
 * Whether an event's JSON is at most CLAIM_CHECK_THRESHOLD_BYTES in UTF-8, without encoding it: a UTF-16
 * code unit is at most 3 UTF-8 bytes, so short strings are decided by their length alone.
 */
export function fitsOnTheBus(json: string): boolean {
  if (json.length * 3 <= CLAIM_CHECK_THRESHOLD_BYTES) return true;
  return Buffer.byteLength(json, 'utf8') <= CLAIM_CHECK_THRESHOLD_BYTES;
}

/** The reference an event carries instead of its detail, or undefined for an ordinary event. */
export function claimCheckOf(event: ToillessEvent): ClaimCheckReference | undefined {
  const result = referenceDetailSchema.safeParse(event.detail);
  return result.success ? result.data.claimCheck : undefined;
}

/**
 * The full event behind a claim-checked one, validated again as the intake validated it; any other
 * event is returned as it is. Throws ClaimCheckError when the stored payload is missing or is not the
 * one referenced (the consumer's retries and dead letters take over), ValidationError when it breaks
 * its schema.
 */
export async function resolveClaimCheck(store: ObjectStore, event: ToillessEvent): Promise<ToillessEvent> {
  const reference = claimCheckOf(event);
  if (!reference) return event;
  const key = claimCheckKey(event.id);
  // A reference may only point at its own event's payload, never at another object of the store.
  if (reference.key !== key) {
    throw new ClaimCheckError(event.id, reference.key, `the claim-check key must be ${key}`);
  }
  const stored = await store.get(key);
  if (!stored) {
    throw new ClaimCheckError(
      event.id,
      key,
      `its payload is missing at ${key}: it expired or was deleted; replay the original delivery`,
    );
  }
  if (stored.body.length !== reference.bytes || sha256(stored.body) !== reference.sha256) {
    throw new ClaimCheckError(event.id, key, `the payload at ${key} is not the one the event references`);
  }
  let json: unknown;
  try {
    json = JSON.parse(stored.body.toString('utf8'));
  } catch {
    throw new ClaimCheckError(event.id, key, `the payload at ${key} is not JSON`);
  }
  const envelope = parseWith(toillessEventEnvelopeSchema, json, `claim-checked event ${event.id}`);
  if (envelope.id !== event.id || envelope.type !== event.type) {
    throw new ValidationError(`the payload at ${key} is event ${envelope.id} (${envelope.type})`, [
      { path: 'id', message: `expected ${event.id} (${event.type})` },
    ]);
  }
  const detailSchema = detailSchemas[envelope.type];
  const detail = detailSchema
    ? parseWith(detailSchema, envelope.detail, `claim-checked ${envelope.type} detail`)
    : envelope.detail;
  return { ...envelope, detail } as ToillessEvent;
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
