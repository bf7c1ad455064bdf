/**
 * CPU pressure on this machine: one worker thread per core spinning until stopped, the time limit
 * passes or the signal aborts. Each worker checks a shared flag every few milliseconds, so it stops
 * within moments; terminate() ends any that did not.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

export interface CpuBurn {
  /** Stops every worker; resolves once they have all exited. Safe to call twice. */
  stop(): Promise<void>;
  /** How many workers burn. */
  readonly threads: number;
  /** Resolves when every worker has exited (stopped, timed out or aborted). */
  readonly finished: Promise<void>;
}

/** Spins in slices of about 5 ms, checking the stop flag (Atomics) and the time limit between them. */
const BURN_SOURCE = `
const { workerData } = require('node:worker_threads');
const flag = new Int32Array(workerData.stop);
const until = workerData.until;
let x = 0;
while (Atomics.load(flag, 0) === 0 && Date.now() < until) {
  const slice = Date.now() + 5;
  while (Date.now() < slice) x = (x * 1103515245 + 12345) | 0;
}
`;

export function startCpuBurn(options: {
  /** The longest the burn may last, in milliseconds. */
  readonly maxMs: number;
  readonly signal?: AbortSignal | undefined;
  /** @default every core (os.availableParallelism()) */
  readonly threads?: number;
}): CpuBurn {
  const threads = Math.max(1, options.threads ?? availableParallelism());
  const stopFlag = new Int32Array(new SharedArrayBuffer(4));
  const until = Date.now() + Math.max(0, options.maxMs);
  const workers = Array.from(
    { length: threads },
    () => new Worker(BURN_SOURCE, { eval: true, workerData: { stop: stopFlag.buffer, until } }),
  );
  const finished = Promise.all(
    workers.map((worker) => new Promise<void>((resolve) => worker.once('exit', () => resolve()))),
  ).then(() => undefined);
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      Atomics.store(stopFlag, 0, 1);
      options.signal?.removeEventListener('abort', onAbort);
      // A worker that has not exited a second after the flag was raised is terminated.
      const timer = setTimeout(() => {
        for (const worker of workers) void worker.terminate();
      }, 1000);
      await finished;
      clearTimeout(timer);
    })();
    return stopping;
  };
  const onAbort = () => void stop();
  if (options.signal?.aborted) void stop();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  return { stop, threads, finished };
}
