/**
 * The real `toilless` CLI as a child process. Asynchronous on purpose: the test servers it talks to
 * (Loki, Tempo, Slack, GitHub) answer from the test's own process, which must not block.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const CLI = join(import.meta.dirname, '..', '..', 'bin', 'toilless.js');

/** A stack trace line, which the CLI must never print for bad input. */
export const STACK_LINE = /\n\s+at /;

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `toilless <args>` with only PATH, HOME and `env` in its environment. */
export function runCli(args: readonly string[], env: Readonly<Record<string, string>>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}
