/** LogQL evaluation: the pipeline (filters, parsers, label filters), log queries and metric queries. */
import { BadRequest } from './bad-request.js';
import { compareStrings, exactCeilDiv, labelsKey, sortedLabels } from './labels.js';
import type { Limits } from './limits.js';
import type { LogSource, LogStore } from './log-store.js';
import type { Grouping, LogSelector, Matcher, MetricExpr, Stage } from './parser.js';
import { newStats, type QueryStats } from './stats.js';
import type { Labels } from './types.js';

/** An entry that passed the pipeline, with the label sets it carries. */
export interface Passed {
  readonly source: LogSource;
  readonly index: number;
  readonly metadata: Labels;
  readonly parsed: Labels | undefined;
}

export function selects(source: LogSource, matchers: readonly Matcher[]): boolean {
  return matchers.every((m) => m.test(source.labels[m.name] ?? ''));
}

export function lookup(entry: Passed, name: string): string | undefined {
  return entry.parsed?.[name] ?? entry.metadata[name] ?? entry.source.labels[name];
}

/** Stream labels, structured metadata and parsed labels in one object (plain loops: spreads are slow here). */
export function allLabels(entry: Passed): Labels {
  const labels: Record<string, string> = {};
  for (const part of [entry.source.labels, entry.metadata, entry.parsed ?? {}]) {
    for (const name in part) labels[name] = part[name] ?? '';
  }
  return labels;
}

export function clashes(fields: Labels, labels: Labels, metadata: Labels): boolean {
  for (const name in fields) if (name in labels || name in metadata) return true;
  return false;
}

/** Runs line filters, parsers and label filters; undefined when the entry is filtered out. */
export function runPipeline(
  source: LogSource,
  index: number,
  stages: readonly Stage[],
  stats: QueryStats,
): Passed | undefined {
  const metadata = source.metadata(index);
  let line: string | undefined;
  let parsed: Record<string, string> | undefined;
  stats.linesProcessed++;
  for (const stage of stages) {
    if (stage.kind === 'line') {
      line ??= source.line(index);
      if (!stage.test(line)) return undefined;
    } else if (stage.kind === 'parser') {
      const known = source.parsed?.(index, stage.parser);
      let fields: Labels;
      if (known) {
        fields = known;
      } else {
        line ??= source.line(index);
        fields = stage.parser === 'json' ? parseJsonLine(line) : parseLogfmtLine(line);
      }
      // The common case, one parser and no clash, keeps the fields object as it is: no copy per line.
      if (parsed === undefined && !clashes(fields, source.labels, metadata)) {
        parsed = fields as Record<string, string>;
        continue;
      }
      const merged: Record<string, string> = { ...parsed };
      for (const name in fields) {
        // Loki renames an extracted label that already exists on the stream.
        const taken = name in source.labels || name in metadata;
        merged[taken && !name.startsWith('__') ? `${name}_extracted` : name] = fields[name] ?? '';
      }
      parsed = merged;
    } else {
      const value = parsed?.[stage.name] ?? metadata[stage.name] ?? source.labels[stage.name];
      if (!stage.test(value)) return undefined;
    }
  }
  if (line !== undefined) stats.bytesProcessed += line.length;
  stats.postFilterLines++;
  return { source, index, metadata, parsed };
}

export const NOT_JSON: Labels = {
  __error__: 'JSONParserErr',
  __error_details__: 'the line is not a JSON object',
};

/** `| json`: top-level and nested fields (joined with `_`), names sanitised; arrays are skipped. */
export function parseJsonLine(line: string): Labels {
  // Most lines that are not JSON fail this check: exceptions are too slow to take per line.
  if (!line.trimStart().startsWith('{')) return NOT_JSON;
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return NOT_JSON;
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    return { __error__: 'JSONParserErr', __error_details__: 'Value is not an object' };
  }
  const fields: Record<string, string> = {};
  flattenJson(record as Record<string, unknown>, '', fields);
  return fields;
}

export function flattenJson(
  value: Record<string, unknown>,
  prefix: string,
  fields: Record<string, string>,
): void {
  for (const key in value) {
    const child = value[key];
    const name = prefix + (SAFE_NAME.test(key) ? key : key.replace(/[^A-Za-z0-9_]/g, '_'));
    if (child === null) fields[name] = '';
    else if (Array.isArray(child)) continue;
    else if (typeof child === 'object') flattenJson(child as Record<string, unknown>, `${name}_`, fields);
    else fields[name] = String(child);
  }
}

export const SAFE_NAME = /^[A-Za-z0-9_]+$/;

/** `| logfmt`: key=value pairs, values optionally double-quoted with escapes; a bare key has value "". */
export function parseLogfmtLine(line: string): Labels {
  const fields: Record<string, string> = {};
  const pair = /([^\s=]+)(?:=("(?:[^"\\]|\\.)*"|[^\s"]*))?/g;
  for (const [, key, raw] of line.matchAll(pair)) {
    if (key === undefined) continue;
    let value = raw ?? '';
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        value = value.slice(1, -1);
      }
    }
    fields[key.replace(/[^A-Za-z0-9_]/g, '_')] = value;
  }
  return fields;
}

export interface LogQueryOptions {
  readonly start: bigint;
  readonly end: bigint;
  readonly limit: number;
  readonly direction: 'backward' | 'forward';
  readonly categorize: boolean;
}

export function runLogQuery(store: LogStore, selector: LogSelector, options: LogQueryOptions) {
  const stats = newStats();
  // Each stream gives at most `limit` entries from the right end; the merge keeps the best `limit`.
  const candidates: { ts: bigint; entry: Passed; order: number }[] = [];
  let order = 0;
  for (const source of store.sources()) {
    if (!selects(source, selector.matchers)) continue;
    const low = source.lowerBound(options.start);
    const high = source.lowerBound(options.end);
    let taken = 0;
    if (options.direction === 'backward') {
      for (let i = high - 1; i >= low && taken < options.limit; i--) {
        const entry = runPipeline(source, i, selector.stages, stats);
        if (entry) {
          candidates.push({ ts: source.timestamp(i), entry, order: order++ });
          taken++;
        }
      }
    } else {
      for (let i = low; i < high && taken < options.limit; i++) {
        const entry = runPipeline(source, i, selector.stages, stats);
        if (entry) {
          candidates.push({ ts: source.timestamp(i), entry, order: order++ });
          taken++;
        }
      }
    }
  }
  const sign = options.direction === 'backward' ? -1 : 1;
  candidates.sort((a, b) => (a.ts === b.ts ? a.order - b.order : a.ts < b.ts ? -sign : sign));
  const chosen = candidates.slice(0, options.limit);

  const streams = new Map<string, { stream: Labels; values: unknown[] }>();
  const keys = new KeyCache();
  for (const { ts, entry } of chosen) {
    const line = entry.source.line(entry.index);
    // Keyed by its parts, so the merged label set is built once per output stream, not per entry.
    const key = options.categorize
      ? keys.of(entry.source.labels)
      : `${keys.of(entry.source.labels)}|${keys.of(entry.metadata)}|${entry.parsed ? labelsKey(entry.parsed) : ''}`;
    let group = streams.get(key);
    if (!group) {
      group = {
        stream: options.categorize ? entry.source.labels : sortedLabels(allLabels(entry)),
        values: [],
      };
      streams.set(key, group);
    }
    if (options.categorize) {
      const extra: Record<string, Labels> = {};
      if (Object.keys(entry.metadata).length > 0) extra['structuredMetadata'] = sortedLabels(entry.metadata);
      if (entry.parsed && Object.keys(entry.parsed).length > 0) extra['parsed'] = sortedLabels(entry.parsed);
      group.values.push([ts.toString(), line, extra]);
    } else {
      group.values.push([ts.toString(), line]);
    }
  }
  stats.entriesReturned = chosen.length;
  return { streams: [...streams.values()], stats };
}

/** labelsKey per label object, for objects shared by many entries (stream labels, interned metadata). */
export class KeyCache {
  private readonly keys = new WeakMap<Labels, string>();

  of(labels: Labels): string {
    let key = this.keys.get(labels);
    if (key === undefined) {
      key = labelsKey(labels);
      this.keys.set(labels, key);
    }
    return key;
  }
}

export interface Points {
  /** The first evaluation time. */
  readonly firstNs: bigint;
  readonly stepNs: bigint;
  readonly count: number;
}

export interface Series {
  readonly labels: Labels;
  /** One value per step; 0 means no sample at that step. */
  readonly values: Float64Array;
}

export function evaluateMetric(store: LogStore, expr: MetricExpr, points: Points, limits: Limits) {
  const stats = newStats();
  const series = evaluate(store, expr, points, stats, limits);
  if (series.length > limits.maxSeries) {
    throw new BadRequest(`maximum of series (${limits.maxSeries}) reached for a single query`);
  }
  series.sort((a, b) => compareStrings(labelsKey(a.labels), labelsKey(b.labels)));
  stats.entriesReturned = series.length;
  return { series, stats };
}

export function evaluate(
  store: LogStore,
  expr: MetricExpr,
  points: Points,
  stats: QueryStats,
  limits: Limits,
): Series[] {
  switch (expr.kind) {
    case 'range':
      return evaluateRange(store, expr, points, undefined, stats, limits);
    case 'sum':
      // Grouping while counting keeps memory flat when entries carry unique labels (trace ids).
      if (expr.inner.kind === 'range')
        return evaluateRange(
          store,
          expr.inner,
          points,
          expr.grouping ?? { mode: 'by', labels: [] },
          stats,
          limits,
        );
      return regroup(
        evaluate(store, expr.inner, points, stats, limits),
        expr.grouping ?? { mode: 'by', labels: [] },
        points,
      );
    case 'topk':
      return topk(evaluate(store, expr.inner, points, stats, limits), expr.k, points);
  }
}

export function evaluateRange(
  store: LogStore,
  expr: Extract<MetricExpr, { kind: 'range' }>,
  points: Points,
  grouping: Grouping | undefined,
  stats: QueryStats,
  limits: Limits,
): Series[] {
  const step = Number(points.stepNs);
  const range = Number(expr.rangeNs);
  const lastNs = points.firstNs + BigInt(points.count - 1) * points.stepNs;
  // Grouping by one label (the usual `sum by (level)`) keys series by its value alone.
  const byOne = grouping?.mode === 'by' && grouping.labels.length === 1 ? grouping.labels[0] : undefined;
  // Differences per step: an entry counts for every point t with t - range < ts <= t.
  const bySeries = new Map<string, { labels: Labels; diff: Float64Array }>();
  for (const source of store.sources()) {
    if (!selects(source, expr.selector.matchers)) continue;
    const low = source.lowerBound(points.firstNs - expr.rangeNs + 1n);
    const high = source.lowerBound(lastNs + 1n);
    const offsetOf = source.offsetsFrom(points.firstNs);
    for (let i = low; i < high; i++) {
      const entry = runPipeline(source, i, expr.selector.stages, stats);
      if (!entry) continue;
      let key: string;
      if (byOne !== undefined) key = lookup(entry, byOne) ?? '';
      else if (grouping?.mode === 'by')
        key = grouping.labels.map((name) => lookup(entry, name) ?? '').join('\u0000');
      else key = labelsKey(grouping ? groupLabels(entry, grouping) : allLabels(entry));
      let series = bySeries.get(key);
      if (!series) {
        if (bySeries.size >= limits.maxSeries) {
          throw new BadRequest(`maximum of series (${limits.maxSeries}) reached for a single query`);
        }
        const labels = grouping ? groupLabels(entry, grouping) : sortedLabels(allLabels(entry));
        series = { labels, diff: new Float64Array(points.count + 1) };
        bySeries.set(key, series);
      }
      const offset = offsetOf(i);
      const first = Math.max(0, exactCeilDiv(offset, step));
      const last = Math.min(points.count - 1, exactCeilDiv(offset + range, step) - 1);
      if (first > last) continue;
      series.diff[first] = (series.diff[first] ?? 0) + 1;
      series.diff[last + 1] = (series.diff[last + 1] ?? 0) - 1;
    }
  }
  const rangeSeconds = range / 1e9;
  return [...bySeries.values()].map(({ labels, diff }) => {
    const values = new Float64Array(points.count);
    let running = 0;
    for (let k = 0; k < points.count; k++) {
      running += diff[k] ?? 0;
      values[k] = expr.fn === 'rate' ? running / rangeSeconds : running;
    }
    return { labels, values };
  });
}

export function groupLabels(entry: Passed, grouping: Grouping): Labels {
  if (grouping.mode === 'by') {
    const labels: Record<string, string> = {};
    for (const name of grouping.labels) {
      const value = lookup(entry, name);
      if (value !== undefined && value !== '') labels[name] = value;
    }
    return labels;
  }
  const labels = { ...allLabels(entry) };
  for (const name of grouping.labels) delete labels[name];
  return sortedLabels(labels);
}

export function regroup(series: readonly Series[], grouping: Grouping, points: Points): Series[] {
  const groups = new Map<string, Series>();
  for (const s of series) {
    const labels: Record<string, string> = {};
    for (const [name, value] of Object.entries(s.labels)) {
      if (grouping.labels.includes(name) === (grouping.mode === 'by')) labels[name] = value;
    }
    const key = labelsKey(labels);
    const group = groups.get(key) ?? { labels: sortedLabels(labels), values: new Float64Array(points.count) };
    for (let k = 0; k < points.count; k++) group.values[k] = (group.values[k] ?? 0) + (s.values[k] ?? 0);
    groups.set(key, group);
  }
  return [...groups.values()];
}

/** Prometheus topk: per step, the k largest series keep their value there. */
export function topk(series: readonly Series[], k: number, points: Points): Series[] {
  const kept = series.map((s) => ({ labels: s.labels, values: new Float64Array(points.count) }));
  for (let step = 0; step < points.count; step++) {
    const ranked = series
      .map((s, index) => ({ index, value: s.values[step] ?? 0 }))
      .filter((r) => r.value !== 0)
      .sort((a, b) => b.value - a.value)
      .slice(0, k);
    for (const { index, value } of ranked) {
      const target = kept[index];
      if (target) target.values[step] = value;
    }
  }
  return kept.filter((s) => s.values.some((v) => v !== 0));
}

export function presentSteps(values: Float64Array): number[] {
  const steps: number[] = [];
  values.forEach((value, k) => {
    if (value !== 0) steps.push(k);
  });
  return steps;
}

export function formatSample(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}
