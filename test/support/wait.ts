/** How long and how often {@link waitFor} probes. */
export interface WaitOptions {
  /** Give up after this long. */
  readonly timeoutMs: number;
  /** Pause between probes. @default 100 */
  readonly intervalMs?: number;
  /** What is awaited, for the timeout message ("Prometheus to evaluate rule X"). */
  readonly description: string;
  /** Stops waiting early; the returned promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * Probes until it returns a value other than undefined. A probe that throws counts as "not yet";
 * its last error is reported if the wait times out.
 */
export async function waitFor<T>(probe: () => Promise<T | undefined>, options: WaitOptions): Promise<T> {
  const { timeoutMs, intervalMs = 100, description, signal } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    signal?.throwIfAborted();
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    signal?.throwIfAborted();
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      const last = lastError === undefined ? '' : `; last error: ${describeError(lastError)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}${last}`, {
        cause: lastError,
      });
    }
    await pause(Math.min(intervalMs, remaining), signal);
  }
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolveWait) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolveWait();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // fetch hides the socket error (ECONNREFUSED...) in cause.
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${error.message}${cause}`;
}
