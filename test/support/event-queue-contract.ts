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
      await subject.queue.acknowledge(seqs[0] as number, 'timeline');

      // Assess
      expect(subject.queue.unacknowledged('timeline')).toEqual([seqs[1]]);
      expect(subject.queue.unacknowledged('dora')).toEqual([seqs[0], seqs[2]]);
      expect(subject.queue.unacknowledged('reports')).toEqual([]);
    });

    it('drops an event once every subscription it was for acknowledged it', async () => {
      // Prepare
      const [seq] = (await subject.queue.append([entry('e-1', ['timeline', 'dora'])])) as [number];

      // Act
      await subject.queue.acknowledge(seq, 'timeline');
      const readable = await subject.queue.read(seq);
      await subject.queue.acknowledge(seq, 'dora');

      // Assess
      expect(readable.id).toBe('e-1');
      await expect(subject.queue.read(seq)).rejects.toThrow(/not in the queue/);
    });

    it('ignores an acknowledgement by a subscription the event was not for, or repeated', async () => {
      // Prepare
      const [seq] = (await subject.queue.append([entry('e-1', ['timeline'])])) as [number];

      // Act
      await subject.queue.acknowledge(seq, 'dora');
      await subject.queue.acknowledge(seq + 100, 'timeline');

      // Assess
      expect(subject.queue.unacknowledged('timeline')).toEqual([seq]);
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
      expect(subject.queue.unacknowledged('timeline')).toEqual([...seqs].sort((a, b) => a - b));
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
