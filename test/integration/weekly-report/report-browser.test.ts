import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  BrowserLaunchError,
  launchReportBrowser,
} from '../../../functions/weekly-report/browser/chromium.js';

/** Chromium processes with a report profile directory (this test file runs alone in its process). */
async function reportChromiumPids(): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const commandLine = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (commandLine.includes('--user-data-dir=') && commandLine.includes('toilless-chromium-'))
      pids.push(Number(name));
  }
  return pids;
}

function exited(pid: number | undefined): boolean {
  if (pid === undefined) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

describe('Report Chromium (the @sparticuz/chromium binary the Lambda runs)', () => {
  it('launches headless, tells how long that took, and closes once however often asked', async () => {
    const report = await launchReportBrowser();
    const pid = report.browser.process()?.pid;
    try {
      expect(await report.browser.version()).toMatch(/^HeadlessChrome\/143\./);
      expect(report.launchMs).toBeGreaterThan(0);
      const page = await report.browser.newPage();
      await page.goto('data:text/html,<p>ok</p>');
      expect(await page.evaluate('document.body.textContent')).toBe('ok');
    } finally {
      await Promise.all([report.close(), report.close()]);
    }
    expect(report.browser.connected).toBe(false);
    await expect.poll(() => exited(pid), { timeout: 5_000 }).toBe(true);
  });

  it('kills the process when closing takes longer than its limit', async () => {
    const report = await launchReportBrowser({ closeTimeoutMs: 0 });
    const process = report.browser.process();

    await report.close();

    await expect
      .poll(() => process?.signalCode ?? process?.exitCode ?? null, { timeout: 5_000 })
      .not.toBeNull();
    expect(exited(process?.pid)).toBe(true);
  });

  it('says which Chromium failed to start when the executable is missing', async () => {
    const launching = launchReportBrowser({ executablePath: '/nonexistent/chromium' });
    await expect(launching).rejects.toThrow(BrowserLaunchError);
    await expect(launching).rejects.toThrow(
      'Chromium (TOILLESS_CHROMIUM_PATH=/nonexistent/chromium) failed to launch',
    );
  });

  it('gives up with a clear error when Chromium does not start in time, and leaves no Chromium running', async () => {
    const before = new Set(await reportChromiumPids());

    await expect(launchReportBrowser({ launchTimeoutMs: 1 })).rejects.toThrow(
      /did not start within 1 ms|unpacking took longer than 1 ms/,
    );

    const left = (await reportChromiumPids()).filter((pid) => !before.has(pid));
    expect(left).toEqual([]);
  });
});
