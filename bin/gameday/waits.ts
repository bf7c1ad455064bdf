/**
 * Polling with a deadline: what every expectation waits with. The clock is a port, so tests run the
 * waits in no time; the signal stops a wait at once (SIGINT, the caller's abort).
 */
import type { Clock } from '../../functions/shared/ports/clock.js';

/** What a wait saw: the value and when, or that the deadline passed (with the last thing observed). */
export type WaitOutcome<T> =
  | { readonly kind: 'seen'; readonly value: T; readonly at: Date }
  | { readonly kind: 'timed-out'; readonly after: number; readonly lastSeen: string }
  | { readonly kind: 'aborted'; readonly lastSeen: string };

export interface WaitOptions {
  readonly clock: Clock;
  /** Milliseconds from the wait's start. */
  readonly deadlineMs: number;
  readonly pollMs: number;
  readonly signal: AbortSignal;
}

/** One look: the value when it is there, otherwise what was seen instead (for the report). */
export type Probe<T> = () => Promise<{ readonly value: T } | { readonly seen: string }>;

/**
 * Calls `probe` every pollMs until it yields a value, the deadline passes or the signal aborts. A probe
 * that throws (the endpoint is down for a moment) counts as a miss whose error is what was seen.
 */
export async function waitFor<T>(probe: Probe<T>, options: WaitOptions): Promise<WaitOutcome<T>> {
  const { clock, signal } = options;
  const started = clock.now().getTime();
  let lastSeen = 'nothing yet';
  for (;;) {
    if (signal.aborted) return { kind: 'aborted', lastSeen };
    try {
      const look = await probe();
      if ('value' in look) return { kind: 'seen', value: look.value, at: clock.now() };
      lastSeen = look.seen;
    } catch (error) {
      lastSeen = `error: ${(error as Error).message}`.slice(0, 500);
    }
    if (signal.aborted) return { kind: 'aborted', lastSeen };
    const elapsed = clock.now().getTime() - started;
    if (elapsed >= options.deadlineMs) return { kind: 'timed-out', after: elapsed, lastSeen };
    await abortableSleep(clock, Math.min(options.pollMs, options.deadlineMs - elapsed), signal);
  }
}

/** The clock's sleep, cut short by the signal. */
export async function abortableSleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<void>((resolve) => {
    onAbort = resolve;
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([clock.sleep(ms), aborted]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
