import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { expect } from 'vitest';

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * The task definition's arguments with container paths mapped to local folders and the listen
 * address moved to a free loopback port, so that the real binary runs them here.
 */
export function mappedArguments(
  args: readonly string[],
  paths: Readonly<Record<string, string>>,
  listen: { readonly flag: string; readonly address: string },
): string[] {
  return args.map((arg) => {
    if (arg.startsWith(`${listen.flag}=`)) return `${listen.flag}=${listen.address}`;
    let mapped = arg;
    for (const [container, local] of Object.entries(paths)) {
      mapped = mapped.replace(new RegExp(`=${container}(?=/|$)`), `=${local}`);
    }
    return mapped;
  });
}

export interface RunningBinary {
  readonly process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

export function startBinary(command: string, args: readonly string[]): RunningBinary {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  return {
    process: child,
    output: () => output,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Polls `url` until it answers 200, the process exits, or `timeoutMs` passes. */
export async function waitUntilReady(
  url: string,
  binary: RunningBinary,
  timeoutMs = 20_000,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (binary.process.exitCode !== null) return false;
    try {
      const response = await fetch(url);
      if (response.status === 200) return true;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

/** A container's Main command, run by the real binary with its container paths mapped to local folders. */
export interface ContainerRun {
  /** The binary of the Debian package that stands in for the image. */
  readonly binary: string;
  /** The task definition's command. */
  readonly command: readonly string[];
  /** Container path -> local folder. */
  readonly paths: Readonly<Record<string, string>>;
  /** What answers 200 once the binary is up, e.g. `/-/ready`. */
  readonly readyPath: string;
}

/**
 * Starts the binary on a free loopback port (`--web.listen-address`), expects it to become ready, hands
 * its origin to `use` and stops it afterwards.
 */
export async function withRunningContainer(
  run: ContainerRun,
  use: (origin: string) => Promise<void> = async () => undefined,
): Promise<void> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const args = mappedArguments(run.command, run.paths, {
    flag: '--web.listen-address',
    address: `127.0.0.1:${port}`,
  });
  const binary = startBinary(run.binary, args);
  try {
    expect(await waitUntilReady(`${origin}${run.readyPath}`, binary), binary.output()).toBe(true);
    await use(origin);
  } finally {
    await binary.stop();
  }
}
