/**
 * The bus of the local runtime: `publish` resolves once the events are in the queue (on disk with
 * FileEventQueue), and each is delivered on a later turn of the event loop to every subscription of its
 * type, with retries (exponential backoff, full jitter) and a dead-letter folder in the store, as
 * EventBridge + Lambda + SQS DLQ behave on AWS. A subscription acknowledges an event when its handler
 * is done or it is dead-lettered; what is not acknowledged is delivered again by `replay()` on the next
 * start. Each subscription runs at most `maxConcurrentDeliveries` handlers at once; the rest wait in the
 * queue, held in memory only as sequence numbers.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { EventPublishError, ValidationError } from '../../errors.js';
import { toillessEventEnvelopeSchema } from '../../events/envelope.js';
import { isEventType, type ToillessEvent } from '../../events/types.js';
import type { Logger } from '../../log.js';
import { type Clock, systemClock } from '../../ports/clock.js';
import type { SubscribableEventBus, Subscription } from '../../ports/event-bus.js';
import type { EventQueue } from '../../ports/event-queue.js';
import { assertValidKey, type ObjectStore } from '../../ports/object-store.js';
import { parseWith } from '../../validation.js';
import { MemoryEventQueue } from './memory-event-queue.js';

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
  /** Keeps accepted events until every subscription acknowledged them. @default a MemoryEventQueue */
  readonly queue?: EventQueue;
  /** Handlers of one subscription running at once; further events wait in the queue. @default 8 */
  readonly maxConcurrentDeliveries?: number;
  /** Told of every failed handler attempt and every stored dead letter (the /metrics counters). */
  readonly observer?: DeliveryObserver;
}

/** Hooks for what the bus does with failures; they must not throw (a throw is logged and ignored). */
export interface DeliveryObserver {
  /** A subscription was made: counters can start at 0 for it. */
  readonly subscribed?: (subscription: string) => void;
  /** A handler attempt threw; called for every attempt, the last one included. */
  readonly attemptFailed?: (subscription: string, event: ToillessEvent) => void;
  /** The event's dead letter is stored: the subscription gave up on it. */
  readonly deadLettered?: (subscription: string, event: ToillessEvent) => void;
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

/** One subscription's deliveries: how many run, and the queue sequence numbers waiting for a slot. */
interface Dispatch {
  readonly subscription: Subscription;
  running: number;
  readonly waiting: SequenceFifo;
}

export class InProcessEventBus implements SubscribableEventBus {
  private readonly store: ObjectStore;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly queue: EventQueue;
  private readonly maxConcurrentDeliveries: number;
  private readonly observer: DeliveryObserver;
  private readonly subscriptions: Subscription[] = [];
  private readonly dispatches = new Map<string, Dispatch>();
  /** Deliveries and appends under way: idle() and close() wait for them. */
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Marks code running inside a delivery, whose follow-up events are accepted while closing. */
  private readonly delivery = new AsyncLocalStorage<true>();
  private closing = false;
  private totals = { published: 0, delivered: 0, retried: 0, deadLettered: 0 };

  constructor(props: InProcessEventBusProps) {
    const maxAttempts = props.maxAttempts ?? 5;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
      throw new TypeError(`maxAttempts must be a whole number of at least 1, got ${maxAttempts}`);
    }
    const maxConcurrentDeliveries = props.maxConcurrentDeliveries ?? 8;
    if (!Number.isInteger(maxConcurrentDeliveries) || maxConcurrentDeliveries < 1) {
      throw new TypeError(
        `maxConcurrentDeliveries must be a whole number of at least 1, got ${maxConcurrentDeliveries}`,
      );
    }
    this.queue = props.queue ?? new MemoryEventQueue();
    this.maxConcurrentDeliveries = maxConcurrentDeliveries;
    this.observer = props.observer ?? {};
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
    this.dispatches.set(subscription.name, { subscription, running: 0, waiting: new SequenceFifo() });
    this.observe('subscribed', subscription.name);
  }

  /**
   * Delivers again what an earlier run accepted and did not finish. Call it once every subscription is
   * made: a replayed handler may publish follow-up events, which go only to the subscriptions made by then.
   */
  replay(): void {
    for (const dispatch of this.dispatches.values()) {
      for (const seq of this.queue.unacknowledged(dispatch.subscription.name)) dispatch.waiting.push(seq);
      this.pump(dispatch);
    }
  }

  async publish(events: readonly ToillessEvent[]): Promise<void> {
    if (this.closing && this.delivery.getStore() === undefined) {
      throw new EventPublishError(
        'the event bus is shutting down and accepts no new events: publish before close()',
        events.map((event) => String(event?.id)),
      );
    }
    const accepted = events.map((event, index) => this.accept(event, index));
    const routed = accepted.map(({ event, body }) => ({
      event,
      body,
      targets: this.subscriptions
        .filter((subscription) => subscription.types.includes(event.type))
        .map((subscription) => subscription.name),
    }));
    const appending = this.queue.append(routed.filter((entry) => entry.targets.length > 0));
    this.inFlight.add(appending);
    let seqs: readonly number[];
    try {
      seqs = await appending;
    } catch (error) {
      throw new EventPublishError(
        `the events could not be written to the queue (${error instanceof Error ? error.message : String(error)}): none was accepted, publish again`,
        accepted.map(({ event }) => event.id),
        { cause: error },
      );
    } finally {
      this.inFlight.delete(appending);
    }
    this.totals.published += accepted.length;
    let next = 0;
    for (const { event, targets } of routed) {
      if (targets.length === 0) continue;
      const seq = seqs[next++] as number;
      targets.forEach((name, position) => {
        this.offer(this.dispatches.get(name) as Dispatch, seq, event, position === 0);
      });
    }
  }

  async idle(): Promise<void> {
    // Handlers may publish follow-up events while we wait: loop until nothing is left. Waiting events
    // always have a running delivery of their subscription ahead of them, so inFlight covers them.
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /**
   * Stops accepting new events and resolves once every accepted one is delivered or dead-lettered.
   * The queue stays open: whoever made it closes it after this.
   */
  async close(): Promise<void> {
    this.closing = true;
    await this.idle();
  }

  private accept(event: ToillessEvent, index: number): { event: ToillessEvent; body: string } {
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
    return { event: JSON.parse(serialized) as ToillessEvent, body: serialized };
  }

  /**
   * Starts the delivery now if the subscription has a free slot and nothing waits; else only the sequence
   * number waits, and the event is read back from the queue when its turn comes.
   */
  private offer(dispatch: Dispatch, seq: number, event: ToillessEvent, first: boolean): void {
    if (dispatch.running < this.maxConcurrentDeliveries && dispatch.waiting.length === 0) {
      // `accept` made a fresh copy: the first subscriber takes it, any further one gets its own clone.
      this.start(dispatch, seq, first ? event : structuredClone(event));
    } else {
      dispatch.waiting.push(seq);
    }
  }

  private pump(dispatch: Dispatch): void {
    while (dispatch.running < this.maxConcurrentDeliveries && dispatch.waiting.length > 0) {
      this.start(dispatch, dispatch.waiting.shift() as number, undefined);
    }
  }

  /** `copy` is the event when at hand; otherwise it is read back from the queue. */
  private start(dispatch: Dispatch, seq: number, copy: ToillessEvent | undefined): void {
    dispatch.running += 1;
    // Never in the publisher's call stack: the publisher must not see or wait for handler work.
    const task = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.delivery.run(true, () => this.run(dispatch.subscription, seq, copy)))
      .finally(() => {
        this.inFlight.delete(task);
        dispatch.running -= 1;
        this.pump(dispatch);
      });
    this.inFlight.add(task);
  }

  private async run(subscription: Subscription, seq: number, copy: ToillessEvent | undefined): Promise<void> {
    let event = copy;
    if (event === undefined) {
      try {
        event = await this.queue.read(seq);
      } catch (error) {
        this.logger.error(
          { subscription: subscription.name, seq, err: error },
          'a queued event could not be read back: it stays in the queue for the next start',
        );
        return;
      }
    }
    if (await this.deliver(subscription, event)) await this.queue.acknowledge(seq, subscription.name);
  }

  /** True once the handler succeeded or the event is dead-lettered: the subscription is done with it. */
  private async deliver(subscription: Subscription, event: ToillessEvent): Promise<boolean> {
    const context = { subscription: subscription.name, eventId: event.id, type: event.type };
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      try {
        await subscription.handler(event);
        this.totals.delivered++;
        return true;
      } catch (error) {
        lastError = error;
        this.observe('attemptFailed', subscription.name, event);
      }
      if (attempt < this.maxAttempts) {
        const delayMs = this.backoff(attempt);
        this.totals.retried++;
        this.logger.warn({ ...context, attempt, delayMs, err: lastError }, 'event handler failed: retrying');
        await this.clock.sleep(delayMs);
      }
    }
    return this.deadLetter(subscription, event, lastError);
  }

  /** An observer's defect must not change what happens to the event. */
  private observe(hook: keyof DeliveryObserver, subscription: string, event?: ToillessEvent): void {
    try {
      if (hook === 'subscribed') this.observer.subscribed?.(subscription);
      else if (event !== undefined) this.observer[hook]?.(subscription, event);
    } catch (error) {
      this.logger.warn({ subscription, eventId: event?.id, hook, err: error }, 'delivery observer threw');
    }
  }

  /** Full jitter: a uniform delay below the capped exponential, so retries of many events spread out. */
  private backoff(attempt: number): number {
    const cap = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
    return Math.floor(Math.random() * cap);
  }

  private async deadLetter(
    subscription: Subscription,
    event: ToillessEvent,
    error: unknown,
  ): Promise<boolean> {
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
      this.observe('deadLettered', subscription.name, event);
      return true;
    } catch (storeError) {
      this.logger.error(
        { ...context, err: error, storeError, event },
        'event handler kept failing and the dead letter could not be stored: the event stays in the queue for the next start',
      );
      return false;
    }
  }
}

/** Event ids and names may hold characters a key segment cannot (`/`, `:`): encode them. */
function keySegment(value: string): string {
  const encoded = encodeURIComponent(value);
  return encoded === '.' || encoded === '..' ? encoded.replace(/\./g, '%2E') : encoded;
}

/** A first-in first-out list of sequence numbers that stays cheap when it grows to many thousands. */
class SequenceFifo {
  private items: number[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(seq: number): void {
    this.items.push(seq);
  }

  shift(): number | undefined {
    if (this.head >= this.items.length) return undefined;
    const seq = this.items[this.head++];
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return seq;
  }
}
