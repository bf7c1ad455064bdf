/**
 * The bus of the local runtime: `publish` resolves once the events are in the queue (on disk with
 * FileEventQueue), and each is delivered on a later turn of the event loop to every subscription of its
 * type, with retries (exponential backoff, full jitter) and a dead-letter folder in the store, as
 * EventBridge + Lambda + SQS DLQ behave on AWS. A subscription acknowledges an event when its handler
 * is done or it is dead-lettered; what is not acknowledged is delivered again on the next start, once
 * `replay()` is called. Each subscription runs at most `maxConcurrentDeliveries` handlers at once and
 * takes the next events from the queue as slots free up: the rest wait in the queue, not in memory.
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

/** One subscription's deliveries: how many run, and whether it is taking events from the queue. */
interface Dispatch {
  readonly subscription: Subscription;
  running: number;
  taking: boolean;
  /** Events were published while taking: take again once done. */
  again: boolean;
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
  /** Set by close() on a durable queue: no more events are taken; what waits stays for the next start. */
  private stopTaking = false;
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
    this.dispatches.set(subscription.name, { subscription, running: 0, taking: false, again: false });
    this.observe('subscribed', subscription.name);
  }

  /**
   * Delivers again what an earlier run accepted and did not finish. Call it once every subscription is
   * made: a replayed handler may publish follow-up events, which go only to the subscriptions made by then.
   * (A publish before it starts the subscriptions it reaches, earlier events first.)
   */
  replay(): void {
    for (const dispatch of this.dispatches.values()) this.pump(dispatch);
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
      body,
      targets: this.subscriptions
        .filter((subscription) => subscription.types.includes(event.type))
        .map((subscription) => subscription.name),
    }));
    const appending = this.queue.append(routed.filter((entry) => entry.targets.length > 0));
    this.inFlight.add(appending);
    try {
      await appending;
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
    const reached = new Set(routed.flatMap((entry) => entry.targets));
    for (const name of reached) this.pump(this.dispatches.get(name) as Dispatch);
  }

  /**
   * Runs `work` as part of a delivery under way: what it publishes is accepted even while the bus is
   * closing, like a handler's follow-up events. For handlers whose publishes arrive by another route
   * (the processors process's messages), outside the delivery's own async context.
   */
  asDelivery<T>(work: () => Promise<T>): Promise<T> {
    return this.delivery.run(true, work);
  }

  async idle(): Promise<void> {
    // Handlers may publish follow-up events while we wait: loop until nothing is left. Events waiting in
    // the queue always have a running delivery or take of their subscription ahead of them.
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /**
   * Stops accepting new events and resolves once the deliveries under way are done (or dead-lettered).
   * With a durable queue what still waits stays in it for the next start, so a shutdown never waits for
   * a backlog; with a memory queue every accepted event is delivered first, as nothing would keep it.
   * The queue stays open: whoever made it closes it after this.
   */
  async close(): Promise<void> {
    this.closing = true;
    this.stopTaking = this.queue.durable;
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
    // Subscribers get their own copy, read back from the queue, as they would from a remote bus.
    return { event, body: serialized };
  }

  /** Takes as many events from the queue as the subscription has free slots, and starts them. */
  private pump(dispatch: Dispatch): void {
    if (this.stopTaking) return;
    const free = this.maxConcurrentDeliveries - dispatch.running;
    if (dispatch.taking) {
      dispatch.again = true;
      return;
    }
    if (free <= 0) return;
    dispatch.taking = true;
    dispatch.again = false;
    const name = dispatch.subscription.name;
    const taking = this.queue
      .take(name, free)
      .then(
        (events) => {
          for (const { seq, event } of events) this.start(dispatch, seq, event);
          return events.length === free;
        },
        (error: unknown) => {
          this.logger.error(
            { subscription: name, err: error },
            'queued events could not be read: they stay in the queue for the next start',
          );
          return false;
        },
      )
      .then((full) => {
        this.inFlight.delete(taking);
        dispatch.taking = false;
        // A full take leaves no slot; finishing deliveries take the next ones.
        if (dispatch.again && !full) this.pump(dispatch);
      });
    this.inFlight.add(taking);
  }

  private start(dispatch: Dispatch, seq: number, event: ToillessEvent): void {
    dispatch.running += 1;
    // Never in the publisher's call stack: the publisher must not see or wait for handler work.
    const task = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.delivery.run(true, () => this.run(dispatch.subscription, seq, event)))
      .finally(() => {
        this.inFlight.delete(task);
        dispatch.running -= 1;
        this.pump(dispatch);
      });
    this.inFlight.add(task);
  }

  private async run(subscription: Subscription, seq: number, event: ToillessEvent): Promise<void> {
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
