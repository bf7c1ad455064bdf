/**
 * The bus on AWS: an EventBridge custom bus. PutEvents accepts at most 10 entries and 256 KB per
 * request, and can accept some entries while refusing others, so batches are sized to fit and only
 * the refused entries are sent again.
 */
import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsCommandOutput,
  type PutEventsRequestEntry,
  type PutEventsResultEntry,
} from '@aws-sdk/client-eventbridge';
import { EventPublishError } from '../../errors.js';
import { toillessEventEnvelopeSchema } from '../../events/envelope.js';
import { EVENT_SOURCE, type ToillessEvent } from '../../events/types.js';
import { type Clock, systemClock } from '../../ports/clock.js';
import type { EventBus } from '../../ports/event-bus.js';
import { parseWith } from '../../validation.js';

export interface EventBridgeBusProps {
  /** Name or ARN of the custom bus (TOILLESS_EVENT_BUS). */
  readonly eventBusName: string;
  /** @default a client with the SDK's default configuration (region and credentials from the environment) */
  readonly client?: EventBridgeClient;
  /** Sleeps between resends of refused entries. @default systemClock */
  readonly clock?: Clock;
  /** PutEvents calls per entry, the first included, while EventBridge refuses it with a transient error. @default 4 */
  readonly maxAttempts?: number;
  /** The backoff cap before the first resend; it doubles per attempt. @default 100 */
  readonly baseDelayMs?: number;
  /** The largest backoff cap. @default 5000 */
  readonly maxDelayMs?: number;
}

/** PutEvents limits: entries per request and bytes per request (and so per entry). */
export const MAX_ENTRIES_PER_REQUEST = 10;
export const MAX_REQUEST_BYTES = 256 * 1024;

/** Entry error codes worth a resend; others (MalformedDetail, InvalidArgument...) fail the same way again. */
const TRANSIENT_ERROR = /throttl|internal|unavailable|timeout/i;

interface PendingEntry {
  readonly event: ToillessEvent;
  readonly entry: PutEventsRequestEntry;
  readonly bytes: number;
}

interface Refusal {
  readonly pending: PendingEntry;
  readonly errorCode: string;
  readonly errorMessage: string;
  /** The SDK error, when the whole request failed. */
  readonly cause?: unknown;
}

export class EventBridgeBus implements EventBus {
  private readonly eventBusName: string;
  private readonly client: EventBridgeClient;
  private readonly clock: Clock;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(props: EventBridgeBusProps) {
    if (props.eventBusName.trim() === '') {
      throw new TypeError('EventBridgeBus needs an event bus name: set TOILLESS_EVENT_BUS');
    }
    this.eventBusName = props.eventBusName;
    this.client = props.client ?? new EventBridgeClient({});
    this.clock = props.clock ?? systemClock;
    this.maxAttempts = props.maxAttempts ?? 4;
    this.baseDelayMs = props.baseDelayMs ?? 100;
    this.maxDelayMs = props.maxDelayMs ?? 5000;
  }

  async publish(events: readonly ToillessEvent[]): Promise<void> {
    const pending = events.map((event, index) => this.toPendingEntry(event, index));
    const refusals: Refusal[] = [];
    for (const batch of intoBatches(pending)) refusals.push(...(await this.sendWithResends(batch)));
    if (refusals.length > 0) {
      const listed = refusals
        .slice(0, 5)
        .map((refusal) => `${refusal.pending.event.id} (${refusal.errorCode}: ${refusal.errorMessage})`)
        .join(', ');
      const more = refusals.length > 5 ? ` and ${refusals.length - 5} more` : '';
      throw new EventPublishError(
        `EventBridge bus ${this.eventBusName} did not accept ${refusals.length} of ${events.length} events: ${listed}${more}`,
        refusals.map((refusal) => refusal.pending.event.id),
        { cause: refusals.find((refusal) => refusal.cause !== undefined)?.cause },
      );
    }
  }

  /** Sends one batch and resends the entries refused with a transient error; returns those refused in the end. */
  private async sendWithResends(batch: readonly PendingEntry[]): Promise<Refusal[]> {
    const refusedForGood: Refusal[] = [];
    let remaining = batch;
    for (let attempt = 1; ; attempt++) {
      let response: PutEventsCommandOutput;
      try {
        response = await this.client.send(
          new PutEventsCommand({ Entries: remaining.map((pending) => pending.entry) }),
        );
      } catch (error) {
        // The SDK has already retried throttling and 5xx answers for the whole request.
        const errorCode = error instanceof Error ? error.name : 'RequestFailed';
        const errorMessage = error instanceof Error ? error.message : String(error);
        return [
          ...refusedForGood,
          ...remaining.map((pending) => ({ pending, errorCode, errorMessage, cause: error })),
        ];
      }
      if (!response.FailedEntryCount) return refusedForGood;
      const refused = refusedEntries(remaining, response.Entries ?? []);
      const transient = refused.filter((refusal) => TRANSIENT_ERROR.test(refusal.errorCode));
      refusedForGood.push(...refused.filter((refusal) => !TRANSIENT_ERROR.test(refusal.errorCode)));
      if (transient.length === 0) return refusedForGood;
      if (attempt >= this.maxAttempts) return [...refusedForGood, ...transient];
      await this.clock.sleep(this.backoff(attempt));
      remaining = transient.map((refusal) => refusal.pending);
    }
  }

  /** Full jitter: a uniform delay below the capped exponential. */
  private backoff(attempt: number): number {
    return Math.floor(Math.random() * Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1)));
  }

  private toPendingEntry(event: ToillessEvent, index: number): PendingEntry {
    try {
      parseWith(toillessEventEnvelopeSchema, event, `event ${index}`);
    } catch (error) {
      throw new EventPublishError(
        `event ${index} was refused: ${(error as Error).message}`,
        [String(event?.id)],
        {
          cause: error,
        },
      );
    }
    const entry: PutEventsRequestEntry = {
      Source: EVENT_SOURCE,
      DetailType: event.type,
      Detail: JSON.stringify({ id: event.id, time: event.time, detail: event.detail }),
      Time: new Date(event.time),
      EventBusName: this.eventBusName,
    };
    const bytes = entrySize(entry);
    if (bytes > MAX_REQUEST_BYTES) {
      throw new EventPublishError(
        `event ${event.id} (${event.type}) is ${bytes} bytes as an EventBridge entry, over the 256 KB limit: store the payload and send its key instead`,
        [event.id],
      );
    }
    return { event, entry, bytes };
  }
}

/** Entry size as EventBridge counts it: Time (14 bytes) plus the UTF-8 bytes of Source, DetailType, Detail, Resources. */
export function entrySize(entry: PutEventsRequestEntry): number {
  const utf8 = (value: string | undefined) => (value === undefined ? 0 : Buffer.byteLength(value, 'utf8'));
  return (
    (entry.Time === undefined ? 0 : 14) +
    utf8(entry.Source) +
    utf8(entry.DetailType) +
    utf8(entry.Detail) +
    (entry.Resources ?? []).reduce((sum, resource) => sum + utf8(resource), 0)
  );
}

/** Pairs each sent entry with its result, by position, and keeps the refused ones. */
function refusedEntries(sent: readonly PendingEntry[], results: readonly PutEventsResultEntry[]): Refusal[] {
  return sent.flatMap((pending, index) => {
    const result = results[index];
    if (result?.EventId !== undefined && result.ErrorCode === undefined) return [];
    return [
      {
        pending,
        errorCode: result?.ErrorCode ?? 'MissingResult',
        errorMessage: result?.ErrorMessage ?? 'EventBridge returned no result for this entry',
      },
    ];
  });
}

/** Groups entries in order into requests of at most 10 entries and 256 KB. */
function intoBatches(entries: readonly PendingEntry[]): PendingEntry[][] {
  const batches: PendingEntry[][] = [];
  let current: PendingEntry[] = [];
  let currentBytes = 0;
  for (const pending of entries) {
    if (current.length === MAX_ENTRIES_PER_REQUEST || currentBytes + pending.bytes > MAX_REQUEST_BYTES) {
      batches.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(pending);
    currentBytes += pending.bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

export { fromEventBridgeEvent } from './eventbridge-event.js';
