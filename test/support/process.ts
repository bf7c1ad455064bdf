import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary } from './binaries.js';
import { waitFor } from './wait.js';

/** What to run and how to tell it is ready. */
export interface ServerProcessOptions {
  /** Short name for messages, e.g. "prometheus". */
  readonly name: string;
  /** Absolute path of the executable (see requireBinary). */
  readonly command: string;
  /** Command-line arguments. */
  readonly args: readonly string[];
  /** URL that answers 200 once the server is ready. */
  readonly readyUrl: string;
  /** How long the server may take to become ready. @default 30_000 */
  readonly readyTimeoutMs?: number;
  /** Time between SIGTERM and SIGKILL when stopping. @default 5_000 */
  readonly stopGraceMs?: number;
  /** Directory owned by the server: removed when it stops, or when it fails to start. */
  readonly tempDir?: string;
  /** Working directory. @default the temp dir if given, else the current one */
  readonly cwd?: string;
  /** The whole environment of the process. @default this process's environment */
  readonly env?: NodeJS.ProcessEnv;
}

/** A started server process. */
export interface ServerProcess {
  /** Short name given at start. */
  readonly name: string;
  /** Process id of the server itself. */
  readonly pid: number;
  /** The last captured stdout and stderr, interleaved. */
  output(): string;
  /** SIGTERM, then SIGKILL after the grace period; resolves once the process is gone and its temp dir removed. */
  stop(): Promise<void>;
}

/** A server that exited early or never became ready; the message carries its last output. */
export class ServerProcessError extends Error {
  constructor(
    message: string,
    readonly output: string,
    readonly pid: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(`${message}; last output:\n${lastLines(output, 40) || '(none)'}`, options);
    this.name = 'ServerProcessError';
  }
}

/** Creates an empty directory under the OS temp dir, named after what it is for. */
export function createTempDir(purpose: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `toilless-${purpose}-`));
}

const OUTPUT_LIMIT_CHARS = 64 * 1024;

/** Servers still running in this process, killed synchronously if it exits without stopping them. */
const running = new Set<{ readonly child: ChildProcess; readonly tempDir: string | undefined }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const { child, tempDir } of running) {
      child.kill('SIGKILL');
      if (tempDir !== undefined) rmSync(tempDir, { recursive: true, force: true });
    }
  });
}

/**
 * Starts a server and resolves once `readyUrl` answers 200. On failure the process is killed, its
 * temp dir removed, and the error carries its last output.
 */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const { name, readyUrl, readyTimeoutMs = 30_000, stopGraceMs = 5_000, tempDir } = options;
  installExitHook();

  const output = new OutputTail(OUTPUT_LIMIT_CHARS);
  const [command, args] = withParentDeathSignal(options.command, options.args);
  const child = spawn(command, args, {
    cwd: options.cwd ?? tempDir ?? process.cwd(),
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let exitStatus: string | undefined;
  const exited = new Promise<void>((resolveExit) => {
    child.once('exit', (code, signal) => {
      exitStatus = signal === null ? `exited with code ${code}` : `was killed by ${signal}`;
      resolveExit();
    });
  });
  const entry = { child, tempDir };
  running.add(entry);
  child.on('error', (error) => output.append(`\n[${name}: ${error.message}]\n`));
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => output.append(chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => output.append(chunk));
  // A test that forgets stop() must not keep the runner alive; the exit hook kills the server.
  child.unref();

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (exitStatus === undefined && child.pid !== undefined) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), stopGraceMs);
        await exited;
        clearTimeout(timer);
      }
      child.stdout?.destroy();
      child.stderr?.destroy();
      running.delete(entry);
      if (tempDir !== undefined) await rm(tempDir, { recursive: true, force: true, maxRetries: 3 });
    })();
    return stopping;
  };

  try {
    await once(child, 'spawn');
  } catch (error) {
    await stop();
    throw new ServerProcessError(
      `${name} could not be started (${options.command})`,
      output.text(),
      undefined,
      {
        cause: error,
      },
    );
  }
  const pid = child.pid!;

  let ready = false;
  const earlyExit = new AbortController();
  void exited.then(() => {
    if (ready) return;
    const message = `${name} (pid ${pid}) ${exitStatus} before it was ready`;
    earlyExit.abort(new ServerProcessError(message, output.text(), pid));
  });
  try {
    await waitFor(() => answersOk(readyUrl), {
      timeoutMs: readyTimeoutMs,
      intervalMs: 50,
      description: `${name} (pid ${pid}) to answer 200 at ${readyUrl}`,
      signal: earlyExit.signal,
    });
    ready = true;
  } catch (error) {
    await stop();
    if (error instanceof ServerProcessError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new ServerProcessError(reason, output.text(), pid, { cause: error });
  }

  return { name, pid, output: () => output.text(), stop };
}

async function answersOk(url: string): Promise<true | undefined> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  await response.body?.cancel();
  if (response.ok) return true;
  throw new Error(`${url} answered HTTP ${response.status}`);
}

/**
 * On Linux, runs the command through `setpriv --pdeathsig KILL` (util-linux), which execs it in
 * place, so the kernel kills the server if this process dies without running its exit hook.
 */
function withParentDeathSignal(command: string, args: readonly string[]): [string, string[]] {
  const setpriv = process.platform === 'linux' ? findBinary('setpriv') : undefined;
  if (setpriv === undefined) return [command, [...args]];
  return [setpriv, ['--pdeathsig', 'KILL', '--', command, ...args]];
}

/** Keeps the last `limit` characters of a stream of text. */
class OutputTail {
  #text = '';

  constructor(private readonly limit: number) {}

  append(chunk: string): void {
    this.#text += chunk;
    if (this.#text.length > this.limit) this.#text = this.#text.slice(this.#text.length - this.limit);
  }

  text(): string {
    return this.#text;
  }
}

function lastLines(text: string, count: number): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}

/** The ids of a process's children, from /proc (Linux). */
export async function childPids(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text
    .split(' ')
    .filter((part) => part.trim() !== '')
    .map(Number);
}

/** True while a process with this id exists (and is not a zombie). */
export async function processAlive(pid: number): Promise<boolean> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  return status !== undefined && !/^State:\s+Z/m.test(status);
}

/** The nice value of a process, from /proc/<pid>/stat (Linux). */
export async function niceValue(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (in parentheses, which may hold spaces): state is field 3, nice 19.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[16]);
}
