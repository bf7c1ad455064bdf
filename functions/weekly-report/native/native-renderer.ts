/**
 * The native rendering mode: no Grafana needed. The shipped dashboard JSON is read from the
 * stack-config directory; each time series, stat, gauge, bar gauge and table panel's PromQL is evaluated
 * against Prometheus over the report window and handed to the PDF assembly as data. Log and trace
 * panels (Loki, Tempo) are listed with a Grafana Explore link. A query that fails makes its panel
 * 'failed' with the reason; the report goes on.
 */
import type { PrometheusClient, PrometheusSeries } from '../../shared/clients/prometheus.js';
import type {
  DashboardRenderer,
  PanelContent,
  PanelValue,
  RenderedDashboard,
  RenderedPanel,
  RenderProgress,
  ReportWindow,
  Series,
} from '../model.js';
import {
  type DashboardJson,
  loadShippedDashboards,
  type PanelJson,
  type TargetJson,
} from './dashboard-json.js';
import { type PlannedPanel, planRows } from './dashboard-rows.js';
import { defaultFormat, fieldDisplay, mappedValue, sameFormat } from './field-display.js';
import {
  builtInVariables,
  chooseStep,
  panelReducer,
  parseInterval,
  promDuration,
  reduceSeries,
  seriesLegend,
  substituteVariables,
} from './query-plan.js';
import { organizeTable, seriesTable } from './table.js';
import { type ResolvedVariable, resolveVariables } from './variables.js';

/** The Prometheus calls the renderer makes (PrometheusClient has them). */
export type PrometheusQueries = Pick<PrometheusClient, 'query' | 'queryRange'>;

export interface NativeRendererOptions {
  /** The stack-config directory the runtime is given; dashboards are read from grafana/dashboards/ in it. */
  readonly stackConfigDir: string;
  readonly prometheus: PrometheusQueries;
  /** GRAFANA_URL, for the dashboard links and the Explore links of log and trace panels. */
  readonly grafanaUrl: string;
  /** Panels evaluated at the same time. @default 4 */
  readonly concurrency?: number;
  /** The scrape interval $__rate_interval is computed from. @default 15 */
  readonly scrapeIntervalSeconds?: number;
}

/** Panel types drawn from their data; others are listed with a link. */
const CHART_TYPES = new Set(['timeseries', 'graph', 'state-timeline']);
const VALUE_TYPES = new Set(['stat', 'gauge', 'bargauge']);
const LOG_AND_TRACE_SOURCES: Readonly<Record<string, string>> = { loki: 'Loki', tempo: 'Tempo' };
/** Series drawn per chart: more lines than this are unreadable on a page and only grow the PDF. */
export const MAX_SERIES_PER_CHART = 100;
/** Longest panel text (title, description, failure reason) kept from the dashboard or an error. */
const MAX_TEXT = 500;

export function createNativeRenderer(options: NativeRendererOptions): DashboardRenderer {
  return {
    mode: 'native',
    render: (dashboards, window, renderOptions) => renderNative(options, dashboards, window, renderOptions),
  };
}

interface PanelJob {
  readonly dashboard: DashboardJson;
  readonly variables: ReadonlyMap<string, ResolvedVariable>;
  readonly planned: PlannedPanel;
  content?: PanelContent;
}

async function renderNative(
  options: NativeRendererOptions,
  uids: readonly string[],
  window: ReportWindow,
  renderOptions: { readonly signal?: AbortSignal; readonly onProgress?: RenderProgress },
): Promise<readonly RenderedDashboard[]> {
  const signal = renderOptions.signal;
  const dashboards = await loadShippedDashboards(options.stackConfigDir, uids);
  const grafanaUrl = options.grafanaUrl.replace(/\/+$/, '');
  const lookup = async (selector: string | undefined, label: string): Promise<string[]> => {
    const range = promDuration((window.to.getTime() - window.from.getTime()) / 1000);
    const inner = selector ?? `{${label}!=""}`;
    const series = await options.prometheus.query(
      `count by (${label}) (last_over_time(${inner}[${range}]))`,
      {
        time: window.to,
        ...(signal ? { signal } : {}),
      },
    );
    return [
      ...new Set(series.map((entry) => entry.metric[label]).filter((value): value is string => !!value)),
    ];
  };

  const planned: { dashboard: DashboardJson; rows: { title: string | null; jobs: PanelJob[] }[] }[] = [];
  for (const dashboard of dashboards) {
    // A variable that cannot be looked up leaves its panels without data rather than failing the report.
    const variables = await resolveVariables(dashboard, (selector, label) =>
      lookup(selector, label).catch(() => []),
    );
    const rows = planRows(dashboard.panels ?? [], variables).map((row) => {
      const texts = titleTexts(variables, row.overrides);
      return {
        title: row.title === null ? null : bounded(substituteVariables(row.title, texts)),
        jobs: row.panels.map((panel): PanelJob => ({ dashboard, variables, planned: panel })),
      };
    });
    planned.push({ dashboard, rows });
  }

  const jobs = planned.flatMap((entry) => entry.rows.flatMap((row) => row.jobs));
  let done = 0;
  await forEachLimited(jobs, options.concurrency ?? 4, async (job) => {
    signal?.throwIfAborted();
    try {
      job.content = await renderPanel(options, grafanaUrl, job, window, signal);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      job.content = { kind: 'failed', reason: bounded(reasonOf(error)) };
    }
    done += 1;
    renderOptions.onProgress?.(done, jobs.length, panelTitle(job));
  });

  return planned.map(({ dashboard, rows }) => ({
    uid: dashboard.uid,
    title: dashboard.title,
    url: `${grafanaUrl}/d/${encodeURIComponent(dashboard.uid)}?from=${window.from.getTime()}&to=${window.to.getTime()}`,
    rows: rows.map((row) => ({
      title: row.title,
      panels: row.jobs.map((job): RenderedPanel => {
        const description = job.planned.panel.description;
        const variables = titleTexts(job.variables, job.planned.overrides);
        return {
          title: panelTitle(job),
          ...(typeof description === 'string' && description !== ''
            ? { description: bounded(substituteVariables(description, variables)) }
            : {}),
          gridPos: job.planned.gridPos,
          content: job.content ?? { kind: 'failed', reason: 'not rendered' },
        };
      }),
    })),
  }));
}

function panelTitle(job: PanelJob): string {
  return bounded(
    substituteVariables(job.planned.panel.title ?? '', titleTexts(job.variables, job.planned.overrides)),
  );
}

function bounded(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text;
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Variable texts for titles ("All", a value), the repeat's own value over the dashboard's. */
function titleTexts(
  variables: ReadonlyMap<string, ResolvedVariable>,
  overrides: Readonly<Record<string, ResolvedVariable>>,
): Record<string, string> {
  const texts: Record<string, string> = {};
  for (const [name, variable] of variables) texts[name] = variable.text;
  for (const [name, variable] of Object.entries(overrides)) texts[name] = variable.text;
  return texts;
}

function queryValues(
  variables: ReadonlyMap<string, ResolvedVariable>,
  overrides: Readonly<Record<string, ResolvedVariable>>,
): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, variable] of variables) values[name] = variable.value;
  for (const [name, variable] of Object.entries(overrides)) values[name] = variable.value;
  return values;
}

function datasourceType(panel: PanelJson, target?: TargetJson): string {
  return target?.datasource?.type ?? panel.datasource?.type ?? 'prometheus';
}

async function renderPanel(
  options: NativeRendererOptions,
  grafanaUrl: string,
  job: PanelJob,
  window: ReportWindow,
  signal: AbortSignal | undefined,
): Promise<PanelContent> {
  const { panel } = job.planned;
  const step = chooseStep(window, parseInterval(panel.interval));
  const values = {
    ...builtInVariables(window, step, options.scrapeIntervalSeconds ?? 15),
    ...queryValues(job.variables, job.planned.overrides),
  };
  const targets = (panel.targets ?? []).filter((target) => target.hide !== true);
  const logOrTrace = targets.find((target) => datasourceType(panel, target) in LOG_AND_TRACE_SOURCES);
  const source = LOG_AND_TRACE_SOURCES[datasourceType(panel, logOrTrace)];
  if (logOrTrace !== undefined && source !== undefined) {
    const query = substituteVariables(logOrTrace.expr ?? logOrTrace.query ?? '', values);
    return {
      kind: 'link',
      url: exploreUrl(grafanaUrl, panel, logOrTrace, query, window),
      note: bounded(
        `${source} ${source === 'Loki' ? 'logs' : 'traces'}: open in Grafana Explore. Query: ${query}`,
      ),
    };
  }
  const isChart = CHART_TYPES.has(panel.type);
  const isValue = VALUE_TYPES.has(panel.type);
  if (!isChart && !isValue && panel.type !== 'table') {
    return {
      kind: 'link',
      url: `${grafanaUrl}/d/${encodeURIComponent(job.dashboard.uid)}?viewPanel=${panel.id ?? ''}&from=${window.from.getTime()}&to=${window.to.getTime()}`,
      note: `A ${panel.type} panel is not drawn in the report: open it in Grafana.`,
    };
  }
  const prometheusTargets = targets.filter(
    (target) => datasourceType(panel, target) === 'prometheus' && (target.expr ?? '') !== '',
  );
  const format = defaultFormat(panel);
  const range = async (target: TargetJson): Promise<PrometheusSeries[]> => {
    const targetStep = Math.max(step, parseInterval(target.interval) ?? 0);
    return options.prometheus.queryRange(substituteVariables(target.expr ?? '', values), {
      start: window.from,
      end: window.to,
      stepSeconds: targetStep,
      ...(signal ? { signal } : {}),
    });
  };
  const instant = (target: TargetJson): Promise<PrometheusSeries[]> =>
    options.prometheus.query(substituteVariables(target.expr ?? '', values), {
      time: window.to,
      ...(signal ? { signal } : {}),
    });
  const isInstant = (target: TargetJson): boolean => target.instant === true && target.range !== true;

  if (isChart) {
    const results = await Promise.all(prometheusTargets.map(range));
    const series: Series[] = results.flatMap((result, index) => {
      const target = prometheusTargets[index];
      return result.map((entry) => {
        const name = bounded(seriesLegend(target?.legendFormat, entry.metric));
        const display = fieldDisplay(panel, { refId: target?.refId ?? 'A', name });
        const sign = display.negativeY ? -1 : 1;
        return {
          name,
          points: entry.points.map((point) => [point.at.getTime() / 1000, sign * point.value] as const),
          ...(sameFormat(display.format, format) ? {} : { format: display.format }),
        };
      });
    });
    return { kind: 'timeseries', series: series.slice(0, MAX_SERIES_PER_CHART), format };
  }
  if (isValue) {
    const reducer = panelReducer(panel.options?.reduceOptions?.calcs);
    const results = await Promise.all(
      prometheusTargets.map(async (target) => ({
        target,
        series: await (isInstant(target) ? instant : range)(target),
      })),
    );
    const entries: PanelValue[] = results.flatMap(({ target, series }) =>
      series.map((entry) => {
        const name = bounded(seriesLegend(target.legendFormat, entry.metric));
        const value = reduceSeries(
          entry.points.map((point) => point.value),
          isInstant(target) ? 'lastNotNull' : reducer,
        );
        const display = fieldDisplay(panel, { refId: target.refId ?? 'A', name });
        const mapped = mappedValue(value, display.mappings);
        return {
          name,
          value,
          ...(sameFormat(display.format, format) ? {} : { format: display.format }),
          ...(mapped === undefined ? {} : { text: bounded(mapped.text) }),
          ...(mapped?.color === undefined ? {} : { color: mapped.color }),
        };
      }),
    );
    return {
      kind: panel.type as 'stat' | 'gauge' | 'bargauge',
      // A lone unnamed value reads as the panel's; Grafana shows no name for it either.
      values:
        entries.length === 1 && (prometheusTargets[0]?.legendFormat ?? '') === ''
          ? entries.map((entry) => ({ ...entry, name: '' }))
          : entries,
      format,
    };
  }
  const results = await Promise.all(
    prometheusTargets.map(async (target) => ({
      refId: target.refId ?? 'A',
      series: await (isInstant(target) ? instant : range)(target),
    })),
  );
  const table = organizeTable(seriesTable(results, window.to), panel.transformations ?? []);
  return { kind: 'table', columns: table.columns, rows: table.rows, format };
}

/** A Grafana Explore link to the query over the report window. */
function exploreUrl(
  grafanaUrl: string,
  panel: PanelJson,
  target: TargetJson,
  query: string,
  window: ReportWindow,
): string {
  const datasource = target.datasource ?? panel.datasource ?? {};
  const isTrace = datasource.type === 'tempo';
  const pane = {
    datasource: datasource.uid ?? datasource.type ?? '',
    queries: [
      {
        refId: 'A',
        datasource: { type: datasource.type, uid: datasource.uid },
        ...(isTrace ? { queryType: target.queryType ?? 'traceql', query } : { expr: query }),
      },
    ],
    range: { from: String(window.from.getTime()), to: String(window.to.getTime()) },
  };
  return `${grafanaUrl}/explore?schemaVersion=1&orgId=1&panes=${encodeURIComponent(JSON.stringify({ report: pane }))}`;
}

/** Runs `work` on every item with at most `limit` at a time; the first error stops the rest and is thrown. */
async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next];
      next += 1;
      if (item !== undefined) await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
