import { describe, expect, it } from 'vitest';
import { ConcurrencyLimit, type Release } from '../../../functions/shared/concurrency-limit.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('ConcurrencyLimit', () => {
  it('never lets more than the limit hold a slot at once', async () => {
    const limit = new ConcurrencyLimit(3);
    let running = 0;
    let most = 0;

    await Promise.all(
      Array.from({ length: 40 }, (_, index) =>
        limit.run(async () => {
          running += 1;
          most = Math.max(most, running);
          await new Promise((resolve) => setTimeout(resolve, index % 3));
          running -= 1;
        }),
      ),
    );

    expect(most).toBe(3);
    expect(limit.peak).toBe(3);
    expect(limit.inFlight).toBe(0);
    expect(limit.waiting).toBe(0);
  });

  it('serves waiters by priority, then in arrival order', async () => {
    const limit = new ConcurrencyLimit(1);
    const first = await limit.acquire();
    const order: string[] = [];
    const waiters = [
      ['late-a', 5],
      ['early', 1],
      ['late-b', 5],
      ['middle', 3],
      ['early-2', 1],
    ] as const;
    const granted = waiters.map(([name, priority]) =>
      limit.acquire({ priority }).then((release) => {
        order.push(name);
        release();
      }),
    );

    first();
    await Promise.all(granted);

    expect(order).toEqual(['early', 'early-2', 'middle', 'late-a', 'late-b']);
  });

  it('drops a waiter whose signal aborts, which then never takes a slot', async () => {
    const limit = new ConcurrencyLimit(1);
    const held = await limit.acquire();
    const controller = new AbortController();
    const gaveUp = limit.acquire({ signal: controller.signal });
    const next = limit.acquire();

    controller.abort(new Error('budget spent'));

    await expect(gaveUp).rejects.toThrow('budget spent');
    expect(limit.waiting).toBe(1);
    held();
    const release = await next;
    expect(limit.inFlight).toBe(1);
    release();
    expect(limit.inFlight).toBe(0);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const limit = new ConcurrencyLimit(2);

    await expect(limit.acquire({ signal: AbortSignal.abort(new Error('late')) })).rejects.toThrow('late');
    expect(limit.inFlight).toBe(0);
  });

  it('gives a slot back once however often release is called', async () => {
    const limit = new ConcurrencyLimit(1);
    const release = await limit.acquire();
    const waiting: Release[] = [];
    void limit.acquire().then((r) => waiting.push(r));
    void limit.acquire().then((r) => waiting.push(r));

    release();
    release();
    await tick();

    expect(waiting).toHaveLength(1);
    expect(limit.inFlight).toBe(1);
  });

  it('keeps the queue ordered when waiters leave from its middle', async () => {
    const limit = new ConcurrencyLimit(1);
    const held = await limit.acquire();
    const controllers = Array.from({ length: 20 }, () => new AbortController());
    const order: number[] = [];
    const all = controllers.map((controller, index) =>
      limit
        .acquire({ priority: (index * 7) % 20, signal: controller.signal })
        .then((release) => {
          order.push((index * 7) % 20);
          release();
        })
        .catch(() => undefined),
    );
    for (const index of [3, 11, 0, 17]) controllers[index]?.abort();

    held();
    await Promise.all(all);

    expect(order).toHaveLength(16);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it('refuses a limit below 1 with the setting in the message', () => {
    expect(() => new ConcurrencyLimit(0, 'incidents.concurrency.loki')).toThrow(
      'incidents.concurrency.loki must be a whole number of at least 1, got 0',
    );
  });
});
