/**
 * The summary parts read from Prometheus: SLO compliance and error budgets from the shipped SLO
 * recording rules (stack-config/prometheus/rules/slo-*.yml), DORA metrics from the dora_* gauges the
 * dora-metrics worker remote-writes, and the alerts that fired (ALERTS).
 */
import type { PrometheusClient, PrometheusSeries } from '../../shared/clients/prometheus.js';
import type { ToillessConfig } from '../../shared/stack-config.js';
import type {
  DoraMetricSummary,
  DoraSummary,
  FiringAlertSummary,
  ReportWindow,
  SloSummary,
} from '../model.js';
import {
  budgetPolicyState,
  budgetRemaining,
  compliance,
  doraLevel,
  firingStats,
  rangeStepSeconds,
} from './decisions.js';

type Query = Pick<PrometheusClient, 'query' | 'queryRange'>;

const THIRTY_DAYS_S = 30 * 86_400;

/** A whole number of seconds: PromQL ranges take no fractions. */
function seconds(fromMs: number, toMs: number): number {
  return Math.max(60, Math.round((toMs - fromMs) / 1000));
}

const key = (metric: Readonly<Record<string, string>>, ...labels: string[]) =>
  labels.map((label) => metric[label] ?? '').join('\u0000');

function byKey(series: readonly PrometheusSeries[], ...labels: string[]): Map<string, number> {
  const values = new Map<string, number>();
  for (const one of series) {
    const value = one.points.at(-1)?.value;
    if (value !== undefined && Number.isFinite(value)) values.set(key(one.metric, ...labels), value);
  }
  return values;
}

/** Per objective (service, slo): compliance over the window and over 30 days to its end, budget and policy. */
export async function sloSummaries(
  prometheus: Query,
  window: ReportWindow,
  signal?: AbortSignal,
): Promise<SloSummary[]> {
  const time = window.to;
  const range = `${seconds(window.from.getTime(), window.to.getTime())}s`;
  const sum = (metric: string, over: string) => `sum by (service, slo) (sum_over_time(${metric}[${over}]))`;
  const options = { time, ...(signal ? { signal } : {}) };
  const [objectives, weekBad, weekAll, monthBad, monthAll, remaining] = await Promise.all([
    prometheus.query('slo:objective:ratio', options),
    prometheus.query(sum('slo:sli_bad_events:rate5m', range), options),
    prometheus.query(sum('slo:sli_events:rate5m', range), options),
    prometheus.query(sum('slo:sli_bad_events:rate5m', `${THIRTY_DAYS_S}s`), options),
    prometheus.query(sum('slo:sli_events:rate5m', `${THIRTY_DAYS_S}s`), options),
    prometheus.query('slo:error_budget_remaining:ratio', options),
  ]);
  const [wBad, wAll, mBad, mAll, left] = [weekBad, weekAll, monthBad, monthAll, remaining].map((series) =>
    byKey(series, 'service', 'slo'),
  ) as [
    Map<string, number>,
    Map<string, number>,
    Map<string, number>,
    Map<string, number>,
    Map<string, number>,
  ];
  const summaries: SloSummary[] = [];
  for (const objective of objectives) {
    const target = objective.points.at(-1)?.value;
    const service = objective.metric.service;
    const slo = objective.metric.slo;
    if (target === undefined || !service || !slo) continue;
    const id = key(objective.metric, 'service', 'slo');
    const week = compliance(wBad.get(id) ?? 0, wAll.get(id) ?? 0);
    const thirtyDays = compliance(mBad.get(id) ?? 0, mAll.get(id) ?? 0);
    // The recorded budget when the rules ran at the window's end, else the same formula from the counts.
    const budget = left.get(id) ?? (thirtyDays === null ? null : budgetRemaining(thirtyDays, target));
    summaries.push({
      service,
      objective: slo,
      target,
      week,
      thirtyDays,
      budgetRemaining: budget,
      policy: budget === null ? null : budgetPolicyState(budget),
    });
  }
  return summaries.sort(
    (a, b) => a.service.localeCompare(b.service) || a.objective.localeCompare(b.objective),
  );
}

const DORA_METRICS = {
  deploymentFrequencyPerDay: {
    series: 'dora_deployment_frequency_per_day',
    selector: '',
    levels: 'deploymentFrequency',
  },
  leadTimeSeconds: {
    series: 'dora_lead_time_for_changes_seconds',
    selector: ',quantile="0.5"',
    levels: 'leadTime',
  },
  changeFailureRate: { series: 'dora_change_failure_rate', selector: '', levels: 'changeFailureRate' },
  timeToRestoreSeconds: {
    series: 'dora_time_to_restore_seconds',
    selector: ',quantile="0.5"',
    levels: 'timeToRestore',
  },
} as const;

type DoraField = keyof typeof DORA_METRICS;

/**
 * Per repository, the 7-day DORA metrics of production at the window's end and a week before, with the
 * level of the current value. Gauges are written at least daily by remote-write (no staleness), hence
 * last_over_time over a day.
 */
export async function doraSummaries(
  prometheus: Query,
  window: ReportWindow,
  toilless: ToillessConfig,
  signal?: AbortSignal,
): Promise<DoraSummary[]> {
  const environments = `(?i)${toilless.dora.productionEnvironments}`;
  const weekBefore = new Date(window.to.getTime() - 7 * 86_400_000);
  const fields = Object.keys(DORA_METRICS) as DoraField[];
  const values = await Promise.all(
    fields.flatMap((field) => {
      const { series, selector } = DORA_METRICS[field];
      const expr = `max by (repository) (last_over_time(${series}{window="7d",environment=~${JSON.stringify(environments)}${selector}}[1d]))`;
      return [window.to, weekBefore].map(async (time) =>
        byKey(await prometheus.query(expr, { time, ...(signal ? { signal } : {}) }), 'repository'),
      );
    }),
  );
  const repositories = new Set(values.flatMap((map) => [...map.keys()]));
  return [...repositories].sort().map((repository) => {
    const metric = (field: DoraField): DoraMetricSummary => {
      const index = fields.indexOf(field) * 2;
      const value = values[index]?.get(repository) ?? null;
      return {
        value,
        previous: values[index + 1]?.get(repository) ?? null,
        level: value === null ? null : doraLevel(value, toilless.dora.levels[DORA_METRICS[field].levels]),
      };
    };
    return {
      repository,
      deploymentFrequencyPerDay: metric('deploymentFrequencyPerDay'),
      leadTimeSeconds: metric('leadTimeSeconds'),
      changeFailureRate: metric('changeFailureRate'),
      timeToRestoreSeconds: metric('timeToRestoreSeconds'),
    };
  });
}

/** The alerts that fired most in the window (ALERTS, sampled by a range query), at most `limit`. */
export async function topFiringAlerts(
  prometheus: Query,
  window: ReportWindow,
  limit = 10,
  signal?: AbortSignal,
): Promise<FiringAlertSummary[]> {
  const stepSeconds = rangeStepSeconds(window.from.getTime(), window.to.getTime());
  const series = await prometheus.queryRange('ALERTS{alertstate="firing"}', {
    start: window.from,
    end: window.to,
    stepSeconds,
    ...(signal ? { signal } : {}),
  });
  const totals = new Map<
    string,
    { alertname: string; severity: string; firings: number; firingSeconds: number }
  >();
  for (const one of series) {
    const alertname = one.metric.alertname ?? 'unnamed';
    const severity = one.metric.severity ?? 'none';
    const stats = firingStats(
      one.points.map((point) => point.at.getTime() / 1000),
      stepSeconds,
    );
    const id = `${alertname}\u0000${severity}`;
    const total = totals.get(id) ?? { alertname, severity, firings: 0, firingSeconds: 0 };
    total.firings += stats.firings;
    total.firingSeconds += stats.firingSeconds;
    totals.set(id, total);
  }
  return [...totals.values()]
    .sort(
      (a, b) =>
        b.firings - a.firings || b.firingSeconds - a.firingSeconds || a.alertname.localeCompare(b.alertname),
    )
    .slice(0, limit);
}
