/**
 * The bus of the local runtime: events are accepted by `publish` and delivered on a later turn of the
 * event loop to every subscription of their type, with retries (exponential backoff, full jitter) and
 * a dead-letter folder in the store, as EventBridge + Lambda + SQS DLQ behave on AWS.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { EventPublishError, ValidationError } from '../../errors.js';
import { toillessEventEnvelopeSchema } from '../../events/envelope.js';
import { isEventType, type ToillessEvent } from '../../events/types.js';
import type { Logger } from '../../log.js';
import { type Clock, systemClock } from '../../ports/clock.js';
import type { SubscribableEventBus, Subscription } from '../../ports/event-bus.js';
import { assertValidKey, type ObjectStore } from '../../ports/object-store.js';
import { parseWith } from '../../validation.js';

export interface InProcessEventBusProps {
  /** Holds `dead-letter/<subscription>/<event id>.json` for events whose handler kept failing. */
  readonly store: ObjectStore;
  readonly logger: Logger;
  /** Sleeps between attempts. @default systemClock */
  readonly clock?: Clock;
  /** Attempts per event and subscription, the first included. @default 5 */
  readonly maxAttempts?: number;
  /** The backoff cap before the first retry; it doubles per attempt. @default 200 */
  readonly baseDelayMs?: number;
  /** The largest backoff cap. @default 30000 */
  readonly maxDelayMs?: number;
}

/** Totals since start: for tests and the /metrics endpoint. */
export interface EventBusCounts {
  readonly published: number;
  readonly delivered: number;
  readonly retried: number;
  readonly deadLettered: number;
}

/** What the dead-letter folder keeps: enough to understand the failure and to replay the event. */
export interface DeadLetter {
  readonly subscription: string;
  readonly event: ToillessEvent;
  readonly attempts: number;
  readonly error: { readonly name: string; readonly message: string };
  readonly failedAt: string;
}

/** EventBridge refuses entries over 256 KB; refusing them here too keeps local runs honest. */
const MAX_EVENT_BYTES = 256 * 1024;

export class InProcessEventBus implements SubscribableEventBus {
  private readonly store: ObjectStore;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly subscriptions: Subscription[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  /** Marks code running inside a delivery, whose follow-up events are accepted while closing. */
  private readonly delivery = new AsyncLocalStorage<true>();
  private closing = false;
  private totals = { published: 0, delivered: 0, retried: 0, deadLettered: 0 };

  constructor(props: InProcessEventBusProps) {
    const maxAttempts = props.maxAttempts ?? 5;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
      throw new TypeError(`maxAttempts must be a whole number of at least 1, got ${maxAttempts}`);
    }
    this.store = props.store;
    this.logger = props.logger;
    this.clock = props.clock ?? systemClock;
    this.maxAttempts = maxAttempts;
    this.baseDelayMs = props.baseDelayMs ?? 200;
    this.maxDelayMs = props.maxDelayMs ?? 30_000;
  }

  get counts(): EventBusCounts {
    return { ...this.totals };
  }

  subscribe(subscription: Subscription): void {
    assertValidKey(`dead-letter/${keySegment(subscription.name)}`);
    if (this.subscriptions.some((existing) => existing.name === subscription.name)) {
      throw new TypeError(`a subscription named ${subscription.name} exists already: names must be unique`);
    }
    const unknown = subscription.types.filter((type) => !isEventType(type));
    if (unknown.length > 0) {
      throw new TypeError(
        `subscription ${subscription.name} names unknown event types: ${unknown.join(', ')}`,
      );
    }
    this.subscriptions.push(subscription);
  }

  async publish(events: readonly ToillessEvent[]): Promise<void> {
    if (this.closing && this.delivery.getStore() === undefined) {
      throw new EventPublishError(
        'the event bus is shutting down and accepts no new events: publish before close()',
        events.map((event) => String(event?.id)),
      );
    }
    const accepted = events.map((event, index) => this.accept(event, index));
    this.totals.published += accepted.length;
    for (const event of accepted) {
      const subscribers = this.subscriptions.filter((subscription) =>
        subscription.types.includes(event.type),
      );
      // `accept` made a fresh copy: the first subscriber takes it, any further one gets its own clone.
      subscribers.forEach((subscription, position) => {
        this.schedule(subscription, position === 0 ? event : structuredClone(event));
      });
    }
  }

  async idle(): Promise<void> {
    // Handlers may publish follow-up events while we wait: loop until nothing is left.
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Stops accepting new events and resolves once every accepted one is delivered or dead-lettered. */
  async close(): Promise<void> {
    this.closing = true;
    await this.idle();
  }

  private accept(event: ToillessEvent, index: number): ToillessEvent {
    let serialized: string;
    try {
      parseWith(toillessEventEnvelopeSchema, event, `event ${index}`);
      serialized = JSON.stringify(event);
    } catch (error) {
      const reason =
        error instanceof ValidationError ? error.message : `not serializable as JSON: ${String(error)}`;
      throw new EventPublishError(`event ${index} was refused: ${reason}`, [String(event?.id)], {
        cause: error,
      });
    }
    const bytes = Buffer.byteLength(serialized);
    if (bytes > MAX_EVENT_BYTES) {
      throw new EventPublishError(
        `event ${event.id} (${event.type}) is ${bytes} bytes, over EventBridge's 256 KB: store the payload and send its key`,
        [event.id],
      );
    }
    // Subscribers get their own copy, as they would from a remote bus.
    return JSON.parse(serialized) as ToillessEvent;
  }

  private schedule(subscription: Subscription, copy: ToillessEvent): void {
    // Never in the publisher's call stack: the publisher must not see or wait for handler work.
    const task = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.delivery.run(true, () => this.deliver(subscription, copy)))
      .finally(() => this.inFlight.delete(task));
    this.inFlight.add(task);
  }

  private async deliver(subscription: Subscription, event: ToillessEvent): Promise<void> {
    const context = { subscription: subscription.name, eventId: event.id, type: event.type };
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      try {
        await subscription.handler(event);
        this.totals.delivered++;
        return;
      } catch (error) {
        lastError = error;
      }
      if (attempt < this.maxAttempts) {
        const delayMs = this.backoff(attempt);
        this.totals.retried++;
        this.logger.warn({ ...context, attempt, delayMs, err: lastError }, 'event handler failed: retrying');
        await this.clock.sleep(delayMs);
      }
    }
    await this.deadLetter(subscription, event, lastError);
  }

  /** Full jitter: a uniform delay below the capped exponential, so retries of many events spread out. */
  private backoff(attempt: number): number {
    const cap = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
    return Math.floor(Math.random() * cap);
  }

  private async deadLetter(subscription: Subscription, event: ToillessEvent, error: unknown): Promise<void> {
    this.totals.deadLettered++;
    const key = `dead-letter/${keySegment(subscription.name)}/${keySegment(event.id)}.json`;
    const record: DeadLetter = {
      subscription: subscription.name,
      event,
      attempts: this.maxAttempts,
      error: {
        name: error instanceof Error ? error.name : 'Error',
        message: error instanceof Error ? error.message : String(error),
      },
      failedAt: this.clock.now().toISOString(),
    };
    const context = {
      subscription: subscription.name,
      eventId: event.id,
      type: event.type,
      attempts: this.maxAttempts,
    };
    try {
      await this.store.put(key, `${JSON.stringify(record, null, 2)}\n`, { contentType: 'application/json' });
      this.logger.error({ ...context, key, err: error }, 'event handler kept failing: event dead-lettered');
    } catch (storeError) {
      this.logger.error(
        { ...context, err: error, storeError, event },
        'event handler kept failing and the dead letter could not be stored: the event is only in this log',
      );
    }
  }
}

/** Event ids and names may hold characters a key segment cannot (`/`, `:`): encode them. */
function keySegment(value: string): string {
  const encoded = encodeURIComponent(value);
  return encoded === '.' || encoded === '..' ? encoded.replace(/\./g, '%2E') : encoded;
}
