import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../functions/shared/errors.js';
import type { ReportDocument } from '../../../functions/weekly-report/model.js';
import {
  fontDirCandidates,
  REPORT_FONT_FILES,
  resolveReportFonts,
} from '../../../functions/weekly-report/pdf/fonts.js';
import { assembleReportPdf } from '../../../functions/weekly-report/pdf/report-pdf.js';
import { type PdfContents, readPdf } from '../../support/pdf-text.js';

const FROM = new Date('2026-11-30T00:00:00Z');
const TO = new Date('2026-12-07T00:00:00Z');
/** A 1x1 PNG, as the grafana renderer hands panel images over. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);
const at = (iso: string): Date => new Date(`2026-12-0${iso}Z`);

/**
 * The summary worked out by hand:
 * - checkout availability, target 99.9%: 30-day compliance 99.932% leaves 1 - 0.068/0.1 = 32% of the
 *   budget (68% consumed: the 50% policy state);
 * - three incidents: 30 min and 90 min to resolve (median 1 hour), one still open;
 * - octo/shop deployed 12 times this week and 10 the week before: 1.71/day, +0.29 from 1.43.
 */
const REPORT: ReportDocument = {
  stackName: 'Магазин prod',
  window: { from: FROM, to: TO, isoWeek: '2026-W49' },
  generatedAt: new Date('2026-12-07T08:00:00Z'),
  mode: 'native',
  summary: {
    slos: [
      {
        service: 'checkout',
        objective: 'availability',
        target: 0.999,
        week: 0.99874,
        thirtyDays: 0.99932,
        budgetRemaining: 0.32,
        policy: 'review-50',
      },
      {
        service: 'πληρωμές',
        objective: 'latency',
        target: 0.95,
        week: 0.97,
        thirtyDays: 0.96,
        budgetRemaining: 0.2,
        policy: 'approval-75',
      },
    ],
    incidents: [
      {
        title: 'Checkout 5xx',
        severity: 'critical',
        openedAt: at('1T10:00:00'),
        resolvedAt: at('1T10:30:00'),
        link: 'https://example.slack.com/archives/C1/p1',
      },
      { title: 'Slow search', severity: 'warning', openedAt: at('2T09:00:00'), resolvedAt: at('2T10:30:00') },
      { title: 'Disk filling', severity: 'warning', openedAt: at('5T22:00:00'), resolvedAt: null },
    ],
    dora: [
      {
        repository: 'octo/shop',
        deploymentFrequencyPerDay: { value: 12 / 7, previous: 10 / 7, level: 'high' },
        leadTimeSeconds: { value: 5400, previous: 7200, level: 'high' },
        changeFailureRate: { value: 0.1, previous: 0.2, level: 'elite' },
        timeToRestoreSeconds: { value: null, previous: 1800, level: null },
      },
    ],
    topAlerts: { unavailable: 'Prometheus did not answer: connect ECONNREFUSED 127.0.0.1:9090' },
  },
  dashboards: [
    {
      uid: 'golden',
      title: 'Golden signals',
      url: 'http://grafana.test:3000/d/golden',
      rows: [
        {
          title: 'Traffic of checkout',
          panels: [
            {
              title: 'Requests',
              gridPos: { x: 0, y: 1, w: 12, h: 8 },
              content: {
                kind: 'timeseries',
                format: {
                  unit: 'reqps',
                  thresholds: [
                    { value: null, color: 'green' },
                    { value: 12, color: 'red' },
                  ],
                },
                series: [
                  {
                    name: 'GET /cart',
                    points: Array.from(
                      { length: 337 },
                      (_, i) => [FROM.getTime() / 1000 + i * 1800, 10] as const,
                    ),
                  },
                ],
              },
            },
            {
              title: 'Error ratio',
              gridPos: { x: 12, y: 1, w: 6, h: 8 },
              content: {
                kind: 'stat',
                format: {
                  unit: 'percentunit',
                  decimals: 2,
                  thresholds: [
                    { value: null, color: 'green' },
                    { value: 0.01, color: 'red' },
                  ],
                },
                values: [{ name: '', value: 0.0213 }],
              },
            },
            {
              title: 'Deployment level',
              gridPos: { x: 18, y: 1, w: 6, h: 8 },
              content: {
                kind: 'stat',
                format: {},
                values: [{ name: 'octo/shop', value: 4, text: 'Elite', color: 'green' }],
              },
            },
            {
              title: 'Deployments',
              gridPos: { x: 0, y: 9, w: 8, h: 8 },
              content: {
                kind: 'table',
                format: {},
                columns: ['repository', 'deployments'],
                rows: Array.from({ length: 40 }, (_, i) => [`repo-${i}`, i]),
              },
            },
            {
              title: 'Logs of checkout',
              gridPos: { x: 8, y: 9, w: 8, h: 8 },
              content: {
                kind: 'link',
                url: 'http://grafana.test:3000/explore?left=1',
                note: 'Loki logs: open in Grafana Explore',
              },
            },
            {
              title: 'Latency',
              gridPos: { x: 16, y: 9, w: 8, h: 8 },
              content: {
                kind: 'failed',
                reason: 'prometheus: bad_data: 1:34: parse error: unclosed left parenthesis',
              },
            },
            {
              title: 'Grafana picture',
              gridPos: { x: 0, y: 17, w: 6, h: 4 },
              content: { kind: 'image', png: PNG, widthPx: 1, heightPx: 1 },
            },
          ],
        },
      ],
    },
  ],
};

describe('Weekly report PDF', () => {
  let pdf: Buffer;
  let read: PdfContents;
  const tempDirs: string[] = [];

  beforeAll(async () => {
    pdf = await assembleReportPdf(REPORT);
    read = await readPdf(pdf);
  });

  afterAll(async () => {
    await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('has a cover, the summary, one page for the dashboard and the appendix, each with page X of Y', () => {
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    expect(read.pageCount).toBe(4);
    for (const [index, page] of read.pages.entries()) expect(page).toContain(`Page ${index + 1} of 4`);
    expect(read.info.Title).toBe('Магазин prod weekly report 2026-W49');
  });

  it('puts the stack, the ISO week with its dates, the generation time and the mode on the cover', () => {
    const cover = read.pages[0] ?? '';
    expect(cover).toContain('Магазин prod');
    expect(cover).toContain('Week 2026-W49');
    expect(cover).toContain('2026-11-30 to 2026-12-06 (UTC)');
    expect(cover).toContain('Generated 2026-12-07 08:00 UTC');
    expect(cover).toContain('native: the panels drawn from Prometheus data');
  });

  it('shows the hand-worked SLO, incident and DORA figures on the summary page', () => {
    const summary = read.pages[1] ?? '';
    expect(summary).toContain(
      'checkout availability 99.9% 99.87% 99.93% 32.0% 50% consumed: review and mitigate',
    );
    expect(summary).toContain(
      'πληρωμές latency 95% 97.00% 96.00% 20.0% 75% consumed: approvals for features',
    );
    expect(summary).toContain(
      '3 incidents: 1 critical, 2 warning; 2 resolved, median time to resolve 1 hour.',
    );
    expect(summary).toMatch(/Checkout 5xx critical 30 min https:\/\/example\.slack\.com\/archives\/C1\/p1/);
    expect(summary).toMatch(/Slow search warning 1\.50 hour/);
    expect(summary).toMatch(/Disk filling warning still open/);
    expect(summary).toContain('1.71/day (high), +0.29 from 1.43/day');
    expect(summary).toContain('1.50 hour (high), -30 min from 2 hour');
    expect(summary).toContain('10.0% (elite), -10.0 pt from 20.0%');
    expect(summary).toContain('no data, was 30 min');
  });

  it('says why a summary part is unavailable instead of leaving it out', () => {
    expect(read.pages[1]).toContain(
      'Top firing alerts Unavailable: Prometheus did not answer: connect ECONNREFUSED 127.0.0.1:9090',
    );
  });

  it('draws the dashboard panels: values in their unit, mapped text, a failed panel named with its reason, links', () => {
    const page = read.pages[2] ?? '';
    expect(page).toContain('Golden signals');
    expect(page).toContain('Traffic of checkout');
    expect(page).toMatch(/Requests GET \/cart .*10 req\/s/);
    expect(page).toContain('Error ratio 2.13%');
    expect(page).toContain('Deployment level Elite octo/shop');
    expect(page).toContain(
      'Latency Not rendered prometheus: bad_data: 1:34: parse error: unclosed left parenthesis',
    );
    expect(page).toContain(
      'Logs of checkout Loki logs: open in Grafana Explore http://grafana.test:3000/explore?left=1',
    );
    expect(page).toMatch(/of 40 rows shown; all rows in appendix A\.1/);
    expect(pdf.includes('/Subtype /Image')).toBe(true);
  });

  it('holds every row of a table in the appendix', () => {
    const appendix = read.pages[3] ?? '';
    expect(appendix).toContain('A.1 Golden signals: Deployments');
    for (const row of [0, 17, 39]) expect(appendix).toContain(`repo-${row} ${row}`);
  });

  it('has an outline with the cover, the summary, each dashboard with its rows, and the appendix', () => {
    expect(read.outline).toEqual([
      { title: 'Cover', page: 1, children: [] },
      { title: 'Summary', page: 2, children: [] },
      {
        title: 'Golden signals',
        page: 3,
        children: [{ title: 'Traffic of checkout', page: 3, children: [] }],
      },
      {
        title: 'Appendix: table data',
        page: 4,
        children: [{ title: 'A.1 Golden signals: Deployments', page: 4, children: [] }],
      },
    ]);
  });

  it('continues a long summary and many dashboards on further pages, numbering them all', async () => {
    const many: ReportDocument = {
      ...REPORT,
      summary: {
        ...REPORT.summary,
        topAlerts: Array.from({ length: 60 }, (_, i) => ({
          alertname: `Alert${i}`,
          severity: 'warning',
          firings: i,
          firingSeconds: 60 * i,
        })),
      },
      dashboards: Array.from({ length: 3 }, (_, i) => ({
        ...(REPORT.dashboards[0] as ReportDocument['dashboards'][number]),
        uid: `d${i}`,
        title: `Dashboard ${i}`,
      })),
    };
    const contents = await readPdf(await assembleReportPdf(many));
    const text = contents.pages.join('\n');
    expect(text).toContain('Alert59 warning 59 59 min');
    expect(contents.pages.at(-1)).toContain(`Page ${contents.pageCount} of ${contents.pageCount}`);
    expect(contents.outline.map((entry) => entry.title)).toEqual([
      'Cover',
      'Summary',
      'Dashboard 0',
      'Dashboard 1',
      'Dashboard 2',
      'Appendix: table data',
    ]);
    // The summary ran over its first page, so the first dashboard starts later.
    expect(contents.outline[2]?.page).toBeGreaterThan(3);
  });

  it('looks for the fonts in the Lambda task root, then in node_modules, and nowhere else', () => {
    const installed = fontDirCandidates(undefined, {})[0] ?? '';
    expect(installed).toMatch(/node_modules\/dejavu-fonts-ttf\/ttf$/);
    expect(fontDirCandidates(undefined, {})).toEqual([installed]);
    expect(fontDirCandidates(undefined, { LAMBDA_TASK_ROOT: '/var/task' })).toEqual([
      '/var/task/fonts',
      installed,
    ]);
    expect(fontDirCandidates('/fonts/here', { LAMBDA_TASK_ROOT: '/var/task' })).toEqual(['/fonts/here']);
    expect(resolveReportFonts(undefined, {}).regular).toBe(join(installed, REPORT_FONT_FILES.regular));
  });

  it('embeds the fonts from fonts/ of the Lambda task root, as the bundle copies them', async () => {
    const taskRoot = await mkdtemp(join(tmpdir(), 'toilless-task-root-'));
    tempDirs.push(taskRoot);
    const shipped = resolveReportFonts(undefined, {});
    await mkdir(join(taskRoot, 'fonts'));
    await copyFile(shipped.regular, join(taskRoot, 'fonts', REPORT_FONT_FILES.regular));
    await copyFile(shipped.bold, join(taskRoot, 'fonts', REPORT_FONT_FILES.bold));

    expect(resolveReportFonts(undefined, { LAMBDA_TASK_ROOT: taskRoot })).toEqual({
      regular: join(taskRoot, 'fonts', REPORT_FONT_FILES.regular),
      bold: join(taskRoot, 'fonts', REPORT_FONT_FILES.bold),
    });
  });

  it('embeds the fonts from a directory it is given, and says where it looked when they are missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'toilless-report-fonts-'));
    tempDirs.push(dir);
    const fontDir = join(dir, 'fonts');
    await mkdir(fontDir);
    await expect(assembleReportPdf(REPORT, { fontDir })).rejects.toThrow(ConfigurationError);
    await expect(assembleReportPdf(REPORT, { fontDir })).rejects.toThrow(`are in none of ${fontDir}`);
    const shipped = resolveReportFonts();
    await copyFile(shipped.regular, join(fontDir, REPORT_FONT_FILES.regular));
    await copyFile(shipped.bold, join(fontDir, REPORT_FONT_FILES.bold));
    const contents = await readPdf(await assembleReportPdf(REPORT, { fontDir }));
    expect(contents.pages[0]).toContain('Магазин prod');
  });
});
