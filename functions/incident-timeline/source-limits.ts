/**
 * Alert storms: one ConcurrencyLimit per evidence source, shared by every incident the runtime builds,
 * so hundreds of incidents opened at once never put more than incidents.concurrency.<source> requests
 * in flight against Prometheus, Loki, Tempo or the deploy index. Requests wait in incident order: the
 * incident that started gathering first is served first, so under a storm the early incidents get
 * their evidence whole and the late ones run into their time limit, rather than all of them partly.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ConcurrencyLimit } from '../shared/concurrency-limit.js';
import type { ObjectStore } from '../shared/ports/object-store.js';
import type { BoundedEvidenceSource } from '../shared/stack-config.js';

/** Who is asking: set around one source of one incident, read by the limited fetch and store. */
export interface SourceTurn {
  /** Lower is served first: the incident's place in arrival order. */
  readonly priority: number;
  /** Requests of this turn waiting for a slot now. */
  waiting: number;
  /** Called when a request of this turn gets a slot. */
  readonly onSlot?: () => void;
}

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

export class EvidenceLimits {
  readonly limits: Readonly<Record<BoundedEvidenceSource, ConcurrencyLimit>>;
  private readonly turns = new AsyncLocalStorage<SourceTurn>();
  private arrivals = 0;

  constructor(bounds: Readonly<Record<BoundedEvidenceSource, number>>) {
    this.limits = {
      prometheus: new ConcurrencyLimit(bounds.prometheus, 'incidents.concurrency.prometheus'),
      loki: new ConcurrencyLimit(bounds.loki, 'incidents.concurrency.loki'),
      tempo: new ConcurrencyLimit(bounds.tempo, 'incidents.concurrency.tempo'),
      deployments: new ConcurrencyLimit(bounds.deployments, 'incidents.concurrency.deployments'),
    };
  }

  /** The next incident's place in the queue. */
  nextPriority(): number {
    return this.arrivals++;
  }

  /** Runs `task` as one source's turn: its requests wait behind those of earlier incidents only. */
  withTurn<T>(turn: SourceTurn, task: () => Promise<T>): Promise<T> {
    return this.turns.run(turn, task);
  }

  /** A fetch that holds a slot of `source` from the request until its body is read, cancelled or failed. */
  fetchFor(source: BoundedEvidenceSource, fetchImpl: typeof fetch = globalThis.fetch): typeof fetch {
    const limit = this.limits[source];
    return async (input, init) => {
      const signal = init?.signal ?? undefined;
      const release = await this.acquire(limit, signal);
      let response: Response;
      try {
        response = await fetchImpl(input, init);
      } catch (error) {
        release();
        throw error;
      }
      if (response.body === null || NULL_BODY_STATUSES.has(response.status)) {
        release();
        return response;
      }
      // A body nobody reads would hold the slot: the request's signal ends it too.
      signal?.addEventListener('abort', release, { once: true });
      const done = () => {
        signal?.removeEventListener('abort', release);
        release();
      };
      return new Response(releasingBody(response.body, done), {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    };
  }

  /** The store with its reads (get, list) taking a slot of `deployments`; writes pass through. */
  storeFor(store: ObjectStore): ObjectStore {
    const limit = this.limits.deployments;
    return {
      get: async (key) => {
        const release = await this.acquire(limit, undefined);
        try {
          return await store.get(key);
        } finally {
          release();
        }
      },
      list: (prefix) => this.limitedList(limit, store, prefix),
      put: (key, body, options) => store.put(key, body, options),
      putIfAbsent: (key, body, options) => store.putIfAbsent(key, body, options),
      delete: (key) => store.delete(key),
    };
  }

  private async *limitedList(limit: ConcurrencyLimit, store: ObjectStore, prefix: string) {
    const release = await this.acquire(limit, undefined);
    const keys: string[] = [];
    try {
      for await (const key of store.list(prefix)) keys.push(key);
    } finally {
      release();
    }
    yield* keys;
  }

  private async acquire(limit: ConcurrencyLimit, signal: AbortSignal | undefined) {
    const turn = this.turns.getStore();
    if (turn) turn.waiting += 1;
    try {
      const release = await limit.acquire({
        // Work outside any incident's turn (none today) goes last.
        priority: turn?.priority ?? Number.MAX_SAFE_INTEGER,
        signal,
      });
      turn?.onSlot?.();
      return release;
    } finally {
      if (turn) turn.waiting -= 1;
    }
  }
}

/** The same bytes, calling `done` once when the stream ends, fails or is cancelled. */
function releasingBody(body: ReadableStream<Uint8Array>, done: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const chunk = await reader.read();
        if (chunk.done) {
          done();
          controller.close();
        } else {
          controller.enqueue(chunk.value);
        }
      } catch (error) {
        done();
        controller.error(error);
      }
    },
    async cancel(reason) {
      done();
      await reader.cancel(reason);
    },
  });
}
