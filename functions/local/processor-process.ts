/**
 * The processors in a process of their own, so that webhook answers never wait behind their work. A
 * timeline build, a DORA recomputation or a report's PDF runs on its own event loop, heap and libuv
 * thread pool (the intake's queue flush would otherwise wait in line behind the processors' file writes),
 * and on Linux at a lower CPU priority (nice 10): when the cores are short the intake is served first
 * and the processors take what is left. The durable queue and the bus stay with the intake; each delivery
 * crosses to the processors as a message and its outcome comes back, so a handler that throws is retried
 * and dead-lettered exactly as in one process.
 *
 * The processors' heap is capped (`heapLimitMb`): a processor that outgrows it ends its process, not the
 * server. The deliveries under way fail (the bus retries them) and the next delivery starts it again.
 * The process ends with the server, also when the server is killed (its IPC channel closes).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ProcessorName } from '../manifests.js';
import { ConfigurationError } from '../shared/errors.js';
import type { ToillessEvent } from '../shared/events/types.js';
import type { Logger } from '../shared/log.js';
import type { WorkerSignals } from '../shared/workers/composition.js';
import type { LocalProcessors } from './local-processors.js';

/** What the processors' process is started with (its first message). */
export interface ProcessorProcessData {
  readonly dataDir: string;
  /** The environment the runtime reads configuration and secrets from. */
  readonly env: Readonly<Record<string, string>>;
  readonly stackConfigDir: string;
  /** pino level of its log lines (same stdout as the server's). */
  readonly logLevel: string;
}

/** The cloneable form of an error that crosses the process boundary. */
export interface CrossingError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
}

/** Server -> processors. */
export type ToProcessors =
  | { readonly type: 'start'; readonly data: ProcessorProcessData }
  | {
      readonly type: 'deliver';
      readonly id: number;
      readonly processor: ProcessorName;
      readonly event: ToillessEvent;
    }
  | { readonly type: 'schedule'; readonly id: number; readonly name: string }
  | { readonly type: 'published'; readonly id: number; readonly error: CrossingError | undefined }
  | { readonly type: 'stop-schedules' };

/** Processors -> server. */
export type FromProcessors =
  | { readonly type: 'ready' }
  | { readonly type: 'startup-failed'; readonly error: CrossingError }
  | { readonly type: 'done'; readonly id: number; readonly error: CrossingError | undefined }
  | { readonly type: 'publish'; readonly id: number; readonly events: readonly ToillessEvent[] }
  | { readonly type: 'signal'; readonly source: string }
  | { readonly type: 'memory'; readonly rss: number; readonly heapUsed: number; readonly heapTotal: number };

export interface ProcessorProcessOptions extends ProcessorProcessData {
  /** Lifecycle lines of the process (restarted, stopped). */
  readonly logger: Logger;
  /** Publishes the processors' follow-up events (IncidentOpened, IncidentResolved, ...). */
  readonly publish: (events: readonly ToillessEvent[]) => Promise<void>;
  readonly signals: WorkerSignals;
  /** The processors' V8 heap limit (--max-old-space-size). @default 512 */
  readonly heapLimitMb?: number;
  /** On Linux the processors run at this nice value. @default 10 */
  readonly nice?: number;
  /** Told the processors' memory every few seconds (for /metrics). */
  readonly onMemory?: (memory: ProcessorsMemory) => void;
}

export interface ProcessorsMemory {
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
}

/** How long close() waits for the process to end before killing it. */
const STOP_TIMEOUT_MS = 5_000;
/** The JS entry point: it lowers its priority, registers the TypeScript loader, then loads the host. */
const ENTRY = fileURLToPath(new URL('./processor-process-entry.js', import.meta.url));

interface Running {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly calls: AwaitedReplies;
  exited: boolean;
  /** Every processor was composed: a later exit is a crash worth logging. */
  started: boolean;
}

/** Starts the processors' process and resolves once every processor is composed (or rejects with why not). */
export async function startProcessorProcess(options: ProcessorProcessOptions): Promise<LocalProcessors> {
  const host = new ProcessorProcessHost(options);
  await host.start();
  return host;
}

class ProcessorProcessHost implements LocalProcessors {
  private running: Running | undefined;
  private closed = false;
  private starts = 0;

  constructor(private readonly options: ProcessorProcessOptions) {}

  async start(): Promise<void> {
    await this.process();
  }

  deliver(processor: ProcessorName, event: ToillessEvent): Promise<void> {
    return this.call((id) => ({ type: 'deliver', id, processor, event }));
  }

  runSchedule(name: string): Promise<void> {
    return this.call((id) => ({ type: 'schedule', id, name }));
  }

  pid(): number | undefined {
    const running = this.running;
    return running && !running.exited ? running.child.pid : undefined;
  }

  stopSchedules(): void {
    const running = this.running;
    if (running && !running.exited) send(running.child, { type: 'stop-schedules' });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const running = this.running;
    if (!running || running.exited) return;
    const exited = new Promise<void>((resolve) => running.child.once('exit', () => resolve()));
    // Whatever still runs there (a schedule) is cut short: its next run does its work again.
    running.child.kill('SIGTERM');
    const timer = setTimeout(() => running.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }

  private async call(message: (id: number) => ToProcessors): Promise<void> {
    if (this.closed) throw new Error('the processors are stopped');
    const running = await this.process();
    if (running.exited) {
      throw new Error('the processors stopped before this could be sent to them: it is retried');
    }
    return running.calls.request((id) => send(running.child, message(id)));
  }

  /** The running process, started (again) when there is none: after a crash the next call restarts it. */
  private async process(): Promise<Running> {
    if (!this.running || this.running.exited) this.running = this.spawn();
    await this.running.ready;
    return this.running;
  }

  private spawn(): Running {
    const { logger } = this.options;
    this.starts += 1;
    const nice = process.platform === 'linux' ? (this.options.nice ?? 10) : undefined;
    const child = fork(ENTRY, [], {
      execArgv: [`--max-old-space-size=${this.options.heapLimitMb ?? 512}`],
      // Structured clone, as between threads: no JSON round trip for each event.
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, ...(nice !== undefined ? { TOILLESS_PROCESSORS_NICE: String(nice) } : {}) },
    });
    const calls = new AwaitedReplies();
    let markReady!: () => void;
    let failStart!: (error: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failStart = reject;
    });
    // A start that fails is awaited by whoever called; an unawaited one must not be an unhandled rejection.
    ready.catch(() => undefined);
    const running: Running = { child, ready, calls, exited: false, started: false };
    const data: ProcessorProcessData = {
      dataDir: this.options.dataDir,
      env: this.options.env,
      stackConfigDir: this.options.stackConfigDir,
      logLevel: this.options.logLevel,
    };
    send(child, { type: 'start', data });

    child.on('message', (message: FromProcessors) => {
      switch (message.type) {
        case 'ready':
          if (this.starts > 1) logger.info({ starts: this.starts }, 'the processors were started again');
          running.started = true;
          markReady();
          return;
        case 'startup-failed':
          failStart(toError(message.error));
          child.kill('SIGTERM');
          return;
        case 'done':
          calls.settle(message.id, message.error);
          return;
        case 'publish':
          answerWhenDone(this.options.publish(message.events), (error) =>
            send(child, { type: 'published', id: message.id, error }),
          );
          return;
        case 'signal':
          this.options.signals.sourceUnavailable(message.source);
          return;
        case 'memory':
          this.options.onMemory?.(message);
          return;
      }
    });
    child.on('error', (error) => {
      logger.error({ err: error }, 'the processors process failed');
    });
    child.on('exit', (code, signal) => {
      running.exited = true;
      const stopped = new Error(
        `the processors stopped (exit code ${code}${signal ? `, ${signal}` : ''}) before finishing this: it is retried`,
      );
      failStart(stopped);
      calls.failAll(stopped);
      if (!this.closed && running.started) {
        logger.error({ code, signal }, 'the processors stopped: the next delivery starts them again');
      }
    });
    return running;
  }
}

function send(child: ChildProcess, message: ToProcessors): void {
  // A process that ended fails what waited on this message through its 'exit'; a send racing the
  // channel's close reports the error here, where there is nothing more to do.
  if (child.connected) child.send(message, () => undefined);
}

/** Requests sent to the other process, waiting for its answer by id. */
export class AwaitedReplies {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();

  /** Sends a request under a new id; settles with its answer. */
  request(send: (id: number) => void): Promise<void> {
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      send(id);
    });
  }

  /** The answer to request `id`: done, or the error it failed with there. */
  settle(id: number, error: CrossingError | undefined): void {
    const call = this.waiting.get(id);
    this.waiting.delete(id);
    if (error) call?.reject(toError(error));
    else call?.resolve();
  }

  /** The other process is gone: no answer will come. */
  failAll(error: Error): void {
    for (const call of this.waiting.values()) call.reject(error);
    this.waiting.clear();
  }
}

/** Answers a request once its work is done, with the error it failed with if it did. */
export function answerWhenDone(
  work: Promise<void>,
  answer: (error: CrossingError | undefined) => void,
): void {
  work.then(
    () => answer(undefined),
    (error: unknown) => answer(toCrossingError(error)),
  );
}

export function toCrossingError(error: unknown): CrossingError {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { name: 'Error', message: String(error), stack: undefined };
}

/** The error as the other side threw it; configuration errors keep their class (the CLI's exit code). */
export function toError(error: CrossingError): Error {
  const rebuilt =
    error.name === 'ConfigurationError' ? new ConfigurationError(error.message) : new Error(error.message);
  rebuilt.name = error.name;
  if (error.stack !== undefined) rebuilt.stack = error.stack;
  return rebuilt;
}
