/**
 * How a panel's PromQL becomes queries over the report window, as Grafana would run it: the step
 * (resolution) of range queries, Grafana's built-in variables, the legend of each series and the
 * reduction of a series to one stat value. Pure.
 */
import type { ReportWindow } from '../model.js';

/** Round steps a range query may use, in seconds. */
const STEPS = [15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400];

/** Points a chart aims for: enough for a smooth line on a quarter of an A4 page, few enough to stay fast. */
export const TARGET_POINTS = 400;

/** Grafana's interval strings ("15s", "5m", "1h", "1d", "1w"; ">1m" as a minimum) in seconds. */
export function parseInterval(text: string | null | undefined): number | undefined {
  const match = /^>?\s*(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)$/.exec((text ?? '').trim());
  if (match === null) return undefined;
  const factor = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 }[match[2] as 'ms'];
  return Number(match[1]) * factor;
}

/**
 * The step of a range query: the smallest round step giving at most TARGET_POINTS points over the
 * window, and never below the panel's minimum interval (a panel with "1d" gets daily points).
 */
export function chooseStep(window: ReportWindow, minIntervalSeconds?: number): number {
  const span = Math.max(1, (window.to.getTime() - window.from.getTime()) / 1000);
  const step =
    STEPS.find((candidate) => span / candidate <= TARGET_POINTS) ?? Math.ceil(span / TARGET_POINTS);
  return Math.max(step, minIntervalSeconds ?? 0);
}

/** A duration as PromQL writes it, in whole seconds: "604800s". */
export function promDuration(seconds: number): string {
  return `${Math.max(1, Math.round(seconds))}s`;
}

/**
 * Grafana's built-in variables for a query over the window at this step. $__rate_interval is
 * max($__interval + scrape interval, 4 x scrape interval), as Grafana computes it.
 */
export function builtInVariables(
  window: ReportWindow,
  stepSeconds: number,
  scrapeIntervalSeconds: number,
): Record<string, string> {
  const rangeSeconds = (window.to.getTime() - window.from.getTime()) / 1000;
  return {
    __range: promDuration(rangeSeconds),
    __range_s: String(Math.round(rangeSeconds)),
    __range_ms: String(Math.round(rangeSeconds * 1000)),
    __interval: promDuration(stepSeconds),
    __interval_ms: String(Math.round(stepSeconds * 1000)),
    __rate_interval: promDuration(Math.max(stepSeconds + scrapeIntervalSeconds, 4 * scrapeIntervalSeconds)),
    __auto: promDuration(stepSeconds),
    __from: String(window.from.getTime()),
    __to: String(window.to.getTime()),
  };
}

/**
 * Replaces $name, ${name} and [[name]] with their values. An unknown name is left as written, as
 * Grafana does: the query then fails in Prometheus and the panel says why.
 */
export function substituteVariables(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(
    /\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g,
    (whole, braced: string | undefined, bracketed: string | undefined, plain: string | undefined) => {
      const name = braced ?? bracketed ?? plain ?? '';
      return values[name] ?? whole;
    },
  );
}

/** The legend of a series: the legendFormat with {{label}} replaced, else Grafana's default name. */
export function seriesLegend(
  legendFormat: string | undefined,
  labels: Readonly<Record<string, string>>,
): string {
  if (legendFormat !== undefined && legendFormat !== '' && legendFormat !== '__auto') {
    return legendFormat.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_, name: string) => labels[name] ?? '').trim();
  }
  const { __name__: name, ...rest } = labels;
  const pairs = Object.entries(rest)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key}="${value}"`);
  if (pairs.length === 0) return name ?? 'value';
  return `${name ?? ''}{${pairs.join(', ')}}`;
}

/** Grafana's reducers (reduceOptions.calcs) a stat, gauge or bar gauge may ask for. */
export type Reducer =
  | 'lastNotNull'
  | 'last'
  | 'firstNotNull'
  | 'first'
  | 'mean'
  | 'max'
  | 'min'
  | 'sum'
  | 'count'
  | 'range'
  | 'diff';

const REDUCERS: readonly Reducer[] = [
  'lastNotNull',
  'last',
  'firstNotNull',
  'first',
  'mean',
  'max',
  'min',
  'sum',
  'count',
  'range',
  'diff',
];

/** The panel's reducer; Grafana's default (lastNotNull) when it names none or one not supported here. */
export function panelReducer(calcs: readonly string[] | undefined): Reducer {
  const first = calcs?.[0];
  return REDUCERS.find((reducer) => reducer === first) ?? 'lastNotNull';
}

/** A series reduced to one value; null when it has no value to reduce. */
export function reduceSeries(values: readonly number[], reducer: Reducer): number | null {
  const present = values.filter((value) => !Number.isNaN(value));
  if (reducer === 'count') return present.length;
  if (reducer === 'last') return values.length === 0 ? null : (values.at(-1) ?? null);
  if (reducer === 'first') return values.length === 0 ? null : (values[0] ?? null);
  if (present.length === 0) return null;
  switch (reducer) {
    case 'lastNotNull':
      return present.at(-1) ?? null;
    case 'firstNotNull':
      return present[0] ?? null;
    case 'mean':
      return present.reduce((sum, value) => sum + value, 0) / present.length;
    case 'sum':
      return present.reduce((sum, value) => sum + value, 0);
    case 'max':
      return Math.max(...present);
    case 'min':
      return Math.min(...present);
    case 'range':
      return Math.max(...present) - Math.min(...present);
    case 'diff':
      return (present.at(-1) ?? 0) - (present[0] ?? 0);
  }
}
