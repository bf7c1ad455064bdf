import { createHook } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import { getJson } from '../../../functions/shared/clients/http-json.js';

/** Runs `act` and answers how many timers it started are still pending afterwards. */
async function timersLeftBy(act: () => Promise<unknown>): Promise<number> {
  const pending = new Set<number>();
  const hook = createHook({
    init(id, type) {
      if (type === 'Timeout') pending.add(id);
    },
    destroy(id) {
      pending.delete(id);
    },
  }).enable();
  try {
    await act().catch(() => undefined);
    // Destroy hooks of cleared timers run on a later turn.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    hook.disable();
  }
  return pending.size;
}

describe('getJson timers', () => {
  const url = new URL('http://prometheus.test/api/v1/query');

  it('leaves no timer behind once the answer is read, so nothing of the caller stays reachable', async () => {
    // Act
    const left = await timersLeftBy(() =>
      getJson(url, {
        service: 'prometheus',
        timeoutMs: 60_000,
        fetch: async () => new Response('{"status":"success"}', { status: 200 }),
      }),
    );

    // Assess
    expect(left).toBe(0);
  });

  it('leaves no timer behind when the request fails', async () => {
    // Act
    const left = await timersLeftBy(() =>
      getJson(url, {
        service: 'prometheus',
        timeoutMs: 60_000,
        fetch: async () => {
          throw new TypeError('fetch failed', {
            cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
          });
        },
      }),
    );

    // Assess
    expect(left).toBe(0);
  });

  it('still says when the time limit ran out', async () => {
    // Act
    const failure = await getJson(url, {
      service: 'prometheus',
      timeoutMs: 20,
      fetch: (_input, init) =>
        new Promise((_resolve, reject) =>
          init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)),
        ),
    }).catch((error: unknown) => error);

    // Assess
    expect(String(failure)).toMatch(/timed out after 20 ms/);
  });
});
