/**
 * Loki evidence, aggregate first: error-log volume per step over the window (spikes against the
 * median of the steps before), then a bounded sample of error lines grouped by message template, and
 * the trace ids those lines carry (for Tempo).
 *
 * Levels come from `detected_level`, which Loki 3.x adds as structured metadata at ingest from a JSON
 * or logfmt `level` field, an OTLP severity or keywords in the line: one query covers every log
 * format without a parser (a parser would also split the streams by every extracted field). A Loki
 * that sends no detected_level (discover_log_levels off, Loki 2.x) gets a keyword line filter instead.
 */
import {
  extractTraceIds,
  type LogLine,
  type LokiClient,
  type MetricSeries,
} from '../../shared/clients/loki.js';
import type { EvidenceRequest, Relevance, TimelineEvent } from '../model.js';
import { exploreLogsUrl } from './explore-links.js';
import type { SourceFindings } from './findings.js';
import { queryWindow, shortHash } from './query-window.js';

export interface LokiEvidenceOptions {
  readonly client: LokiClient;
  /** The service's LogQL stream selector (toilless.yaml services.<name>.logSelector). */
  readonly selector: string;
  /** toilless.yaml links.grafanaUrl, for Explore links. */
  readonly grafanaUrl: string;
  /** Error lines sampled at most (toilless.yaml incidents.maxErrorLines). */
  readonly maxErrorLines: number;
  /** Message templates reported one by one at most; the rest are summarised in one event. @default 10 */
  readonly maxTemplates?: number;
  /** Trace ids handed to Tempo at most. @default 10 */
  readonly maxTraceIds?: number;
  /** Receives the sampled lines' trace ids as soon as they are known (an empty list when the sample failed). */
  readonly onTraceIds?: (traceIds: readonly string[]) => void;
}

/** detected_level values that count as errors (Loki lower-cases the ones it derives). */
export const ERROR_LEVELS = [
  'error',
  'err',
  'critical',
  'crit',
  'fatal',
  'panic',
  'emergency',
  'emerg',
  'alert',
];
const ERROR_LEVEL_PATTERN = `(?i)(${ERROR_LEVELS.join('|')})`;
const ERROR_KEYWORDS = '(?i)(error|exception|fatal|panic)';

/** A step must have more errors than this to be a spike, whatever the baseline (a few errors are noise). */
export const SPIKE_FLOOR = 5;
/** ... and more than this many times the median of the steps before it. */
export const SPIKE_FACTOR = 3;
/** A spike starting this close to the estimated onset is the one that matches the alert. */
const NEAR_ONSET_MS = 15 * 60_000;
/** Spike events at most; the earliest are kept. */
const MAX_SPIKES = 10;
/** Steps per volume query at most, far under Loki's 11,000 points. */
const MAX_STEPS = 5_000;

export type ErrorFilter = 'detected_level' | 'keywords';

/** The metric query of log volume by level, one count per step. */
export function volumeQuery(selector: string, stepSeconds: number): string {
  return `sum by (detected_level) (count_over_time(${selector} [${stepSeconds}s]))`;
}

/** The log query of error lines. */
export function errorLinesQuery(selector: string, filter: ErrorFilter = 'detected_level'): string {
  return filter === 'detected_level'
    ? `${selector} | detected_level=~${JSON.stringify(ERROR_LEVEL_PATTERN)}`
    : `${selector} |~ ${JSON.stringify(ERROR_KEYWORDS)}`;
}

/** One minute per step, or more for windows so long that minutes would exceed MAX_STEPS. */
export function volumeStepSeconds(from: Date, to: Date): number {
  const minutes = Math.max(1, (to.getTime() - from.getTime()) / 60_000);
  return 60 * Math.max(1, Math.ceil(minutes / MAX_STEPS));
}

export interface StepCount {
  /** The step's evaluation time: it counts the lines of (at - step, at]. */
  readonly at: Date;
  readonly count: number;
}

export interface ErrorSpike {
  readonly start: Date;
  /** The last step of the spike. */
  readonly end: Date;
  readonly steps: number;
  readonly peak: StepCount;
  /** Errors over the spike's steps. */
  readonly total: number;
  /** Median errors per step before the spike's first step. */
  readonly baseline: number;
  /** What the first step had to exceed: max(SPIKE_FACTOR x baseline, SPIKE_FLOOR). */
  readonly threshold: number;
}

/**
 * Runs of consecutive steps whose error count exceeds max(factor x the median of all the steps before
 * it, floor). `counts` must be in time order with empty steps present as 0.
 */
export function findErrorSpikes(
  counts: readonly StepCount[],
  options: { readonly floor?: number; readonly factor?: number } = {},
): ErrorSpike[] {
  const floor = options.floor ?? SPIKE_FLOOR;
  const factor = options.factor ?? SPIKE_FACTOR;
  const before: number[] = [];
  const spikes: ErrorSpike[] = [];
  let current: SpikeRun | undefined;
  for (const step of counts) {
    const baseline = median(before);
    const threshold = Math.max(factor * baseline, floor);
    if (step.count > threshold) {
      if (current === undefined) {
        current = { start: step, end: step, steps: 0, peak: step, total: 0, baseline, threshold };
      }
      current.end = step;
      current.steps++;
      current.total += step.count;
      if (step.count > current.peak.count) current.peak = step;
    } else if (current !== undefined) {
      spikes.push(toSpike(current));
      current = undefined;
    }
    insertSorted(before, step.count);
  }
  if (current !== undefined) spikes.push(toSpike(current));
  return spikes;
}

/** The steps above the threshold so far, while a spike is being followed. */
interface SpikeRun {
  start: StepCount;
  end: StepCount;
  steps: number;
  peak: StepCount;
  total: number;
  baseline: number;
  threshold: number;
}

function toSpike(run: SpikeRun): ErrorSpike {
  return {
    start: run.start.at,
    end: run.end.at,
    steps: run.steps,
    peak: run.peak,
    total: run.total,
    baseline: run.baseline,
    threshold: run.threshold,
  };
}

/**
 * Errors per step from a volume query's series, empty steps filled with 0, over the aligned window.
 * With `levelLabel`, only series whose level is an error level count; without, every series does.
 */
export function errorCountsPerStep(
  series: readonly MetricSeries[],
  from: Date,
  to: Date,
  stepSeconds: number,
  options: { readonly levelLabel?: string } = {},
): StepCount[] {
  const label = options.levelLabel;
  const stepMs = stepSeconds * 1000;
  const errors = new Map<number, number>();
  for (const { metric, values } of series) {
    if (label !== undefined && !isErrorLevel(metric[label])) continue;
    for (const { at, value } of values) errors.set(at.getTime(), (errors.get(at.getTime()) ?? 0) + value);
  }
  // Loki evaluates at step multiples from start rounded down to end rounded up (query-frontend alignment).
  const first = Math.floor(from.getTime() / stepMs) * stepMs;
  const last = Math.ceil(to.getTime() / stepMs) * stepMs;
  const counts: StepCount[] = [];
  for (let at = first; at <= last; at += stepMs)
    counts.push({ at: new Date(at), count: errors.get(at) ?? 0 });
  return counts;
}

export function isErrorLevel(level: string | undefined): boolean {
  return level !== undefined && ERROR_LEVELS.includes(level.toLowerCase());
}

export interface ErrorTemplate {
  readonly template: string;
  readonly count: number;
  /** Oldest and newest line of the template in the sample. */
  readonly first: LogLine;
  readonly last: LogLine;
  /** Trace ids of the template's lines, oldest line first, each once. */
  readonly traceIds: readonly string[];
}

/**
 * The message of a log line: the `msg`/`message`/`error` field of a JSON or logfmt line, else the line
 * (OTLP bodies and plain text are the message).
 */
export function messageOf(line: string): string {
  const text = line.trim();
  if (text.startsWith('{') && text.endsWith('}')) {
    try {
      const record: unknown = JSON.parse(text);
      if (typeof record === 'object' && record !== null) {
        for (const field of ['msg', 'message', 'error', 'err']) {
          const value = (record as Record<string, unknown>)[field];
          if (typeof value === 'string' && value !== '') return value;
        }
      }
    } catch {
      // Not JSON after all.
    }
  }
  const logfmt = logfmtMessage(text);
  if (logfmt !== undefined) {
    if (!logfmt.startsWith('"')) return logfmt;
    try {
      return JSON.parse(logfmt) as string;
    } catch {
      return logfmt.slice(1, -1);
    }
  }
  return text;
}

/**
 * The raw value of the first `msg=`/`message=` pair that starts the line or follows whitespace: a
 * double-quoted string with backslash escapes, else the run of non-whitespace after `=`. A single
 * left-to-right scan, because log lines are attacker-influenced and a backtracking pattern is not.
 */
function logfmtMessage(text: string): string | undefined {
  let msgAt = text.indexOf('msg=');
  let messageAt = text.indexOf('message=');
  while (msgAt !== -1 || messageAt !== -1) {
    const isMsg = messageAt === -1 || (msgAt !== -1 && msgAt < messageAt);
    const at = isMsg ? msgAt : messageAt;
    if (isMsg) msgAt = text.indexOf('msg=', at + 1);
    else messageAt = text.indexOf('message=', at + 1);
    if (at > 0 && !WHITESPACE.test(text.charAt(at - 1))) continue;
    const value = logfmtValueAt(text, at + (isMsg ? 'msg='.length : 'message='.length));
    if (value !== '') return value;
  }
  return undefined;
}

/**
 * A double-quoted logfmt value, written so that each character has one way to match (the classes are
 * disjoint), so a value that never closes fails in one pass; sticky, so it is tried at one place only.
 */
const QUOTED_VALUE = /"[^"\\]*(?:\\.[^"\\]*)*"/y;
const BARE_VALUE = /\S*/y;
const WHITESPACE = /\s/;

/** The quoted string or non-whitespace run starting at `start`; '' when whitespace or the end is there. */
function logfmtValueAt(text: string, start: number): string {
  const first = text.charAt(start);
  if (first === '' || WHITESPACE.test(first)) return '';
  if (first === '"') {
    QUOTED_VALUE.lastIndex = start;
    const quoted = QUOTED_VALUE.exec(text);
    if (quoted !== null) return quoted[0];
    // Unterminated: the bare run, the quote included.
  }
  BARE_VALUE.lastIndex = start;
  return BARE_VALUE.exec(text)?.[0] ?? '';
}

const MAX_TEMPLATE_LENGTH = 200;

/** A message with what varies between occurrences replaced: uuids, hex ids, IP addresses, numbers. */
export function messageTemplate(message: string): string {
  const template = message
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>')
    .replace(/\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b/gi, '<id>')
    .replace(/\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b/g, '<ip>')
    .replace(/\d+(?:\.\d+)?/g, '<n>')
    .replace(/\s+/g, ' ')
    .trim();
  return template.length > MAX_TEMPLATE_LENGTH ? `${template.slice(0, MAX_TEMPLATE_LENGTH)}…` : template;
}

/** Lines grouped by message template, the most frequent first (ties: the one seen first). */
export function groupErrorLines(lines: readonly LogLine[]): ErrorTemplate[] {
  const oldestFirst = [...lines].sort((a, b) => compareNs(a.tsNs, b.tsNs));
  const groups = new Map<string, { count: number; first: LogLine; last: LogLine; traceIds: Set<string> }>();
  for (const line of oldestFirst) {
    const template = messageTemplate(messageOf(line.line));
    let group = groups.get(template);
    if (!group) {
      group = { count: 0, first: line, last: line, traceIds: new Set() };
      groups.set(template, group);
    }
    group.count++;
    group.last = line;
    for (const id of extractTraceIds([line])) group.traceIds.add(id);
  }
  return [...groups]
    .map(([template, group]) => ({ template, ...group, traceIds: [...group.traceIds] }))
    .sort((a, b) => b.count - a.count || compareNs(a.first.tsNs, b.first.tsNs));
}

/** Up to `max` trace ids, taken in turn from each template (most frequent first), oldest line first. */
export function traceIdsToFetch(templates: readonly ErrorTemplate[], max: number): string[] {
  const chosen = new Set<string>();
  for (let round = 0; chosen.size < max; round++) {
    let any = false;
    for (const template of templates) {
      const id = template.traceIds[round];
      if (id === undefined) continue;
      any = true;
      chosen.add(id);
      if (chosen.size >= max) break;
    }
    if (!any) break;
  }
  return [...chosen];
}

/** Volume and sample run side by side; the sample's trace ids go to `onTraceIds` as soon as it is in. */
export async function gatherLokiEvidence(
  request: EvidenceRequest,
  signal: AbortSignal,
  findings: SourceFindings,
  options: LokiEvidenceOptions,
): Promise<void> {
  const { from, to } = queryWindow(request);
  const stepSeconds = volumeStepSeconds(from, to);
  const sample = (chosen: ErrorFilter) =>
    options.client.sampleLines(errorLinesQuery(options.selector, chosen), {
      start: from,
      end: to,
      limit: options.maxErrorLines,
      direction: 'backward',
      signal,
    });
  // The sample goes first: Tempo waits for its trace ids, while nothing waits for the volume.
  const levelSample = sample('detected_level');
  const volume = options.client.queryRangeMatrix(volumeQuery(options.selector, stepSeconds), {
    start: from,
    end: to,
    stepSeconds,
    signal,
  });
  // Lines counted without any detected_level mean Loki does not detect levels: fall back to keywords.
  const filter: Promise<ErrorFilter> = volume.then(
    (series) =>
      series.length > 0 && series.every((s) => s.metric['detected_level'] === undefined)
        ? 'keywords'
        : 'detected_level',
    () => 'detected_level',
  );
  // Each is awaited by the part that reports its failure; these keep an early failure from being unhandled.
  volume.catch(() => undefined);
  levelSample.catch(() => undefined);

  let traceIdsSent = false;
  const sendTraceIds = (ids: readonly string[]) => {
    if (traceIdsSent) return;
    traceIdsSent = true;
    options.onTraceIds?.(ids);
  };
  try {
    await Promise.all([
      findings.part(async () => {
        const chosen = await filter;
        const series =
          chosen === 'detected_level'
            ? await volume
            : await options.client.queryRangeMatrix(
                `sum(count_over_time(${errorLinesQuery(options.selector, 'keywords')} [${stepSeconds}s]))`,
                { start: from, end: to, stepSeconds, signal },
              );
        const counts = errorCountsPerStep(
          series,
          from,
          to,
          stepSeconds,
          chosen === 'detected_level' ? { levelLabel: 'detected_level' } : {},
        );
        return spikeEvents(request, options, counts, stepSeconds, chosen);
      }),
      findings.part(async () => {
        let lines = await levelSample;
        let chosen: ErrorFilter = 'detected_level';
        // The volume answer matters only when the level filter found nothing: it tells whether levels exist.
        if (lines.lines.length === 0 && (await filter) === 'keywords') {
          chosen = 'keywords';
          lines = await sample(chosen);
        }
        const templates = groupErrorLines(lines.lines);
        sendTraceIds(traceIdsToFetch(templates, options.maxTraceIds ?? 10));
        return errorEvents(request, options, templates, lines.lines.length, lines.truncated, chosen);
      }),
    ]);
  } finally {
    sendTraceIds([]);
  }
}

function spikeEvents(
  request: EvidenceRequest,
  options: LokiEvidenceOptions,
  counts: readonly StepCount[],
  stepSeconds: number,
  filter: ErrorFilter,
): TimelineEvent[] {
  const spikes = findErrorSpikes(counts).slice(0, MAX_SPIKES);
  const onset = request.onset.getTime();
  const nearOnset = spikes.find((spike) => Math.abs(spike.start.getTime() - onset) <= NEAR_ONSET_MS);
  const per = stepSeconds === 60 ? 'min' : `${stepSeconds / 60} min`;
  const { from, to } = queryWindow(request);
  const link = {
    title: 'Error logs in Grafana Explore',
    url: exploreLogsUrl(options.grafanaUrl, errorLinesQuery(options.selector, filter), from, to),
  };
  return spikes.map((spike) => {
    const length = (spike.steps * stepSeconds) / 60;
    return {
      at: spike.start.toISOString(),
      kind: 'log.spike',
      source: 'loki',
      summary: `Error logs spiked to ${spike.peak.count}/${per} (baseline ${formatCount(spike.baseline)}/${per}): ${spike.total} errors in ${length} min`,
      relevance: spike === nearOnset ? 'high' : 'normal',
      links: [link],
      details: {
        key: `loki:spike:${request.service}:${spike.start.toISOString()}`,
        start: spike.start.toISOString(),
        end: spike.end.toISOString(),
        stepSeconds,
        peak: spike.peak.count,
        peakAt: spike.peak.at.toISOString(),
        total: spike.total,
        baseline: spike.baseline,
        threshold: spike.threshold,
        selector: options.selector,
        errorFilter: filter,
      },
    } satisfies TimelineEvent;
  });
}

function errorEvents(
  request: EvidenceRequest,
  options: LokiEvidenceOptions,
  templates: readonly ErrorTemplate[],
  sampled: number,
  truncated: boolean,
  filter: ErrorFilter,
): TimelineEvent[] {
  const { from, to } = queryWindow(request);
  const query = errorLinesQuery(options.selector, filter);
  const link = {
    title: 'Error logs in Grafana Explore',
    url: exploreLogsUrl(options.grafanaUrl, query, from, to),
  };
  const limit = options.maxTemplates ?? 10;
  const of = truncated ? `of the newest ${sampled} error lines` : `of ${sampled} error lines`;
  const events: TimelineEvent[] = templates.slice(0, limit).map((template, index) => {
    const relevance: Relevance = index === 0 ? 'high' : 'normal';
    return {
      at: template.first.at.toISOString(),
      kind: 'log.error',
      source: 'loki',
      severity: template.first.labels['detected_level'] ?? 'error',
      summary: `Error log "${template.template}": ${template.count} ${of}`,
      relevance,
      links: [link],
      details: {
        key: `loki:error:${request.service}:${shortHash(template.template)}`,
        template: template.template,
        count: template.count,
        sampled,
        sampleTruncated: truncated,
        firstAt: template.first.at.toISOString(),
        lastAt: template.last.at.toISOString(),
        example: template.first.line.slice(0, 500),
        traceIds: template.traceIds.slice(0, 5),
        query,
      },
    };
  });
  const rest = templates.slice(limit);
  if (rest.length > 0) {
    const lines = rest.reduce((sum, template) => sum + template.count, 0);
    const first = rest.reduce((a, b) => (compareNs(a.first.tsNs, b.first.tsNs) <= 0 ? a : b));
    events.push({
      at: first.first.at.toISOString(),
      kind: 'log.error',
      source: 'loki',
      summary: `${rest.length} more error messages: ${lines} ${of}`,
      relevance: 'low',
      links: [link],
      details: {
        key: `loki:error-rest:${request.service}`,
        templates: rest.slice(0, 20).map(({ template, count }) => ({ template, count })),
        lines,
      },
    });
  }
  return events;
}

function median(sorted: readonly number[]): number {
  if (sorted.length === 0) return 0;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** Keeps `sorted` ascending: binary search, then one splice (windows hold a few thousand steps at most). */
function insertSorted(sorted: number[], value: number): void {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((sorted[mid] ?? 0) <= value) low = mid + 1;
    else high = mid;
  }
  sorted.splice(low, 0, value);
}

function compareNs(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

function formatCount(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}
