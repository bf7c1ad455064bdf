/**
 * Chromium for the report, launched the way the Lambda runs it: puppeteer-core with the @sparticuz/chromium
 * binary (headless shell). One browser per invocation, in its default context (createBrowserContext fails on
 * the Lambda build), closed with a time limit because `browser.close()` can hang there.
 *
 * TOILLESS_CHROMIUM_PATH points at another Chromium (a local install) instead of the bundled binary.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import chromium from '@sparticuz/chromium';
import puppeteer, { type Browser } from 'puppeteer-core';
import { ToillessError } from '../../shared/errors.js';

/** Chromium did not start, or did not start in time. */
export class BrowserLaunchError extends ToillessError {}

export interface ReportBrowserOptions {
  /** Give up starting Chromium (including unpacking the binary) after this long. @default 30000 */
  readonly launchTimeoutMs?: number;
  /** Kill the process when a graceful close takes longer. @default 5000 */
  readonly closeTimeoutMs?: number;
  /** A Chromium to run instead of the @sparticuz/chromium binary. @default process.env.TOILLESS_CHROMIUM_PATH */
  readonly executablePath?: string;
}

export interface ReportBrowser {
  readonly browser: Browser;
  /** How long the launch took, in milliseconds (unpacking included). */
  readonly launchMs: number;
  /** Closes the pages and the browser; kills the process when that does not finish in time. Idempotent. */
  close(): Promise<void>;
}

const DEFAULT_LAUNCH_TIMEOUT_MS = 30_000;
const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;

/**
 * @sparticuz/chromium's flags minus the two that loosen the page's security (the report only loads Grafana,
 * which needs neither), plus flags that keep Chromium from calling home: Lambda in a VPC and CI have no
 * route out, and a stalled background request must not hold anything up.
 */
const REMOVED_FLAGS = new Set(['--disable-web-security', '--allow-running-insecure-content']);
const CLOSED_NETWORK_FLAGS = [
  '--disable-component-update',
  '--disable-field-trial-config',
  '--dns-prefetch-disable',
  '--no-service-autorun',
];

/** The command line flags the report's Chromium runs with (pure: a test can read them). */
export function reportChromiumFlags(sparticuzArgs: readonly string[]): string[] {
  const kept = sparticuzArgs.filter((flag) => !REMOVED_FLAGS.has(flag));
  const args = puppeteer.defaultArgs({ args: [...kept, ...CLOSED_NETWORK_FLAGS], headless: 'shell' });
  return args.filter((flag) => !REMOVED_FLAGS.has(flag));
}

export async function launchReportBrowser(options: ReportBrowserOptions = {}): Promise<ReportBrowser> {
  const launchTimeoutMs = options.launchTimeoutMs ?? DEFAULT_LAUNCH_TIMEOUT_MS;
  const closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
  const override = options.executablePath ?? process.env.TOILLESS_CHROMIUM_PATH;
  const started = Date.now();
  const deadline = started + launchTimeoutMs;
  const where =
    override === undefined ? 'the @sparticuz/chromium binary' : `TOILLESS_CHROMIUM_PATH=${override}`;

  let executablePath: string;
  try {
    executablePath = override ?? (await withinTime(chromium.executablePath(), launchTimeoutMs, 'unpacking'));
  } catch (error) {
    throw new BrowserLaunchError(`Chromium could not be prepared from ${where}: ${messageOf(error)}`, {
      cause: error,
    });
  }

  // Our own profile directory names the process, so a launch that times out can still be found and stopped:
  // puppeteer leaves it running for 5 s more, and a CLI that exits meanwhile would orphan it.
  const userDataDir = await mkdtemp(join(tmpdir(), 'toilless-chromium-'));
  let browser: Browser;
  try {
    browser = await puppeteer.launch({
      executablePath,
      userDataDir,
      args: reportChromiumFlags(chromium.args),
      headless: 'shell',
      timeout: Math.max(1, deadline - Date.now()),
      // Lambda has no TTY and sends SIGTERM at the end; close() below is the one way out.
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
  } catch (error) {
    const timedOut = error instanceof Error && error.name === 'TimeoutError';
    const reason = timedOut
      ? `it did not start within ${launchTimeoutMs} ms (raise the launch timeout, or give the function more memory)`
      : messageOf(error);
    await killChromiumUsing(userDataDir);
    await rm(userDataDir, { recursive: true, force: true }).catch(() => undefined);
    throw new BrowserLaunchError(`Chromium (${where}) failed to launch: ${reason}`, { cause: error });
  }
  const launchMs = Date.now() - started;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= closeWithin(browser, closeTimeoutMs).then(() =>
      rm(userDataDir, { recursive: true, force: true }).catch(() => undefined),
    );
    return closing;
  };
  return { browser, launchMs, close };
}

async function closeWithin(browser: Browser, timeoutMs: number): Promise<void> {
  const graceful = (async () => {
    // Closing the pages first is what keeps browser.close() from hanging on the Lambda build.
    const pages = await browser.pages().catch(() => []);
    await Promise.allSettled(pages.map((page) => page.close()));
    await browser.close();
  })();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const outcome = await Promise.race([
    graceful.then(
      () => 'closed' as const,
      () => 'failed' as const,
    ),
    timedOut,
  ]);
  clearTimeout(timer);
  if (outcome !== 'closed') {
    browser.process()?.kill('SIGKILL');
  }
}

/** SIGKILLs the processes started with this profile directory (Linux: Lambda and CI; elsewhere nothing). */
async function killChromiumUsing(userDataDir: string): Promise<void> {
  const flag = `--user-data-dir=${userDataDir}`;
  const pids = await readdir('/proc').catch(() => [] as string[]);
  await Promise.all(
    pids
      .filter((name) => /^\d+$/.test(name))
      .map(async (pid) => {
        const commandLine = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
        if (commandLine.split('\0').includes(flag)) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }),
  );
}

async function withinTime<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
