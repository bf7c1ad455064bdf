import { describe, expect, it } from 'vitest';
import {
  BrowserLaunchError,
  launchReportBrowser,
} from '../../../functions/weekly-report/browser/chromium.js';

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

  it('gives up with a clear error when Chromium does not start in time', async () => {
    await expect(launchReportBrowser({ launchTimeoutMs: 1 })).rejects.toThrow(
      /did not start within 1 ms|unpacking took longer than 1 ms/,
    );
  });
});
