/**
 * The words and numbers of the summary page, as pure functions so the tests can check them against
 * hand-worked values: percentages, durations, the policy state, DORA changes, incident counts.
 */
import type { BudgetPolicyState, DoraMetricSummary, IncidentSummary } from '../model.js';
import { formatValue } from './units.js';

/** A ratio as a percentage with fixed decimals: 0.99874 -> "99.87%"; null -> "no data". */
export function percent(ratio: number | null, decimals = 2): string {
  if (ratio === null || !Number.isFinite(ratio)) return 'no data';
  return `${(ratio * 100).toFixed(decimals)}%`;
}

/** An SLO target with the decimals it needs: 0.999 -> "99.9%", 0.9995 -> "99.95%", 0.99 -> "99%". */
export function targetPercent(target: number): string {
  return `${Number((target * 100).toFixed(4))}%`;
}

export const POLICY_TEXT: Readonly<Record<BudgetPolicyState, string>> = {
  healthy: 'Within budget',
  'review-50': '50% consumed: review and mitigate',
  'approval-75': '75% consumed: approvals for features',
  'freeze-100': '100% consumed: feature freeze',
};

export const POLICY_COLOR: Readonly<Record<BudgetPolicyState, string>> = {
  healthy: '#37872D',
  'review-50': '#CC9D00',
  'approval-75': '#FA6400',
  'freeze-100': '#C4162A',
};

/** A duration in seconds as Grafana's "s" unit shows it: 5400 -> "1.50 hour". */
export function duration(seconds: number | null): string {
  return seconds === null ? 'no data' : formatValue(seconds, 's');
}

export type DoraMetricKind = 'deploymentFrequency' | 'leadTime' | 'changeFailureRate' | 'timeToRestore';

/** One DORA value in its unit. */
export function doraValue(kind: DoraMetricKind, value: number | null): string {
  if (value === null || !Number.isFinite(value)) return 'no data';
  switch (kind) {
    case 'deploymentFrequency':
      return `${value.toFixed(2)}/day`;
    case 'changeFailureRate':
      return percent(value, 1);
    default:
      return duration(value);
  }
}

/** "1.71/day (high), +0.29 from 1.43/day": the value, its level and the change from the week before. */
export function doraCell(kind: DoraMetricKind, metric: DoraMetricSummary): string {
  const value = doraValue(kind, metric.value);
  const level = metric.level === null ? '' : ` (${metric.level})`;
  if (metric.value === null || metric.previous === null) {
    return metric.previous === null
      ? `${value}${level}`
      : `${value}${level}, was ${doraValue(kind, metric.previous)}`;
  }
  const change = metric.value - metric.previous;
  if (Math.abs(change) < 1e-12) return `${value}${level}, unchanged`;
  const sign = change > 0 ? '+' : '-';
  const magnitude =
    kind === 'changeFailureRate'
      ? `${(Math.abs(change) * 100).toFixed(1)} pt`
      : kind === 'deploymentFrequency'
        ? Math.abs(change).toFixed(2)
        : doraValue(kind, Math.abs(change));
  return `${value}${level}, ${sign}${magnitude} from ${doraValue(kind, metric.previous)}`;
}

/** The incident line, most severe first: "3 incidents: 1 critical, 2 warning; 2 resolved, median time to resolve 45 min". */
export function incidentOverview(incidents: readonly IncidentSummary[]): string {
  if (incidents.length === 0) return 'No incidents this week.';
  const bySeverity = new Map<string, number>();
  for (const incident of incidents)
    bySeverity.set(incident.severity, (bySeverity.get(incident.severity) ?? 0) + 1);
  const severities = [...bySeverity.entries()]
    .sort((a, b) => severityRank(a[0]) - severityRank(b[0]) || a[0].localeCompare(b[0]))
    .map(([severity, count]) => `${count} ${severity}`)
    .join(', ');
  const resolved = incidents
    .map((incident) => resolveSeconds(incident))
    .filter((seconds): seconds is number => seconds !== null)
    .sort((a, b) => a - b);
  const noun = incidents.length === 1 ? 'incident' : 'incidents';
  const resolvedText =
    resolved.length === 0
      ? 'none resolved yet'
      : `${resolved.length} resolved, median time to resolve ${duration(median(resolved))}`;
  return `${incidents.length} ${noun}: ${severities}; ${resolvedText}.`;
}

/** The most severe first; severities the stack does not use come last, by name. */
const SEVERITY_ORDER = ['critical', 'high', 'warning', 'medium', 'low', 'info'];

function severityRank(severity: string): number {
  const rank = SEVERITY_ORDER.indexOf(severity.toLowerCase());
  return rank === -1 ? SEVERITY_ORDER.length : rank;
}

export function resolveSeconds(incident: IncidentSummary): number | null {
  if (incident.resolvedAt === null) return null;
  return Math.max(0, (incident.resolvedAt.getTime() - incident.openedAt.getTime()) / 1000);
}

function median(sorted: readonly number[]): number {
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** "2026-12-01 14:05 UTC". */
export function utcMinute(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/**
 * The window as a reader says it: whole UTC days as dates with the last day included
 * ("2026-11-30 to 2026-12-06"), anything else to the minute.
 */
export function windowText(from: Date, to: Date): string {
  const wholeDays = from.getTime() % 86_400_000 === 0 && to.getTime() % 86_400_000 === 0;
  if (wholeDays) {
    const last = new Date(to.getTime() - 86_400_000);
    return `${from.toISOString().slice(0, 10)} to ${last.toISOString().slice(0, 10)} (UTC)`;
  }
  return `${utcMinute(from)} to ${utcMinute(to)}`;
}
