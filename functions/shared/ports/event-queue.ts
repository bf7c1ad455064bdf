import type { ToillessEvent } from '../events/types.js';

/** One accepted event as the bus hands it to the queue. */
export interface QueueEntry {
  /** The subscriptions that must acknowledge the event before the queue may drop it. */
  readonly targets: readonly string[];
  /** The event as JSON (validated by the bus). */
  readonly body: string;
}

/** An event a subscription took from the queue, to acknowledge by its sequence number when done. */
export interface TakenEvent {
  readonly seq: number;
  /** A fresh copy: the taker may change it. */
  readonly event: ToillessEvent;
}

/**
 * Where the local bus keeps accepted events until every subscription is done with them: a folder of
 * segment files in the data directory (FileEventQueue), or memory in tests (MemoryEventQueue).
 * Each subscription reads the queue in order, from the oldest event it has not acknowledged: after a
 * restart that is what an earlier run left, so reading again is how a restart delivers again. What
 * waits is read from the queue when its turn comes, so memory does not grow with the backlog.
 */
export interface EventQueue {
  /**
   * True when what waits survives a restart (FileEventQueue): the bus's close() then finishes only the
   * deliveries under way and leaves the rest for the next start, instead of working off a backlog first.
   */
  readonly durable: boolean;
  /**
   * Appends the entries as one write and resolves with their sequence numbers once they are durable;
   * rejects when none of them is (nothing of a rejected append is delivered, now or after a restart).
   */
  append(entries: readonly QueueEntry[]): Promise<readonly number[]>;
  /**
   * The next events for `subscription`, oldest first, at most `max`: each is taken once per run (until
   * a restart) and stays in the queue until acknowledged. Empty when nothing more waits now.
   */
  take(subscription: string, max: number): Promise<readonly TakenEvent[]>;
  /** Records that `subscription` is done with a taken event; once all its targets are, the event may go. */
  acknowledge(seq: number, subscription: string): Promise<void>;
  /** How many events `subscription` has not acknowledged yet, taken or not: a count, kept in memory. */
  waiting(subscription: string): number;
  /** The events `subscription` has not acknowledged as the queue's storage has it, oldest first: what a restart delivers again. */
  unacknowledged(subscription: string): Promise<readonly number[]>;
  /** A fresh copy of an event that is still in the queue (for inspection; deliveries use take). */
  read(seq: number): Promise<ToillessEvent>;
  /** Waits for pending writes and releases files; appends are refused afterwards. */
  close(): Promise<void>;
}
