import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileEventQueue } from '../../../functions/shared/adapters/local/file-event-queue.js';
import { FsObjectStore } from '../../../functions/shared/adapters/local/fs-object-store.js';
import {
  type DeadLetter,
  InProcessEventBus,
  type InProcessEventBusProps,
} from '../../../functions/shared/adapters/local/in-process-bus.js';
import { MemoryEventQueue } from '../../../functions/shared/adapters/local/memory-event-queue.js';
import { EventPublishError } from '../../../functions/shared/errors.js';
import type { ToillessEvent } from '../../../functions/shared/events/types.js';
import type { EventQueue } from '../../../functions/shared/ports/event-queue.js';
import { type CapturedLog, captureLog } from '../../support/captured-log.js';
import { RecordingClock } from '../../support/recording-clock.js';
import { waitFor } from '../../support/wait.js';

function incidentOpened(id: string, title = 'checkout is slow'): ToillessEvent<'IncidentOpened'> {
  return {
    id,
    type: 'IncidentOpened',
    time: '2026-11-28T09:59:00.000Z',
    detail: {
      incidentId: id,
      title,
      services: ['checkout'],
      severity: 'critical',
      startedAt: '2026-11-28T09:58:00Z',
    },
  };
}

function reportPublished(id: string): ToillessEvent<'ReportPublished'> {
  return {
    id,
    type: 'ReportPublished',
    time: '2026-11-28T09:59:00.000Z',
    detail: { week: '2026-W48', key: 'reports/2026-W48/report.pdf', from: '2026-11-21', to: '2026-11-28' },
  };
}

/** A store rooted at a regular file: it refuses every write. */
async function unwritableStore(dir: string): Promise<FsObjectStore> {
  const file = join(dir, 'not-a-directory');
  await writeFile(file, '');
  return new FsObjectStore(file);
}

/** Subscribes `name` to IncidentOpened with a handler that always throws `message`. */
function subscribeFailing(bus: InProcessEventBus, name = 'timeline', message = 'boom'): void {
  bus.subscribe({
    name,
    types: ['IncidentOpened'],
    handler: async () => {
      throw new Error(message);
    },
  });
}

/** Subscribes `name` to `types`, recording the id of each event it is handed, in order. */
function recordDeliveries(
  bus: InProcessEventBus,
  name = 'timeline',
  types: ToillessEvent['type'][] = ['IncidentOpened'],
): string[] {
  const seen: string[] = [];
  bus.subscribe({ name, types, handler: async (e) => void seen.push(e.id) });
  return seen;
}

/** A promise that stays pending until `open` is called. */
function gate(): { readonly opened: Promise<void>; readonly open: () => void } {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

describe('InProcessEventBus', () => {
  let root: string;
  let store: FsObjectStore;
  let clock: RecordingClock;
  let log: CapturedLog;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'toilless-bus-'));
    store = new FsObjectStore(root);
    clock = new RecordingClock();
    log = captureLog('bus-test');
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  function makeBus(overrides: Partial<InProcessEventBusProps> = {}): InProcessEventBus {
    return new InProcessEventBus({
      store,
      logger: log.logger,
      clock,
      ...overrides,
    });
  }

  it('delivers an event to every subscription of its type and to no other', async () => {
    // Prepare
    const bus = makeBus();
    const seen: string[] = [];
    bus.subscribe({
      name: 'timeline',
      types: ['IncidentOpened'],
      handler: async (e) => void seen.push(`timeline:${e.id}`),
    });
    bus.subscribe({
      name: 'dora',
      types: ['IncidentOpened', 'IncidentResolved'],
      handler: async (e) => void seen.push(`dora:${e.id}`),
    });
    bus.subscribe({
      name: 'reports',
      types: ['ReportPublished'],
      handler: async (e) => void seen.push(`reports:${e.id}`),
    });

    // Act
    await bus.publish([incidentOpened('inc-1')]);
    await bus.idle();

    // Assess
    expect(seen.sort()).toEqual(['dora:inc-1', 'timeline:inc-1']);
    expect(bus.counts).toEqual({ published: 1, delivered: 2, retried: 0, deadLettered: 0 });
  });

  it('delivers after publish has returned, never in the publisher call stack', async () => {
    // Prepare
    const bus = makeBus();
    let handled = false;
    bus.subscribe({
      name: 'timeline',
      types: ['IncidentOpened'],
      handler: async () => {
        handled = true;
      },
    });

    // Act
    await bus.publish([incidentOpened('inc-1')]);
    const handledWhenPublished = handled;
    await bus.idle();

    // Assess
    expect(handledWhenPublished).toBe(false);
    expect(handled).toBe(true);
  });

  it('retries a failing handler with capped exponential backoff until it succeeds', async () => {
    // Prepare
    const bus = makeBus({ baseDelayMs: 200 });
    let calls = 0;
    bus.subscribe({
      name: 'timeline',
      types: ['IncidentOpened'],
      handler: async () => {
        calls++;
        if (calls < 3) throw new Error('Slack answered 503');
      },
    });

    // Act
    await bus.publish([incidentOpened('inc-1')]);
    await bus.idle();

    // Assess
    expect(calls).toBe(3);
    expect(bus.counts).toMatchObject({ delivered: 1, retried: 2, deadLettered: 0 });
    expect(clock.sleeps).toHaveLength(2);
    expect(clock.sleeps[0]).toBeLessThan(200);
    expect(clock.sleeps[1]).toBeLessThan(400);
    const retries = log.records().filter((line) => line['msg'] === 'event handler failed: retrying');
    expect(retries.map((line) => line['attempt'])).toEqual([1, 2]);
    expect(retries[0]).toMatchObject({ subscription: 'timeline', eventId: 'inc-1', level: 'warn' });
  });

  it('spreads retries with full jitter below a cap that never exceeds maxDelayMs', async () => {
    // Prepare
    const bus = makeBus({ maxAttempts: 40, baseDelayMs: 100, maxDelayMs: 1000 });
    bus.subscribe({
      name: 'timeline',
      types: ['IncidentOpened'],
      handler: async () => {
        throw new Error('always');
      },
    });

    // Act
    await bus.publish([incidentOpened('inc-1')]);
    await bus.idle();

    // Assess
    expect(clock.sleeps).toHaveLength(39);
    expect(clock.sleeps.every((ms) => ms >= 0 && ms < 1000)).toBe(true);
    expect(new Set(clock.sleeps.slice(4)).size).toBeGreaterThan(1);
    expect(clock.sleeps.slice(4).some((ms) => ms > 400)).toBe(true);
  });

  it('dead-letters an event after maxAttempts with the last error and logs an error', async () => {
    // Prepare
    const bus = makeBus({ maxAttempts: 3 });
    let calls = 0;
    bus.subscribe({
      name: 'incident-timeline',
      types: ['IncidentOpened'],
      handler: async () => {
        calls++;
        throw new Error(`Loki answered 500 (call ${calls})`);
      },
    });

    // Act
    await bus.publish([incidentOpened('inc-1')]);
    await bus.idle();

    // Assess
    const stored = await store.get('dead-letter/incident-timeline/inc-1.json');
    const letter = JSON.parse(stored?.body.toString('utf8') ?? '{}') as DeadLetter;
    expect(calls).toBe(3);
    expect(letter).toEqual({
      subscription: 'incident-timeline',
      event: incidentOpened('inc-1'),
      attempts: 3,
      error: { name: 'Error', message: 'Loki answered 500 (call 3)' },
      failedAt: '2026-11-28T10:00:00.000Z',
    });
    expect(bus.counts).toMatchObject({ delivered: 0, retried: 2, deadLettered: 1 });
    const errors = log.records().filter((line) => line['level'] === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ key: 'dead-letter/incident-timeline/inc-1.json', attempts: 3 });
  });

  it('encodes event ids that cannot be key segments in the dead-letter key', async () => {
    // Prepare
    const bus = makeBus({ maxAttempts: 1 });
    bus.subscribe({
      name: 'dora-metrics',
      types: ['IncidentOpened'],
      handler: async () => {
        throw 'not an Error';
      },
    });

    // Act
    await bus.publish([incidentOpened('backfill:acme/shop/42')]);
    await bus.idle();

    // Assess
    const stored = await store.get('dead-letter/dora-metrics/backfill%3Aacme%2Fshop%2F42.json');
    expect(JSON.parse(stored?.body.toString('utf8') ?? '{}')).toMatchObject({
      event: { id: 'backfill:acme/shop/42' },
      error: { message: 'not an Error' },
    });
  });

  it('logs the whole event when the dead letter cannot be stored', async () => {
    // Prepare: a store rooted at a regular file refuses every write.
    const bus = makeBus({ maxAttempts: 1, store: await unwritableStore(root) });
    subscribeFailing(bus);

    // Act
    await bus.publish([incidentOpened('inc-1')]);
    await bus.idle();

    // Assess
    const errors = log.records().filter((line) => line['level'] === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ event: { id: 'inc-1', type: 'IncidentOpened' } });
    expect(String(errors[0]?.['msg'])).toMatch(/could not be stored/);
  });

  it('tells its observer of each subscription, each failed attempt and each stored dead letter', async () => {
    // Prepare: one subscription fails twice then succeeds, the other always fails.
    const seen: string[] = [];
    const bus = makeBus({
      maxAttempts: 3,
      observer: {
        subscribed: (name) => seen.push(`subscribed ${name}`),
        attemptFailed: (name, event) => seen.push(`failed ${name} ${event.id}`),
        deadLettered: (name, event) => seen.push(`dead-lettered ${name} ${event.id}`),
      },
    });
    let calls = 0;
    bus.subscribe({
      name: 'flaky',
      types: ['IncidentOpened'],
      handler: async () => {
        if (++calls < 3) throw new Error('Loki answered 503');
      },
    });
    subscribeFailing(bus, 'broken');

    // Act
    await bus.publish([incidentOpened('inc-1')]);
    await bus.idle();

    // Assess
    expect(seen.slice(0, 2)).toEqual(['subscribed flaky', 'subscribed broken']);
    expect(seen.slice(2).sort()).toEqual([
      'dead-lettered broken inc-1',
      'failed broken inc-1',
      'failed broken inc-1',
      'failed broken inc-1',
      'failed flaky inc-1',
      'failed flaky inc-1',
    ]);
  });

  it('does not count a dead letter it could not store, and survives an observer that throws', async () => {
    // Prepare: a store rooted at a regular file refuses every write; the observer itself is broken.
    const seen: string[] = [];
    const bus = makeBus({
      maxAttempts: 2,
      store: await unwritableStore(root),
      observer: {
        attemptFailed: (name) => {
          seen.push(`failed ${name}`);
          throw new Error('observer defect');
        },
        deadLettered: (name) => seen.push(`dead-lettered ${name}`),
      },
    });
    subscribeFailing(bus);

    // Act
    await bus.publish([incidentOpened('inc-1')]);
    await bus.idle();

    // Assess: both attempts ran despite the observer's throw; the unstored letter is not counted.
    expect(seen).toEqual(['failed timeline', 'failed timeline']);
    expect(bus.counts).toMatchObject({ retried: 1 });
    expect(log.records().some((line) => line['msg'] === 'delivery observer threw')).toBe(true);
  });

  it('runs deliveries of different events concurrently', async () => {
    // Prepare: each handler waits for the other to start; one at a time would never finish.
    const bus = makeBus({ maxAttempts: 1 });
    const started: string[] = [];
    const bothStarted = gate();
    bus.subscribe({
      name: 'timeline',
      types: ['IncidentOpened'],
      handler: async (event) => {
        started.push(event.id);
        if (started.length === 2) bothStarted.open();
        await bothStarted.opened;
      },
    });

    // Act
    await bus.publish([incidentOpened('inc-1'), incidentOpened('inc-2')]);
    await bus.idle();

    // Assess
    expect(started.sort()).toEqual(['inc-1', 'inc-2']);
    expect(bus.counts.delivered).toBe(2);
  });

  it('waits in idle() for events that handlers publish in turn', async () => {
    // Prepare
    const bus = makeBus();
    bus.subscribe({
      name: 'timeline',
      types: ['IncidentOpened'],
      handler: async (event) => bus.publish([reportPublished(`report-for-${event.id}`)]),
    });
    const reports = recordDeliveries(bus, 'reports', ['ReportPublished']);

    // Act
    await bus.publish([incidentOpened('inc-1')]);
    await bus.idle();

    // Assess
    expect(reports).toEqual(['report-for-inc-1']);
  });

  it('gives each subscription its own copy of the event', async () => {
    // Prepare
    const bus = makeBus();
    const titles: string[] = [];
    const event = incidentOpened('inc-1');
    const mutate = async (e: ToillessEvent) => {
      if (e.type === 'IncidentOpened') {
        titles.push(e.detail.title);
        (e.detail as { title: string }).title = 'changed';
      }
    };
    bus.subscribe({ name: 'first', types: ['IncidentOpened'], handler: mutate });
    bus.subscribe({ name: 'second', types: ['IncidentOpened'], handler: mutate });

    // Act
    await bus.publish([event]);
    (event.detail as { title: string }).title = 'changed by the publisher';
    await bus.idle();

    // Assess
    expect(titles).toEqual(['checkout is slow', 'checkout is slow']);
  });

  it.each([
    ['an unknown type', { ...incidentOpened('inc-1'), type: 'IncidentReopened' }],
    ['an empty id', { ...incidentOpened('inc-1'), id: '' }],
    ['a time that is not ISO 8601', { ...incidentOpened('inc-1'), time: 'yesterday' }],
    ['no detail', { ...incidentOpened('inc-1'), detail: undefined }],
  ])('refuses a batch holding an event with %s and delivers none of it', async (_what, bad) => {
    // Prepare
    const bus = makeBus();
    const seen = recordDeliveries(bus);

    // Act
    const attempt = bus.publish([incidentOpened('good'), bad as unknown as ToillessEvent]);

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(EventPublishError);
    await expect(attempt).rejects.toThrow(/event 1 was refused/);
    await bus.idle();
    expect(seen).toEqual([]);
    expect(bus.counts.published).toBe(0);
  });

  it('refuses an event larger than EventBridge accepts', async () => {
    // Prepare
    const bus = makeBus();
    const huge = incidentOpened('inc-huge', 'x'.repeat(300 * 1024));

    // Act
    const attempt = bus.publish([huge]);

    // Assess
    await expect(attempt).rejects.toMatchObject({ failedEventIds: ['inc-huge'] });
    await expect(attempt).rejects.toThrow(/over EventBridge's 256 KB/);
  });

  it('on close() refuses new events, finishes accepted ones and their follow-ups', async () => {
    // Prepare
    const bus = makeBus();
    const slow = gate();
    bus.subscribe({
      name: 'timeline',
      types: ['IncidentOpened'],
      handler: async (event) => {
        await slow.opened;
        await bus.publish([reportPublished(`report-for-${event.id}`)]);
      },
    });
    const reports = recordDeliveries(bus, 'reports', ['ReportPublished']);
    await bus.publish([incidentOpened('inc-1')]);

    // Act
    const closed = bus.close();
    const late = await bus.publish([incidentOpened('inc-2')]).catch((error: unknown) => error);
    slow.open();
    await closed;

    // Assess
    expect(late).toBeInstanceOf(EventPublishError);
    expect(String(late)).toMatch(/shutting down/);
    expect(reports).toEqual(['report-for-inc-1']);
    expect(bus.counts).toMatchObject({ delivered: 2, deadLettered: 0 });
  });

  it('refuses a second subscription with the same name and unknown event types', () => {
    // Prepare
    const bus = makeBus();
    const handler = async () => {};
    bus.subscribe({ name: 'timeline', types: ['IncidentOpened'], handler });

    // Act
    const duplicate = () => bus.subscribe({ name: 'timeline', types: ['IncidentResolved'], handler });
    const unknown = () =>
      bus.subscribe({ name: 'other', types: ['IncidentReopened' as ToillessEvent['type']], handler });

    // Assess
    expect(duplicate).toThrow(/names must be unique/);
    expect(unknown).toThrow(/unknown event types: IncidentReopened/);
  });
});

describe('InProcessEventBus over its queue', () => {
  let root: string;
  let store: FsObjectStore;
  let log: CapturedLog;
  const queues: FileEventQueue[] = [];

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'toilless-bus-queue-'));
    store = new FsObjectStore(join(root, 'store'));
    log = captureLog('bus-test');
  });

  afterEach(async () => {
    for (const queue of queues.splice(0)) await queue.close();
    await rm(root, { recursive: true, force: true });
  });

  async function openQueue(): Promise<FileEventQueue> {
    const queue = await FileEventQueue.open(join(root, 'queue'), { logger: log.logger });
    queues.push(queue);
    return queue;
  }

  function makeBus(queue: EventQueue, overrides: Partial<InProcessEventBusProps> = {}): InProcessEventBus {
    return new InProcessEventBus({
      store,
      logger: log.logger,
      clock: new RecordingClock(),
      queue,
      ...overrides,
    });
  }

  it('runs at most maxConcurrentDeliveries handlers of a subscription at once, taking no more from the queue', async () => {
    // Prepare
    const queue = new MemoryEventQueue();
    const takes: number[] = [];
    const take = queue.take.bind(queue);
    queue.take = async (subscription, max) => {
      takes.push(max);
      return take(subscription, max);
    };
    const bus = makeBus(queue, { maxConcurrentDeliveries: 3 });
    let running = 0;
    let most = 0;
    const seen: string[] = [];
    bus.subscribe({
      name: 'timeline',
      types: ['IncidentOpened'],
      handler: async (event) => {
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        seen.push(event.id);
        running--;
      },
    });

    // Act
    await Promise.all(Array.from({ length: 20 }, (_, i) => bus.publish([incidentOpened(`inc-${i}`)])));
    await bus.idle();

    // Assess
    expect(most).toBe(3);
    expect(seen.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `inc-${i}`).sort());
    expect(Math.max(...takes)).toBe(3);
    expect(await queue.unacknowledged('timeline')).toEqual([]);
  });

  it('on close() with a durable queue finishes the deliveries under way and leaves the backlog for the next start', async () => {
    // Prepare: one delivery at a time, held open, with nine more waiting behind it.
    const firstQueue = await openQueue();
    const first = makeBus(firstQueue, { maxConcurrentDeliveries: 1 });
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const delivered: string[] = [];
    first.subscribe({
      name: 'timeline',
      types: ['IncidentOpened'],
      handler: async (event) => {
        await held;
        delivered.push(event.id);
      },
    });
    await first.publish(Array.from({ length: 10 }, (_, i) => incidentOpened(`inc-${i}`)));
    await waitFor(async () => (first.counts.published === 10 ? true : undefined), {
      timeoutMs: 5_000,
      intervalMs: 5,
      description: 'the events to be accepted',
    });

    // Act
    const closed = first.close();
    release();
    await closed;
    const second = makeBus(await openQueue());
    const replayed: string[] = [];
    second.subscribe({
      name: 'timeline',
      types: ['IncidentOpened'],
      handler: async (event) => void replayed.push(event.id),
    });
    second.replay();
    await second.idle();

    // Assess: the one under way finished; the rest waited on disk and came with the next start.
    expect(delivered).toEqual(['inc-0']);
    expect(replayed.sort()).toEqual(Array.from({ length: 9 }, (_, i) => `inc-${i + 1}`).sort());
  });

  it('delivers again after a crash what a subscription had not finished, and nothing it had', async () => {
    // Prepare: the first run finishes inc-1, dead-letters inc-2 and is killed while inc-3 runs.
    const firstQueue = await openQueue();
    const first = makeBus(firstQueue, { maxAttempts: 1 });
    const inc3Started = gate();
    first.subscribe({
      name: 'timeline',
      types: ['IncidentOpened'],
      handler: async (event) => {
        if (event.id === 'inc-2') throw new Error('Loki answered 500');
        if (event.id === 'inc-3') {
          inc3Started.open();
          await new Promise(() => {});
        }
      },
    });
    await first.publish([incidentOpened('inc-1'), incidentOpened('inc-2'), incidentOpened('inc-3')]);
    await inc3Started.opened;
    await waitFor(async () => (firstQueue.waiting('timeline') === 1 ? true : undefined), {
      timeoutMs: 5_000,
      intervalMs: 5,
      description: 'inc-1 and inc-2 to be acknowledged',
    });

    // Act
    const second = makeBus(await openQueue());
    const replayed = recordDeliveries(second);
    const beforeReplay = [...replayed];
    second.replay();
    await second.idle();

    // Assess
    expect(beforeReplay).toEqual([]);
    expect(replayed).toEqual(['inc-3']);
    expect(await store.get('dead-letter/timeline/inc-2.json')).toBeDefined();
  });

  it('replays only once told, so that follow-up events reach subscriptions made after the first one', async () => {
    // Prepare: inc-1 was accepted by a run that crashed before delivering it.
    const firstQueue = await openQueue();
    const first = makeBus(firstQueue);
    first.subscribe({ name: 'timeline', types: ['IncidentOpened'], handler: () => new Promise(() => {}) });
    await first.publish([incidentOpened('inc-1')]);
    const second = makeBus(await openQueue());
    second.subscribe({
      name: 'timeline',
      types: ['IncidentOpened'],
      handler: async (event) => second.publish([reportPublished(`report-for-${event.id}`)]),
    });
    await new Promise((resolve) => setTimeout(resolve, 20));

    // Act: the next subscription is made a little later, as the local runtime does.
    const reports = recordDeliveries(second, 'reports', ['ReportPublished']);
    second.replay();
    await second.idle();

    // Assess
    expect(reports).toEqual(['report-for-inc-1']);
  });

  it('keeps an event whose dead letter could not be stored for the next start', async () => {
    // Prepare: a store rooted at a regular file refuses every write.
    const queue = await openQueue();
    const bus = makeBus(queue, { maxAttempts: 1, store: await unwritableStore(root) });
    subscribeFailing(bus);

    // Act
    await bus.publish([incidentOpened('inc-1')]);
    await bus.idle();

    // Assess
    expect(await queue.unacknowledged('timeline')).toHaveLength(1);
    expect(queue.waiting('timeline')).toBe(1);
  });

  it('refuses the publish when the queue cannot take the events, and delivers none of them', async () => {
    // Prepare
    const queue = new MemoryEventQueue();
    queue.append = async () => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    };
    const bus = makeBus(queue);
    const seen = recordDeliveries(bus);

    // Act
    const attempt = bus.publish([incidentOpened('inc-1')]);

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(EventPublishError);
    await expect(attempt).rejects.toThrow(/could not be written to the queue \(ENOSPC/);
    await bus.idle();
    expect(seen).toEqual([]);
    expect(bus.counts.published).toBe(0);
  });

  it('refuses a concurrency below one', () => {
    expect(() => makeBus(new MemoryEventQueue(), { maxConcurrentDeliveries: 0 })).toThrow(
      /maxConcurrentDeliveries must be a whole number of at least 1/,
    );
  });
});
