/**
 * The game day's dashboards as a PDF: the weekly report's native renderer (the panels' PromQL
 * evaluated against Prometheus, drawn with pdfkit) over the game day's window, for the dashboards the
 * scenarios affect. It never fails the run: a failure is returned as the reason, for the report.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PrometheusClient } from '../../functions/shared/clients/prometheus.js';
import { loadToillessConfig } from '../../functions/shared/stack-config.js';
import type { ReportSummary } from '../../functions/weekly-report/model.js';
import { isoWeekOf } from '../../functions/weekly-report/window.js';
import type { ScenarioName } from './environment.js';
import type { DashboardPdf } from './result.js';

/** The shipped dashboards each scenario moves (stack-config/grafana/dashboards/<uid>.json). */
export const AFFECTED_DASHBOARDS: Readonly<Record<ScenarioName, readonly string[]>> = {
  'deploy-failure': ['dora-metrics'],
  latency: ['unified-observability', 'slo-error-budget'],
  'resource-pressure': ['node-exporter'],
};

export const DASHBOARDS_PDF = 'gameday-dashboards.pdf';

export function affectedDashboards(scenarios: readonly ScenarioName[]): string[] {
  return [...new Set(scenarios.flatMap((scenario) => AFFECTED_DASHBOARDS[scenario]))];
}

const NOT_IN_THIS_REPORT = 'not part of the game-day report: see the Markdown report';

export async function renderDashboardsPdf(options: {
  readonly prometheusUrl: string;
  readonly grafanaUrl: string;
  readonly stackConfigDir: string;
  readonly scenarios: readonly ScenarioName[];
  readonly from: Date;
  readonly to: Date;
  readonly outDir: string;
  readonly signal?: AbortSignal | undefined;
  readonly fetch?: typeof fetch | undefined;
  readonly onProgress?: (done: number, total: number, panel: string) => void;
}): Promise<DashboardPdf> {
  const dashboards = affectedDashboards(options.scenarios);
  if (dashboards.length === 0) return { status: 'skipped', why: 'no scenario ran' };
  const prometheus = new PrometheusClient({
    baseUrl: options.prometheusUrl,
    timeoutMs: 30_000,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
  try {
    // Prometheus must answer before panels are drawn: otherwise every panel would say the same failure.
    await prometheus.query('vector(1)', options.signal ? { signal: options.signal } : {});
  } catch (error) {
    return {
      status: 'skipped',
      why: `Prometheus is not reachable at ${options.prometheusUrl}: ${(error as Error).message}`,
    };
  }
  try {
    const [{ createNativeRenderer }, { assembleReportPdf }] = await Promise.all([
      import('../../functions/weekly-report/native/native-renderer.js'),
      import('../../functions/weekly-report/pdf/report-pdf.js'),
    ]);
    const window = { from: options.from, to: options.to, isoWeek: isoWeekOf(options.from) };
    const renderer = createNativeRenderer({
      stackConfigDir: options.stackConfigDir,
      prometheus,
      grafanaUrl: options.grafanaUrl,
    });
    const rendered = await renderer.render(dashboards, window, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    const summary: ReportSummary = {
      slos: { unavailable: NOT_IN_THIS_REPORT },
      incidents: { unavailable: NOT_IN_THIS_REPORT },
      dora: { unavailable: NOT_IN_THIS_REPORT },
      topAlerts: { unavailable: NOT_IN_THIS_REPORT },
    };
    const pdf = await assembleReportPdf({
      stackName: `${stackName(options.stackConfigDir)} game day`,
      window,
      generatedAt: new Date(),
      mode: 'native',
      summary,
      dashboards: rendered,
    });
    const file = join(options.outDir, DASHBOARDS_PDF);
    await writeFile(file, pdf);
    return { status: 'written', file, dashboards };
  } catch (error) {
    return { status: 'skipped', why: `rendering the dashboards failed: ${(error as Error).message}` };
  }
}

function stackName(stackConfigDir: string): string {
  try {
    return loadToillessConfig(stackConfigDir).report.stackName;
  } catch {
    return 'toilless';
  }
}
