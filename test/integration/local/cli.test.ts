import { type ChildProcessByStdio, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const CLI = join(import.meta.dirname, '..', '..', '..', 'bin', 'toilless.js');

interface LogLine {
  readonly msg: string;
  readonly level: string;
  readonly url?: string;
  readonly [key: string]: unknown;
}

function serve(dataDir: string): {
  child: ChildProcessByStdio<null, Readable, Readable>;
  lines: LogLine[];
  url: Promise<string>;
} {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', dataDir], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  const url = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (text) => {
      const line = JSON.parse(text) as LogLine;
      lines.push(line);
      if (line.msg === 'toilless is serving' && line.url) resolve(line.url);
    });
    child.once('exit', (code) => reject(new Error(`toilless serve exited with ${code}`)));
  });
  return { child, lines, url };
}

const exited = (child: ChildProcessByStdio<null, Readable, Readable>) =>
  new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

describe('toilless CLI', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'toilless-cli-'));
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it.each([[], ['serve'], ['check'], ['timeline']])(
    'prints help for `toilless %s --help`',
    (...command: string[]) => {
      const result = spawnSync(process.execPath, [CLI, ...command, '--help'], { encoding: 'utf8' });

      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/^Usage: toilless/);
    },
  );

  it('serves, logs JSON lines, and exits 0 on SIGTERM after stopping cleanly', async () => {
    const { child, lines, url } = serve(dataDir);
    const base = await url;

    const health = await fetch(`${base}/healthz`);
    const exit = exited(child);
    child.kill('SIGTERM');

    expect(health.status).toBe(200);
    expect(await exit).toBe(0);
    expect(lines.map((line) => line.msg)).toEqual(
      expect.arrayContaining([
        'toilless is serving',
        'shutting down: finishing in-flight requests and deliveries',
        'toilless stopped',
      ]),
    );
    expect(lines.every((line) => typeof line.level === 'string' && typeof line.time === 'string')).toBe(true);
  });

  it('never logs the generated credentials, only where they are', async () => {
    const { child, lines, url } = serve(dataDir);
    await url;
    const exit = exited(child);
    child.kill('SIGINT');
    await exit;

    const serving = lines.find((line) => line.msg === 'toilless is serving');
    const files = serving?.generatedSecretFiles as string[];
    expect(files).toEqual([
      join(dataDir, 'secrets', 'alertmanager-webhook-token'),
      join(dataDir, 'secrets', 'github-webhook-secret'),
    ]);
    const { readFile } = await import('node:fs/promises');
    const token = (await readFile(files[0] as string, 'utf8')).trim();
    expect(JSON.stringify(lines)).not.toContain(token);
  });

  it('says which port is taken instead of printing a stack trace', async () => {
    const first = serve(dataDir);
    const port = new URL(await first.url).port;

    const second = spawnSync(process.execPath, [CLI, 'serve', '--port', port, '--data-dir', dataDir], {
      encoding: 'utf8',
    });
    const exit = exited(first.child);
    first.child.kill('SIGTERM');
    await exit;

    expect(second.status).toBe(2);
    expect(second.stderr).toContain('another process uses that port');
    expect(second.stderr).not.toMatch(/\n\s+at /);
  });

  it('ends with one line naming an unreadable secret file and what to do, not a stack trace', async () => {
    const { mkdir } = await import('node:fs/promises');
    const secretFile = join(dataDir, 'secrets', 'github-webhook-secret');
    await mkdir(secretFile, { recursive: true });

    const result = spawnSync(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', dataDir], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    });

    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      `toilless: the GITHUB_WEBHOOK_SECRET file ${secretFile} cannot be read: it is a directory: replace it with a file holding the secret, or remove it to have one generated, or set GITHUB_WEBHOOK_SECRET in the environment`,
    ]);
  });

  it('rejects an invalid port with a clear message', () => {
    const result = spawnSync(process.execPath, [CLI, 'serve', '--port', 'eighty'], { encoding: 'utf8' });

    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('expected a TCP port between 0 and 65535');
  });
});
