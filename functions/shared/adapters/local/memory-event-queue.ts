/**
 * An event queue in memory: what the local bus used before it kept its queue on disk. Nothing survives
 * the process; unit tests and one-shot commands use it.
 */
import type { ToillessEvent } from '../../events/types.js';
import type { EventQueue, QueueEntry } from '../../ports/event-queue.js';

export class MemoryEventQueue implements EventQueue {
  private readonly events = new Map<number, { body: string; remaining: Set<string> }>();
  private nextSeq = 1;
  private closed = false;

  async append(entries: readonly QueueEntry[]): Promise<readonly number[]> {
    if (this.closed) throw new Error('the event queue is closed');
    return entries.map((entry) => {
      const seq = this.nextSeq++;
      if (entry.targets.length > 0) {
        this.events.set(seq, { body: entry.body, remaining: new Set(entry.targets) });
      }
      return seq;
    });
  }

  async acknowledge(seq: number, subscription: string): Promise<void> {
    const event = this.events.get(seq);
    if (!event) return;
    event.remaining.delete(subscription);
    if (event.remaining.size === 0) this.events.delete(seq);
  }

  unacknowledged(subscription: string): readonly number[] {
    const seqs: number[] = [];
    for (const [seq, event] of this.events) if (event.remaining.has(subscription)) seqs.push(seq);
    return seqs;
  }

  async read(seq: number): Promise<ToillessEvent> {
    const event = this.events.get(seq);
    if (!event) throw new Error(`event ${seq} is not in the queue (acknowledged already?)`);
    return JSON.parse(event.body) as ToillessEvent;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
