/**
 * `toilless report` as an operator runs it: the real CLI in a child process with the engines of this
 * build (native renderer, PDF assembly), the real Prometheus with the shipped recording rules and data
 * remote-written over the hour before the window's end (test/support/report-data.ts), and, with
 * --publish, the Slack test server.
 */
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../../functions/shared/adapters/local/fs-object-store.js';
import { runCli, STACK_LINE } from '../../support/cli.js';
import { readPdf } from '../../support/pdf-text.js';
import { createTempDir } from '../../support/process.js';
import type { RunningPrometheus } from '../../support/prometheus.js';
import { startReportPrometheus } from '../../support/report-data.js';
import { type SlackApiServer, startSlackApiServer } from '../../support/slack-api-server.js';
import { STACK_CONFIG_DIR } from '../../support/stack-config-copy.js';

const DASHBOARDS_DIR = join(STACK_CONFIG_DIR, 'grafana', 'dashboards');
const STACK_NAME = 'shop-prod';

/** The ISO 8601 week of a UTC date, worked out independently of the code under test. */
function isoWeek(date: Date): string {
  const thursday = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  thursday.setUTCDate(thursday.getUTCDate() + 4 - (thursday.getUTCDay() || 7));
  const yearStart = Date.UTC(thursday.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((thursday.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${thursday.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

describe('toilless report with the engines of this build', () => {
  let prometheus: RunningPrometheus;
  let slack: SlackApiServer;
  let workDir: string;
  let stackConfigDir: string;
  let dashboardTitles: string[];
  const end = Math.floor(Date.now() / 60_000) * 60_000;
  const from = new Date(end - 30 * 60_000);
  const to = new Date(end);
  const week = isoWeek(from);

  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    PROMETHEUS_URL: prometheus.url,
    GRAFANA_URL: 'http://grafana.test:3000',
    TOILLESS_STACK_CONFIG: stackConfigDir,
    LOG_LEVEL: 'warn',
    ...extra,
  });
  const windowArgs = ['--from', from.toISOString(), '--to', to.toISOString(), '--mode', 'native'];

  beforeAll(async () => {
    [prometheus, slack, workDir] = await Promise.all([
      startReportPrometheus(end),
      startSlackApiServer(),
      createTempDir('report-command'),
    ]);
    // The shipped stack config under another stack name, so that the cover's name is this test's.
    stackConfigDir = join(workDir, 'stack-config');
    await cp(STACK_CONFIG_DIR, stackConfigDir, { recursive: true });
    const toillessYaml = join(stackConfigDir, 'toilless.yaml');
    const yaml = await readFile(toillessYaml, 'utf8');
    expect(yaml).toContain('stackName: toilless\n');
    await writeFile(toillessYaml, yaml.replace('stackName: toilless\n', `stackName: ${STACK_NAME}\n`));
    dashboardTitles = [];
    for (const file of (await readdir(DASHBOARDS_DIR)).filter((name) => name.endsWith('.json')).sort()) {
      const model = JSON.parse(await readFile(join(DASHBOARDS_DIR, file), 'utf8')) as { title: string };
      dashboardTitles.push(model.title);
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all([prometheus?.stop(), slack?.close()]);
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
  });

  it('writes a PDF with the cover, the summary, a section per shipped dashboard and the numbers', async () => {
    const out = join(workDir, 'report.pdf');
    const result = await runCli(['report', ...windowArgs, '--out', out], env());
    expect(result.stderr, result.stderr).not.toMatch(STACK_LINE);
    expect(result.status, result.stderr).toBe(0);
    const pdf = await readFile(out);
    expect(result.stdout).toBe(`${out}: ${pdf.length} bytes, native mode (--mode native)\n`);

    const read = await readPdf(pdf);
    expect(read.pages[0]).toContain(STACK_NAME);
    expect(read.pages[0]).toContain(`Week ${week}`);
    expect(read.outline.map((entry) => entry.title)).toEqual([
      'Cover',
      'Summary',
      ...dashboardTitles,
      'Appendix: table data',
    ]);
    const summaryPage = read.outline[1]?.page ?? 0;
    const summary = read.pages[summaryPage - 1] ?? '';
    expect(summary).toMatch(/^Summary /);
    // octo/shop over the 7d window: 12 deploys / 7 days, lead time p50 5,400 s, 3 of 14 changes failed,
    // time to restore p50 1,800 s.
    expect(summary).toContain('octo/shop 1.71/day (elite) 1.50 hour (high) 21.4% (high) 30 min (elite)');
    for (const [index, page] of read.pages.entries()) {
      expect(page).toContain(`Page ${index + 1} of ${read.pageCount}`);
    }
    const text = read.pages.join('\n');
    // 0.2 req/s of 500s out of 10.2 req/s, with the panel's 2 decimals.
    expect(text).toContain('1.96%');
    expect(text).toContain('10.2 req/s');
    expect(text).not.toContain('Not rendered');
  }, 60_000);

  it("--publish stores the week's PDF and uploads the same bytes to Slack in three steps", async () => {
    const dataDir = join(workDir, 'data');
    const result = await runCli(
      ['report', ...windowArgs, '--publish', '--data-dir', dataDir],
      env({ SLACK_BOT_TOKEN: slack.token, SLACK_API_URL: slack.url }),
    );
    expect(result.stderr, result.stderr).not.toMatch(STACK_LINE);
    expect(result.status, result.stderr).toBe(0);
    const key = `reports/${week}/report.pdf`;
    expect(result.stdout).toBe(`${key} stored; posted to Slack #toilless\n`);

    const stored = await new FsObjectStore(dataDir).get(key);
    expect(stored).toBeDefined();
    const pdf = Buffer.from(stored?.body ?? []);
    expect((await readPdf(pdf)).pages[0]).toContain(`Week ${week}`);

    const methods = slack.calls.map((call) => call.method);
    const steps = ['files.getUploadURLExternal', 'upload', 'files.completeUploadExternal'];
    expect(methods.filter((method) => steps.includes(method))).toEqual(steps);
    expect(slack.calls.filter((call) => steps.includes(call.method)).every((c) => c.status === 200)).toBe(
      true,
    );
    const files = slack.files();
    expect(files).toHaveLength(1);
    expect(files[0]?.completed).toBe(true);
    expect(files[0]?.channel).toBe(slack.channelId('toilless'));
    expect(files[0]?.length).toBe(pdf.length);
    expect(files[0]?.content?.equals(pdf)).toBe(true);
  }, 60_000);
});
