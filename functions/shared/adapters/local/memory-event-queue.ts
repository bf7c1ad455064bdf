/**
 * An event queue in memory: what the local bus used before it kept its queue on disk. Nothing survives
 * the process; unit tests and one-shot commands use it.
 */
import type { ToillessEvent } from '../../events/types.js';
import type { EventQueue, QueueEntry, TakenEvent } from '../../ports/event-queue.js';

export class MemoryEventQueue implements EventQueue {
  /** Nothing survives the process: close() delivers everything first. */
  readonly durable = false;
  private readonly events = new Map<number, { body: string; remaining: Set<string> }>();
  /** Per subscription, the sequence numbers it has not taken yet, oldest first. */
  private readonly untaken = new Map<string, number[]>();
  private nextSeq = 1;
  private closed = false;

  async append(entries: readonly QueueEntry[]): Promise<readonly number[]> {
    if (this.closed) throw new Error('the event queue is closed');
    return entries.map((entry) => {
      const seq = this.nextSeq++;
      if (entry.targets.length > 0) {
        this.events.set(seq, { body: entry.body, remaining: new Set(entry.targets) });
        for (const target of new Set(entry.targets)) {
          const list = this.untaken.get(target) ?? [];
          list.push(seq);
          this.untaken.set(target, list);
        }
      }
      return seq;
    });
  }

  async take(subscription: string, max: number): Promise<readonly TakenEvent[]> {
    const list = this.untaken.get(subscription) ?? [];
    const taken: TakenEvent[] = [];
    while (taken.length < max && list.length > 0) {
      const seq = list.shift() as number;
      const event = this.events.get(seq);
      if (event?.remaining.has(subscription)) {
        taken.push({ seq, event: JSON.parse(event.body) as ToillessEvent });
      }
    }
    return taken;
  }

  async acknowledge(seq: number, subscription: string): Promise<void> {
    const event = this.events.get(seq);
    if (!event) return;
    event.remaining.delete(subscription);
    if (event.remaining.size === 0) this.events.delete(seq);
  }

  waiting(subscription: string): number {
    let count = 0;
    for (const event of this.events.values()) if (event.remaining.has(subscription)) count++;
    return count;
  }

  async unacknowledged(subscription: string): Promise<readonly number[]> {
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
