/**
 * The behaviour every EventQueue adapter owes the local bus. The file queue and the in-memory queue both
 * run these cases, so the bus behaves the same over either.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ToillessEvent } from '../../functions/shared/events/types.js';
import type { EventQueue, QueueEntry } from '../../functions/shared/ports/event-queue.js';

export interface EventQueueSubject {
  readonly queue: EventQueue;
  /** Closes the queue and releases what the subject made (temp dirs). */
  readonly close: () => Promise<void>;
}

export function incidentOpened(id: string): ToillessEvent<'IncidentOpened'> {
  return {
    id,
    type: 'IncidentOpened',
    time: '2026-11-28T09:59:00.000Z',
    detail: {
      incidentId: id,
      title: 'checkout is slow\nsince "10:00"',
      services: ['checkout'],
      severity: 'critical',
      startedAt: '2026-11-28T09:58:00Z',
    },
  };
}

export function entry(id: string, targets: readonly string[]): QueueEntry {
  return { targets, body: JSON.stringify(incidentOpened(id)) };
}

/** Takes what `subscription` can take and acknowledges those of `seqs`, as a finished delivery does. */
export async function takeAndAcknowledge(
  queue: EventQueue,
  subscription: string,
  seqs: readonly number[],
): Promise<void> {
  const taken = await queue.take(subscription, 10_000);
  for (const { seq } of taken) if (seqs.includes(seq)) await queue.acknowledge(seq, subscription);
}

export function describeEventQueueContract(name: string, open: () => Promise<EventQueueSubject>): void {
  describe(`EventQueue contract: ${name}`, () => {
    let subject: EventQueueSubject;

    beforeEach(async () => {
      subject = await open();
    });

    afterEach(async () => {
      await subject.close();
    });

    it('numbers appended events in order and reads each back as it was', async () => {
      // Act
      const first = await subject.queue.append([entry('e-1', ['timeline']), entry('e-2', ['timeline'])]);
      const second = await subject.queue.append([entry('e-3', ['dora'])]);

      // Assess
      expect(first).toHaveLength(2);
      expect(first[1]).toBeGreaterThan(first[0] as number);
      expect(second[0]).toBeGreaterThan(first[1] as number);
      expect(await subject.queue.read(first[0] as number)).toEqual(incidentOpened('e-1'));
      expect(await subject.queue.read(second[0] as number)).toEqual(incidentOpened('e-3'));
    });

    it('gives a fresh copy on every read', async () => {
      // Prepare
      const [seq] = (await subject.queue.append([entry('e-1', ['timeline'])])) as [number];
      const copy = await subject.queue.read(seq);

      // Act
      (copy as { id: string }).id = 'changed';

      // Assess
      expect((await subject.queue.read(seq)).id).toBe('e-1');
    });

    it('lists per subscription what it has not acknowledged, oldest first', async () => {
      // Prepare
      const seqs = await subject.queue.append([
        entry('e-1', ['timeline', 'dora']),
        entry('e-2', ['timeline']),
        entry('e-3', ['dora']),
      ]);

      // Act
      await takeAndAcknowledge(subject.queue, 'timeline', [seqs[0] as number]);

      // Assess
      expect(await subject.queue.unacknowledged('timeline')).toEqual([seqs[1]]);
      expect(await subject.queue.unacknowledged('dora')).toEqual([seqs[0], seqs[2]]);
      expect(await subject.queue.unacknowledged('reports')).toEqual([]);
      expect(['timeline', 'dora', 'reports'].map((name) => subject.queue.waiting(name))).toEqual([1, 2, 0]);
    });

    it('drops an event once every subscription it was for acknowledged it', async () => {
      // Prepare
      const [seq] = (await subject.queue.append([entry('e-1', ['timeline', 'dora'])])) as [number];

      // Act
      await takeAndAcknowledge(subject.queue, 'timeline', [seq]);
      const readable = await subject.queue.read(seq);
      await takeAndAcknowledge(subject.queue, 'dora', [seq]);

      // Assess
      expect(readable.id).toBe('e-1');
      await expect(subject.queue.read(seq)).rejects.toThrow(/not in the queue/);
    });

    it('ignores an acknowledgement by a subscription the event was not for, or repeated', async () => {
      // Prepare
      const [seq] = (await subject.queue.append([entry('e-1', ['timeline'])])) as [number];
      const [other] = (await subject.queue.append([entry('e-2', ['timeline'])])) as [number];
      await subject.queue.take('timeline', 10);
      await subject.queue.take('dora', 10);

      // Act
      await subject.queue.acknowledge(seq, 'dora');
      await subject.queue.acknowledge(seq + 100, 'timeline');
      await subject.queue.acknowledge(other, 'timeline');
      await subject.queue.acknowledge(other, 'timeline');

      // Assess
      expect(await subject.queue.unacknowledged('timeline')).toEqual([seq]);
      expect(subject.queue.waiting('timeline')).toBe(1);
      expect(subject.queue.waiting('dora')).toBe(0);
    });

    it('hands each subscription its own events in order, each once, at most as many as asked', async () => {
      // Prepare
      const seqs = await subject.queue.append([
        entry('e-1', ['timeline', 'dora']),
        entry('e-2', ['dora']),
        entry('e-3', ['timeline']),
        entry('e-4', ['timeline']),
      ]);

      // Act
      const first = await subject.queue.take('timeline', 2);
      const rest = await subject.queue.take('timeline', 2);
      const none = await subject.queue.take('timeline', 2);
      const dora = await subject.queue.take('dora', 10);
      const [later] = (await subject.queue.append([entry('e-5', ['timeline'])])) as [number];
      const next = await subject.queue.take('timeline', 2);

      // Assess
      expect(first.map((taken) => [taken.seq, taken.event.id])).toEqual([
        [seqs[0], 'e-1'],
        [seqs[2], 'e-3'],
      ]);
      expect(rest.map((taken) => taken.event.id)).toEqual(['e-4']);
      expect(none).toEqual([]);
      expect(dora.map((taken) => taken.event.id)).toEqual(['e-1', 'e-2']);
      expect(next).toEqual([{ seq: later, event: incidentOpened('e-5') }]);
    });

    it('gives each taker its own copy of an event for two subscriptions', async () => {
      // Prepare
      await subject.queue.append([entry('e-1', ['timeline', 'dora'])]);
      const [timeline] = await subject.queue.take('timeline', 1);

      // Act
      (timeline?.event as { id: string }).id = 'changed';
      const [dora] = await subject.queue.take('dora', 1);

      // Assess
      expect(dora?.event.id).toBe('e-1');
    });

    it('keeps nothing of an event that is for no subscription', async () => {
      // Act
      const [seq] = (await subject.queue.append([entry('e-1', [])])) as [number];

      // Assess
      await expect(subject.queue.read(seq)).rejects.toThrow(/not in the queue/);
    });

    it('accepts many concurrent appends, each with its own numbers', async () => {
      // Act
      const all = await Promise.all(
        Array.from({ length: 50 }, (_, i) => subject.queue.append([entry(`e-${i}`, ['timeline'])])),
      );

      // Assess
      const seqs = all.flat();
      expect(new Set(seqs).size).toBe(50);
      expect(await subject.queue.unacknowledged('timeline')).toEqual([...seqs].sort((a, b) => a - b));
      expect((await subject.queue.read(seqs[17] as number)).id).toBe('e-17');
    });

    it('refuses appends once closed', async () => {
      // Act
      await subject.queue.close();

      // Assess
      await expect(subject.queue.append([entry('e-1', ['timeline'])])).rejects.toThrow(/closed/);
    });
  });
}
