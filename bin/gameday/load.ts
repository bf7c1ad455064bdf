/**
 * HTTP load on the sample app: a fixed number of requests in flight, each started when the previous
 * one of its lane finishes, until stopped, the time limit passes or the signal aborts.
 */

export interface LoadRun {
  /** Stops starting requests and cancels those in flight; resolves once every lane has ended. */
  stop(): Promise<void>;
  readonly stats: { sent: number; ok: number; failed: number; lastError?: string };
}

export function startLoad(options: {
  /** The URL each request GETs. */
  readonly url: string;
  /** Requests in flight at once. */
  readonly concurrency: number;
  /** The longest the load may last, in milliseconds. */
  readonly maxMs: number;
  /** Per-request time limit. */
  readonly requestTimeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  readonly fetch?: typeof fetch | undefined;
}): LoadRun {
  const doFetch = options.fetch ?? globalThis.fetch;
  const halt = new AbortController();
  const onAbort = () => halt.abort();
  if (options.signal?.aborted) halt.abort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => halt.abort(), Math.max(0, options.maxMs));
  timer.unref?.();
  const stats: LoadRun['stats'] = { sent: 0, ok: 0, failed: 0 };

  async function lane(): Promise<void> {
    while (!halt.signal.aborted) {
      stats.sent += 1;
      try {
        const response = await doFetch(options.url, {
          redirect: 'error',
          signal: AbortSignal.any([halt.signal, AbortSignal.timeout(options.requestTimeoutMs)]),
        });
        await response.arrayBuffer();
        if (response.ok) stats.ok += 1;
        else {
          stats.failed += 1;
          stats.lastError = `HTTP ${response.status}`;
        }
      } catch (error) {
        if (halt.signal.aborted) break;
        stats.failed += 1;
        stats.lastError = (error as Error).message.slice(0, 200);
        // A refused connection fails at once: do not spin on it.
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  const lanes = Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, lane));
  return {
    stats,
    async stop() {
      halt.abort();
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      await lanes;
    },
  };
}
