import type { ToillessEvent } from '../events/types.js';

/** One accepted event as the bus hands it to the queue. */
export interface QueueEntry {
  /** The subscriptions that must acknowledge the event before the queue may drop it. */
  readonly targets: readonly string[];
  /** The event as JSON (validated by the bus). */
  readonly body: string;
}

/**
 * Where the local bus keeps accepted events until every subscription is done with them: a folder of
 * segment files in the data directory (FileEventQueue), or memory in tests (MemoryEventQueue).
 */
export interface EventQueue {
  /**
   * Appends the entries as one write and resolves with their sequence numbers once they are durable;
   * rejects when none of them is (nothing of a rejected append is delivered, now or after a restart).
   */
  append(entries: readonly QueueEntry[]): Promise<readonly number[]>;
  /** Records that `subscription` is done with event `seq`; once all its targets are, the event may go. */
  acknowledge(seq: number, subscription: string): Promise<void>;
  /** The events `subscription` has not acknowledged, oldest first: what a restart delivers again. */
  unacknowledged(subscription: string): readonly number[];
  /** A fresh copy of an event that is still in the queue. */
  read(seq: number): Promise<ToillessEvent>;
  /** Waits for pending writes and releases files; appends are refused afterwards. */
  close(): Promise<void>;
}
