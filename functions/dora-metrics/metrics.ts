/**
 * The DORA metrics of one repository/environment, computed by a pure function from its ledger, the
 * incidents attributed to its deployments and the time now; and their Prometheus series.
 *
 * Windows are (now - length, now]: a deployment counts in a window when it finished inside it.
 * Quantiles are nearest-rank: the q-quantile of n sorted values is the value at rank ceil(q * n), so
 * every reported value is one that was observed.
 */
import type { TimeSeries } from '../shared/prometheus/remote-write.js';
import type { ToillessConfig } from '../shared/stack-config.js';
import type { DeploymentLedger, IncidentFact, LedgerEntry } from './model.js';
import { type PerformanceLevel, performanceLevel } from './performance-levels.js';

const DAY_MS = 86_400_000;

export const METRIC_WINDOWS = [
  { label: '7d', days: 7 },
  { label: '30d', days: 30 },
] as const;

export type WindowLabel = (typeof METRIC_WINDOWS)[number]['label'];

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

/** The metrics for every window, in one pass over the ledger plus one sort per window. */
export function computeDoraMetrics(input: DoraMetricsInput): DoraMetrics {
  const nowMs = input.now.getTime();
  const entries = inFinishOrder(input.ledger.deployments);
  const count = entries.length;
  const finished = new Float64Array(count);
  for (let index = 0; index < count; index++) {
    finished[index] = Date.parse((entries[index] as LedgerEntry).finishedAt);
  }

  const windows = METRIC_WINDOWS.map(({ label, days }) => ({
    label,
    days,
    startMs: nowMs - days * DAY_MS,
    successes: 0,
    failures: 0,
    successesWithIncident: 0,
    leadTimeCount: 0,
    recoveries: [] as number[],
  }));

  // Counts first, so lead times go into typed arrays of the right size.
  for (let index = 0; index < count; index++) {
    const at = finished[index] as number;
    if (at > nowMs) continue;
    const entry = entries[index] as LedgerEntry;
    for (const window of windows) {
      if (at <= window.startMs) continue;
      if (entry.outcome === 'success') {
        window.successes++;
        window.leadTimeCount += entry.leadTimeSeconds.length;
        if ((input.attributions.get(entry.id)?.length ?? 0) > 0) window.successesWithIncident++;
      } else {
        window.failures++;
      }
    }
  }
  const leadTimes = windows.map((window) => new Float64Array(window.leadTimeCount));
  const filled = windows.map(() => 0);
  let failingSince: number | undefined;
  for (let index = 0; index < count; index++) {
    const at = finished[index] as number;
    if (at > nowMs) break;
    const entry = entries[index] as LedgerEntry;
    // A run of failures is one outage, recovered by the next successful deployment.
    if (entry.outcome === 'failure') {
      failingSince ??= at;
      continue;
    }
    for (let w = 0; w < windows.length; w++) {
      const window = windows[w] as (typeof windows)[number];
      if (at <= window.startMs) continue;
      if (failingSince !== undefined) window.recoveries.push((at - failingSince) / 1000);
      const target = leadTimes[w] as Float64Array;
      let position = filled[w] as number;
      for (const seconds of entry.leadTimeSeconds) target[position++] = seconds;
      filled[w] = position;
    }
    failingSince = undefined;
  }
  for (const incident of uniqueIncidents(input.attributions)) {
    if (incident.resolvedAt === undefined) continue;
    const resolvedMs = Date.parse(incident.resolvedAt);
    if (resolvedMs > nowMs) continue;
    const seconds = Math.max(0, (resolvedMs - Date.parse(incident.startedAt)) / 1000);
    for (const window of windows) if (resolvedMs > window.startMs) window.recoveries.push(seconds);
  }

  return {
    repository: input.ledger.repository,
    environment: input.ledger.environment,
    production: input.ledger.production,
    computedAt: input.now.toISOString(),
    windows: windows.map((window, w): WindowMetrics => {
      const all = window.successes + window.failures;
      const frequency = window.successes / window.days;
      const leadTime = quantiles((leadTimes[w] as Float64Array).subarray(0, filled[w]));
      const restore = quantiles(Float64Array.from(window.recoveries));
      const changeFailureRate =
        all === 0 ? undefined : Math.min(1, (window.failures + window.successesWithIncident) / all);
      const levels = input.levels;
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
    }),
  };
}

/** Nearest-rank quantiles: sorts in place; undefined for no values. */
export function quantiles(values: Float64Array): Quantiles | undefined {
  if (values.length === 0) return undefined;
  values.sort();
  return { p50: nearestRank(values, 0.5), p90: nearestRank(values, 0.9), count: values.length };
}

/** The value at rank ceil(q * n) (1-based) of sorted values. */
export function nearestRank(sorted: Float64Array, q: number): number {
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1] as number;
}

/** The ledger's entries in finish order (they are stored so; a hand-edited ledger is sorted here). */
function inFinishOrder(entries: readonly LedgerEntry[]): readonly LedgerEntry[] {
  for (let index = 1; index < entries.length; index++) {
    if ((entries[index] as LedgerEntry).finishedAt < (entries[index - 1] as LedgerEntry).finishedAt) {
      return [...entries].sort((a, b) => Date.parse(a.finishedAt) - Date.parse(b.finishedAt));
    }
  }
  return entries;
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
