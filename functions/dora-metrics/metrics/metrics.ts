/**
 * The DORA metrics of one repository/environment, computed by a pure function from its ledger, the
 * incidents attributed to its deployments and the time now; and their Prometheus series.
 *
 * Windows are (now - length, now]: a deployment counts in a window when it finished inside it.
 * Quantiles are nearest-rank: the q-quantile of n sorted values is the value at rank ceil(q * n), so
 * every reported value is one that was observed.
 */
import type { TimeSeries } from '../../shared/prometheus/remote-write.js';
import type { ToillessConfig } from '../../shared/stack-config.js';
import type { DeploymentLedger, IncidentFact } from '../model.js';
import { isoMs, SUCCESS_LETTER } from './ledger.js';
import { type PerformanceLevel, performanceLevel } from './performance-levels.js';

const DAY_MS = 86_400_000;

export const METRIC_WINDOWS = [
  { label: '7d', days: 7 },
  { label: '30d', days: 30 },
] as const;

export type WindowLabel = (typeof METRIC_WINDOWS)[number]['label'];

/** Incident start times are accepted up to a day ahead of the clock (the incident timeline's bound). */
const INCIDENT_CLOCK_SKEW_MS = DAY_MS;

/**
 * The incidents that can move the metrics as of `now`: those that started or were resolved after the
 * start of the longest window. An incident counts against a deployment that finished in a window only
 * if it started after that deployment (so inside the window), and in time to restore only if it was
 * resolved inside the window; an older one, open or not, moves nothing.
 */
export function incidentWindowOf(now: Date): { readonly from: Date; readonly to: Date } {
  const longestDays = Math.max(...METRIC_WINDOWS.map((window) => window.days));
  return {
    from: new Date(now.getTime() - longestDays * DAY_MS),
    to: new Date(now.getTime() + INCIDENT_CLOCK_SKEW_MS),
  };
}

export interface Quantiles {
  readonly p50: number;
  readonly p90: number;
  /** How many values they were taken over. */
  readonly count: number;
}

export interface WindowMetrics {
  readonly window: WindowLabel;
  /** Successful deployments that finished in the window. */
  readonly successes: number;
  /** Failed deployments that finished in the window. */
  readonly failures: number;
  /** Successes in the window followed by an attributed critical incident. */
  readonly successesWithIncident: number;
  readonly deploymentFrequencyPerDay: number;
  /** Over the commits of the window's successful deployments; absent when they shipped none that count. */
  readonly leadTimeSeconds?: Quantiles;
  /** Absent when no deployment finished in the window. */
  readonly changeFailureRate?: number;
  /** Over the recoveries that ended in the window; absent when none did. */
  readonly timeToRestoreSeconds?: Quantiles;
  readonly levels: {
    readonly deploymentFrequency: PerformanceLevel;
    readonly leadTime?: PerformanceLevel;
    readonly changeFailureRate?: PerformanceLevel;
    readonly timeToRestore?: PerformanceLevel;
  };
}

export interface DoraMetrics {
  readonly repository: string;
  readonly environment: string;
  readonly production: boolean;
  readonly computedAt: string;
  readonly windows: readonly WindowMetrics[];
}

export interface DoraMetricsInput {
  readonly ledger: DeploymentLedger;
  /** Critical incidents attributed to this ledger's deployments, by deployment id. */
  readonly attributions: ReadonlyMap<string, readonly IncidentFact[]>;
  readonly now: Date;
  readonly levels: ToillessConfig['dora']['levels'];
}

/** Lead times are whole seconds in 32 bits: 136 years, beyond any commit. */
const MAX_SECONDS = 0xffff_ffff;

interface WindowTally {
  readonly label: WindowLabel;
  readonly days: number;
  readonly startMs: number;
  successes: number;
  failures: number;
  successesWithIncident: number;
  /** Where this window's lead times start in the shared buffer (windows share their end, so each is a suffix). */
  leadTimesFrom: number;
  readonly recoveries: number[];
}

/**
 * The metrics for every window in one pass over the ledger in finish order: the lead times of all
 * windows go into one typed array (each window's are a suffix of the longest's), and their quantiles
 * are selected without sorting.
 */
export function computeDoraMetrics(input: DoraMetricsInput): DoraMetrics {
  const nowMs = input.now.getTime();
  const columns = input.ledger.deployments;
  const count = columns.id.length;
  const finished = new Float64Array(count);
  for (let index = 0; index < count; index++) finished[index] = isoMs(columns.finishedAt[index] as string);
  const order = finishOrder(finished);

  const windows: WindowTally[] = METRIC_WINDOWS.map(({ label, days }) => ({
    label,
    days,
    startMs: nowMs - days * DAY_MS,
    successes: 0,
    failures: 0,
    successesWithIncident: 0,
    leadTimesFrom: -1,
    recoveries: [],
  }));
  const earliestStart = Math.min(...windows.map((window) => window.startMs));
  let leadTimes = new Uint32Array(1024);
  let filled = 0;
  let failingSince: number | undefined;

  for (let position = 0; position < count; position++) {
    const index = order === undefined ? position : (order[position] as number);
    const at = finished[index] as number;
    if (at > nowMs) break;
    const success = columns.outcome.charCodeAt(index) === SUCCESS_LETTER;
    if (!success) {
      // A run of failures is one outage, recovered by the next successful deployment.
      failingSince ??= at;
      for (const window of windows) if (at > window.startMs) window.failures++;
      continue;
    }
    if (at > earliestStart) {
      for (const window of windows) {
        if (at <= window.startMs) continue;
        if (window.leadTimesFrom < 0) window.leadTimesFrom = filled;
        window.successes++;
        if ((input.attributions.get(columns.id[index] as string)?.length ?? 0) > 0)
          window.successesWithIncident++;
        if (failingSince !== undefined) window.recoveries.push((at - failingSince) / 1000);
      }
      const text = columns.leadTimeSeconds[index] as string;
      if (filled + text.length + 1 > leadTimes.length) {
        const grown = new Uint32Array(Math.max(leadTimes.length * 2, filled + text.length + 1));
        grown.set(leadTimes.subarray(0, filled));
        leadTimes = grown;
      }
      filled = appendSeconds(text, leadTimes, filled);
    }
    failingSince = undefined;
  }
  for (const incident of uniqueIncidents(input.attributions)) {
    if (incident.resolvedAt === undefined) continue;
    const resolvedMs = isoMs(incident.resolvedAt);
    if (resolvedMs > nowMs) continue;
    const seconds = Math.max(0, (resolvedMs - isoMs(incident.startedAt)) / 1000);
    for (const window of windows) if (resolvedMs > window.startMs) window.recoveries.push(seconds);
  }

  const windowLeadTimes = windows.map((window) =>
    window.leadTimesFrom < 0 ? new Uint32Array(0) : leadTimes.subarray(window.leadTimesFrom, filled),
  );
  return {
    repository: input.ledger.repository,
    environment: input.ledger.environment,
    production: input.ledger.production,
    computedAt: input.now.toISOString(),
    windows: windows.map((window, w) =>
      windowMetrics(window, windowLeadTimes[w] as Uint32Array, input.levels),
    ),
  };
}

function windowMetrics(
  window: WindowTally,
  leadTimeValues: Uint32Array,
  levels: ToillessConfig['dora']['levels'],
): WindowMetrics {
  const all = window.successes + window.failures;
  const frequency = window.successes / window.days;
  const leadTime = wholeSecondQuantiles(leadTimeValues);
  const restore = quantiles(Float64Array.from(window.recoveries));
  const changeFailureRate =
    all === 0 ? undefined : Math.min(1, (window.failures + window.successesWithIncident) / all);
  return {
    window: window.label,
    successes: window.successes,
    failures: window.failures,
    successesWithIncident: window.successesWithIncident,
    deploymentFrequencyPerDay: frequency,
    ...(leadTime === undefined ? {} : { leadTimeSeconds: leadTime }),
    ...(changeFailureRate === undefined ? {} : { changeFailureRate }),
    ...(restore === undefined ? {} : { timeToRestoreSeconds: restore }),
    levels: {
      deploymentFrequency: performanceLevel(frequency, levels.deploymentFrequency),
      ...(leadTime === undefined ? {} : { leadTime: performanceLevel(leadTime.p50, levels.leadTime) }),
      ...(changeFailureRate === undefined
        ? {}
        : { changeFailureRate: performanceLevel(changeFailureRate, levels.changeFailureRate) }),
      ...(restore === undefined
        ? {}
        : { timeToRestore: performanceLevel(restore.p50, levels.timeToRestore) }),
    },
  };
}

/** Appends the space-separated whole numbers of `text` at `position`; answers the new end. */
function appendSeconds(text: string, target: Uint32Array, position: number): number {
  let end = position;
  let value = 0;
  let digits = 0;
  for (let at = 0; at < text.length; at++) {
    const code = text.charCodeAt(at);
    if (code === 32) {
      if (digits > 0) target[end++] = Math.min(value, MAX_SECONDS);
      value = 0;
      digits = 0;
    } else {
      value = value * 10 + (code - 48);
      digits++;
    }
  }
  if (digits > 0) target[end++] = Math.min(value, MAX_SECONDS);
  return end;
}

/** Nearest-rank quantiles: sorts in place; undefined for no values. */
export function quantiles(values: Float64Array): Quantiles | undefined {
  if (values.length === 0) return undefined;
  values.sort();
  return { p50: nearestRank(values, 0.5), p90: nearestRank(values, 0.9), count: values.length };
}

/** The value at rank ceil(q * n) (1-based) of sorted values. */
export function nearestRank(sorted: Float64Array, q: number): number {
  return sorted[rankOf(q, sorted.length) - 1] as number;
}

function rankOf(q: number, count: number): number {
  return Math.max(1, Math.ceil(q * count));
}

/**
 * Nearest-rank quantiles of whole seconds without sorting: a radix selection over the high then the low
 * 16 bits finds the value at a rank in two passes (a million values in milliseconds; a sort takes ~10x).
 * The values are not modified.
 */
export function wholeSecondQuantiles(values: Uint32Array): Quantiles | undefined {
  if (values.length === 0) return undefined;
  const high = new Uint32Array(65_536);
  for (let index = 0; index < values.length; index++) {
    const bucket = (values[index] as number) >>> 16;
    high[bucket] = (high[bucket] as number) + 1;
  }
  const at = (q: number) => valueAtRank(values, high, rankOf(q, values.length));
  return { p50: at(0.5), p90: at(0.9), count: values.length };
}

/** The smallest value with at least `rank` values at or below it, given the histogram of high halves. */
function valueAtRank(values: Uint32Array, high: Uint32Array, rank: number): number {
  let bucket = 0;
  let below = 0;
  while (below + (high[bucket] as number) < rank) below += high[bucket++] as number;
  const low = new Uint32Array(65_536);
  for (let index = 0; index < values.length; index++) {
    const value = values[index] as number;
    if (value >>> 16 === bucket) low[value & 0xffff] = (low[value & 0xffff] as number) + 1;
  }
  let remaining = rank - below;
  let lowBits = 0;
  while ((low[lowBits] as number) < remaining) remaining -= low[lowBits++] as number;
  return bucket * 65_536 + lowBits;
}

/** Undefined when the rows are in finish order already (as stored); else the indices in that order. */
function finishOrder(finished: Float64Array): Uint32Array | undefined {
  for (let index = 1; index < finished.length; index++) {
    if ((finished[index] as number) < (finished[index - 1] as number)) {
      return Uint32Array.from(finished.keys()).sort(
        (a, b) => (finished[a] as number) - (finished[b] as number) || a - b,
      );
    }
  }
  return undefined;
}

function uniqueIncidents(attributions: ReadonlyMap<string, readonly IncidentFact[]>): IncidentFact[] {
  const byId = new Map<string, IncidentFact>();
  for (const incidents of attributions.values())
    for (const incident of incidents) byId.set(incident.id, incident);
  return [...byId.values()];
}

/** The Prometheus series of computed metrics, every sample at `timestampMs`. */
export function doraTimeSeries(metrics: readonly DoraMetrics[], timestampMs: number): TimeSeries[] {
  const series: TimeSeries[] = [];
  for (const target of metrics) {
    for (const window of target.windows) {
      const base = { repository: target.repository, environment: target.environment, window: window.window };
      const add = (name: string, value: number, labels: Record<string, string> = {}) =>
        series.push({ labels: { __name__: name, ...base, ...labels }, samples: [{ value, timestampMs }] });
      add('dora_deployment_frequency_per_day', window.deploymentFrequencyPerDay);
      add('dora_deployments', window.successes, { status: 'success' });
      add('dora_deployments', window.failures, { status: 'failure' });
      if (window.leadTimeSeconds !== undefined) {
        add('dora_lead_time_for_changes_seconds', window.leadTimeSeconds.p50, { quantile: '0.5' });
        add('dora_lead_time_for_changes_seconds', window.leadTimeSeconds.p90, { quantile: '0.9' });
      }
      if (window.changeFailureRate !== undefined) add('dora_change_failure_rate', window.changeFailureRate);
      if (window.timeToRestoreSeconds !== undefined) {
        add('dora_time_to_restore_seconds', window.timeToRestoreSeconds.p50, { quantile: '0.5' });
        add('dora_time_to_restore_seconds', window.timeToRestoreSeconds.p90, { quantile: '0.9' });
      }
      const levels = window.levels;
      add('dora_performance_level', levels.deploymentFrequency, { metric: 'deployment_frequency' });
      if (levels.leadTime !== undefined)
        add('dora_performance_level', levels.leadTime, { metric: 'lead_time' });
      if (levels.changeFailureRate !== undefined) {
        add('dora_performance_level', levels.changeFailureRate, { metric: 'change_failure_rate' });
      }
      if (levels.timeToRestore !== undefined) {
        add('dora_performance_level', levels.timeToRestore, { metric: 'time_to_restore' });
      }
    }
  }
  return series;
}
