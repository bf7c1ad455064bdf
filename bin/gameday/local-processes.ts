/**
 * The child processes of the local game day (Prometheus, Alertmanager, the exporters, toilless serve,
 * the sample app): found on PATH, started on free 127.0.0.1 ports, ready when their readiness URL
 * answers 200, stopped with SIGTERM then SIGKILL. Each writes its output to a log file in the stack's
 * folder; an error quotes the file's last lines.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants, createWriteStream, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, resolve } from 'node:path';
import { ToillessError } from '../../functions/shared/errors.js';

/** A part of the local stack failed to start: names it, says why, and quotes its log. */
export class LocalPartError extends ToillessError {
  constructor(
    readonly part: string,
    reason: string,
    readonly logTail: string,
    readonly logFile: string | undefined,
    options?: { cause?: unknown },
  ) {
    const where = logFile === undefined ? '' : ` (log: ${logFile})`;
    super(
      `${part} ${reason}${where}; its last output:\n${logTail.trim() === '' ? '(none)' : logTail}`,
      options,
    );
  }
}

/** A binary the local stack needs is not installed: says which Debian package brings it. */
export class MissingBinaryError extends ToillessError {
  constructor(
    readonly binary: string,
    readonly debianPackage: string,
  ) {
    super(
      `${binary} was not found on PATH: the local game day runs the real one from the Debian package ` +
        `"${debianPackage}". Install it with "sudo apt-get install --no-install-recommends ${debianPackage}" ` +
        '(or "npm run test:deps" as root on Debian).',
    );
  }
}

/** The absolute path of an executable on PATH, or undefined. */
export function findBinary(name: string, searchPath = process.env['PATH'] ?? ''): string | undefined {
  for (const dir of searchPath.split(delimiter)) {
    if (dir === '') continue;
    const candidate = resolve(dir, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The absolute path of an executable on PATH; a MissingBinaryError naming its package otherwise. */
export function requireBinary(name: string, debianPackage: string, searchPath?: string): string {
  const path = findBinary(name, searchPath);
  if (path === undefined) throw new MissingBinaryError(name, debianPackage);
  return path;
}

/** A TCP port on 127.0.0.1 the OS reported free a moment ago (another process may still take it). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const { port } = server.address() as { port: number };
      server.close((error) => (error ? reject(error) : resolvePort(port)));
    });
  });
}

/** Runs `start` on a free port, and on a new one when the port was taken in between. */
export async function startOnFreePort<T>(start: (port: number) => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await start(port);
    } catch (error) {
      const clash = error instanceof Error && /address already in use/i.test(error.message);
      if (!clash || attempt >= attempts) throw error;
    }
  }
}

export interface LocalProcessOptions {
  /** The part's name in messages, e.g. "prometheus". */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** The whole environment of the process. */
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Answers 200 once the part is ready. */
  readonly readyUrl: string;
  /** @default 30000 */
  readonly readyTimeoutMs?: number;
  /** Between SIGTERM and SIGKILL. @default 5000 */
  readonly stopGraceMs?: number;
  /** Where its stdout and stderr go. */
  readonly logFile: string;
}

export interface LocalProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Its last output lines. */
  logTail(lines?: number): string;
  /** SIGTERM, SIGKILL after the grace period; resolves once it has exited. */
  stop(): Promise<void>;
}

const TAIL_CHARS = 32 * 1024;

/** Children still running, killed if this process exits without stopping them. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Starts a part and resolves once its readiness URL answers 200. It runs in a process group of its
 * own, so that Ctrl-C in the terminal reaches the game day (which stops the parts in order) and not
 * the parts directly, and under `setpriv --pdeathsig KILL` where there is one, so that it dies with
 * this process even when this process is killed.
 */
export async function startLocalProcess(options: LocalProcessOptions): Promise<LocalProcess> {
  const { name, readyUrl, readyTimeoutMs = 30_000, stopGraceMs = 5_000, logFile } = options;
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const child of running) child.kill('SIGKILL');
    });
  }
  const log = createWriteStream(logFile, { flags: 'a' });
  let tail = '';
  const record = (chunk: Buffer | string) => {
    log.write(chunk);
    tail = (tail + chunk.toString()).slice(-TAIL_CHARS);
  };
  const logTail = (lines = 30) => tail.trimEnd().split('\n').slice(-lines).join('\n');

  const setpriv = process.platform === 'linux' ? findBinary('setpriv') : undefined;
  const [command, args] =
    setpriv === undefined
      ? [options.command, [...options.args]]
      : [setpriv, ['--pdeathsig', 'KILL', '--', options.command, ...options.args]];
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  running.add(child);
  child.stdout?.on('data', record);
  child.stderr?.on('data', record);
  child.on('error', (error) => record(`\n[${name}: ${error.message}]\n`));
  let exitStatus: string | undefined;
  const exited = new Promise<void>((resolveExit) =>
    child.once('exit', (code, signal) => {
      exitStatus = signal === null ? `exited with code ${code}` : `was killed by ${signal}`;
      running.delete(child);
      resolveExit();
    }),
  );

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (exitStatus === undefined) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), stopGraceMs);
        await exited;
        clearTimeout(timer);
      }
      await new Promise<void>((resolveEnd) => log.end(resolveEnd));
    })();
    return stopping;
  };

  try {
    await once(child, 'spawn');
  } catch (error) {
    await stop();
    throw new LocalPartError(name, `could not be started (${options.command})`, logTail(), logFile, {
      cause: error,
    });
  }

  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (exitStatus !== undefined) {
      await stop();
      throw new LocalPartError(name, `${exitStatus} before it was ready`, logTail(), logFile);
    }
    if (await answersOk(readyUrl)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new LocalPartError(
        name,
        `did not answer 200 at ${readyUrl} within ${Math.round(readyTimeoutMs / 1000)} s`,
        logTail(),
        logFile,
      );
    }
    await Promise.race([new Promise((wake) => setTimeout(wake, 100)), exited]);
  }
  return { name, pid: child.pid as number, logFile, logTail, stop };
}

async function answersOk(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}
