import { describe, expect, it } from 'vitest';
import { isoMs, ledgerOfEntries } from '../../../../functions/dora-metrics/metrics/ledger.js';
import {
  computeDoraMetrics,
  type DoraMetrics,
  doraTimeSeries,
  nearestRank,
  quantiles,
  type WindowMetrics,
  wholeSecondQuantiles,
} from '../../../../functions/dora-metrics/metrics/metrics.js';
import type { IncidentFact, LedgerEntry } from '../../../../functions/dora-metrics/model.js';
import { parseToillessConfig } from '../../../../functions/shared/stack-config.js';

const NOW = new Date('2026-11-28T12:00:00.000Z');
const { levels } = parseToillessConfig('').dora;
const TARGET = { repository: 'acme/shop', environment: 'production' };

let ids = 0;

function entry(
  finishedAt: string,
  outcome: 'success' | 'failure',
  leadTimeSeconds: number[] = [],
): LedgerEntry {
  ids++;
  return {
    id: String(ids),
    sha: ids.toString(16).padStart(40, '0'),
    outcome,
    finishedAt,
    leadTime: leadTimeSeconds.length > 0 ? 'counted' : 'first-deployment',
    leadTimeSeconds,
    attributedIncidents: [],
  };
}

function compute(
  entries: LedgerEntry[],
  attributions: ReadonlyMap<string, readonly IncidentFact[]> = new Map(),
): DoraMetrics {
  return computeDoraMetrics({
    ledger: ledgerOfEntries(TARGET, true, entries),
    attributions,
    now: NOW,
    levels,
  });
}

function window(metrics: DoraMetrics, label: '7d' | '30d'): WindowMetrics {
  const found = metrics.windows.find((candidate) => candidate.window === label);
  if (!found) throw new Error(`no ${label} window`);
  return found;
}

describe('DORA metrics computation', () => {
  it('takes nearest-rank quantiles of the lead times of every commit in the window', () => {
    // Prepare: 7 commits over three deployments; sorted: 30, 600, 3600, 7200, 10800, 86400, 90000.
    const entries = [
      entry('2026-11-27T10:00:00.000Z', 'success', [3_600, 600]),
      entry('2026-11-27T11:00:00.000Z', 'success', [86_400, 30, 10_800]),
      entry('2026-11-27T12:00:00.000Z', 'success', [90_000, 7_200]),
    ];

    // Act
    const week = window(compute(entries), '7d');

    // Assess: p50 at rank ceil(0.5 * 7) = 4 -> 7200; p90 at rank ceil(0.9 * 7) = ceil(6.3) = 7 -> 90000.
    expect(week.leadTimeSeconds).toEqual({ p50: 7_200, p90: 90_000, count: 7 });
    // Median 2 h: high.
    expect(week.levels.leadTime).toBe(3);
  });

  it('counts a deployment in a window when it finished after the start and not after now', () => {
    // Prepare: 7d starts 2026-11-21T12:00Z (excluded).
    const entries = [
      entry('2026-11-21T12:00:00.000Z', 'success', [100]),
      entry('2026-11-21T12:00:01.000Z', 'success', [200]),
      entry('2026-11-28T12:00:00.000Z', 'success', [300]),
      entry('2026-11-28T12:00:01.000Z', 'success', [400]),
    ];

    // Act
    const metrics = compute(entries);

    // Assess: 7d holds the 2nd and 3rd; 30d also the 1st; the one after now is in neither.
    expect(window(metrics, '7d')).toMatchObject({
      successes: 2,
      leadTimeSeconds: { p50: 200, p90: 300, count: 2 },
    });
    expect(window(metrics, '30d')).toMatchObject({ successes: 3, leadTimeSeconds: { count: 3 } });
    // 2 in 7 days; 3 in 30 days = 0.1 a day.
    expect(window(metrics, '7d').deploymentFrequencyPerDay).toBe(2 / 7);
    expect(window(metrics, '30d').deploymentFrequencyPerDay).toBe(3 / 30);
  });

  it('never puts the change failure rate above 1, counting a deployment with several incidents once', () => {
    // Prepare
    const failed = entry('2026-11-27T09:00:00.000Z', 'failure');
    const succeeded = entry('2026-11-27T10:00:00.000Z', 'success');
    const incidents = ['a', 'b', 'c'].map((id) => ({
      id,
      services: ['shop'],
      startedAt: '2026-11-27T10:10:00.000Z',
      resolvedAt: '2026-11-27T10:40:00.000Z',
    }));

    // Act
    const week = window(compute([failed, succeeded], new Map([[succeeded.id, incidents]])), '7d');

    // Assess: (1 failed + 1 followed by incidents) / 2 deployments = 1.
    expect(week.changeFailureRate).toBe(1);
    expect(week.successesWithIncident).toBe(1);
    // Recoveries: the failure 09:00 -> the success 10:00 = 3600 s; each incident 10:10 -> 10:40 = 1800 s.
    // Sorted 1800, 1800, 1800, 3600: p50 rank 2 -> 1800; p90 rank ceil(3.6) = 4 -> 3600.
    expect(week.timeToRestoreSeconds).toEqual({ p50: 1_800, p90: 3_600, count: 4 });
  });

  it('writes no rate, lead time or restore time for a window without deployments, and a frequency of 0', () => {
    // Prepare: one deployment 40 days ago.
    const entries = [
      entry('2026-10-19T12:00:00.000Z', 'failure'),
      entry('2026-10-19T13:00:00.000Z', 'success', [60]),
    ];

    // Act
    const metrics = compute(entries);
    const series = doraTimeSeries([metrics], NOW.getTime());

    // Assess
    expect(window(metrics, '30d')).toEqual({
      window: '30d',
      successes: 0,
      failures: 0,
      successesWithIncident: 0,
      deploymentFrequencyPerDay: 0,
      levels: { deploymentFrequency: 1 },
    });
    const names = new Set(series.map((s) => s.labels.__name__));
    expect([...names].sort()).toEqual([
      'dora_deployment_frequency_per_day',
      'dora_deployments',
      'dora_performance_level',
    ]);
    expect(series.every((s) => s.samples.every((sample) => Number.isFinite(sample.value)))).toBe(true);
  });

  it('measures a run of failures as one outage, counted in the window its recovery ended in', () => {
    // Prepare: failures 8 and 7.5 days ago (before the 7d window), the fix 6 days ago (inside it).
    const entries = [
      entry('2026-11-20T12:00:00.000Z', 'failure'),
      entry('2026-11-21T00:00:00.000Z', 'failure'),
      entry('2026-11-22T12:00:00.000Z', 'success', [60]),
      entry('2026-11-23T12:00:00.000Z', 'success', [60]),
    ];

    // Act
    const metrics = compute(entries);

    // Assess: 2026-11-20T12:00 -> 2026-11-22T12:00 = 2 days = 172800 s, one recovery.
    expect(window(metrics, '7d').timeToRestoreSeconds).toEqual({ p50: 172_800, p90: 172_800, count: 1 });
    expect(window(metrics, '7d').failures).toBe(0);
    // 30d: 2 failures of 4 deployments.
    expect(window(metrics, '30d').changeFailureRate).toBe(0.5);
  });

  it('gives the same metrics for a ledger whose rows are out of order', () => {
    // Prepare
    const entries = [
      entry('2026-11-25T12:00:00.000Z', 'failure'),
      entry('2026-11-26T12:00:00.000Z', 'success', [10, 20]),
      entry('2026-11-27T12:00:00.000Z', 'success', [30]),
    ];
    const sorted = ledgerOfEntries(TARGET, true, entries);
    const columns = sorted.deployments;
    const reversed = {
      ...sorted,
      deployments: {
        ...columns,
        id: [...columns.id].reverse(),
        sha: [...columns.sha].reverse(),
        outcome: [...columns.outcome].reverse().join(''),
        finishedAt: [...columns.finishedAt].reverse(),
        leadTime: [...columns.leadTime].reverse().join(''),
        previousSha: [...columns.previousSha].reverse(),
        leadTimeSeconds: [...columns.leadTimeSeconds].reverse(),
      },
    };

    // Act
    const fromSorted = computeDoraMetrics({ ledger: sorted, attributions: new Map(), now: NOW, levels });
    const fromReversed = computeDoraMetrics({ ledger: reversed, attributions: new Map(), now: NOW, levels });

    // Assess
    expect(fromReversed).toEqual(fromSorted);
    expect(window(fromSorted, '7d').timeToRestoreSeconds?.p50).toBe(86_400);
  });

  it('labels every series with repository, environment and window', () => {
    // Prepare
    const metrics = compute([
      entry('2026-11-27T09:00:00.000Z', 'failure'),
      entry('2026-11-27T10:00:00.000Z', 'success', [1_800]),
    ]);

    // Act
    const series = doraTimeSeries([metrics], NOW.getTime());

    // Assess
    const week = series.filter((s) => s.labels.window === '7d');
    expect(week.map((s) => ({ ...s.labels, value: s.samples[0]?.value }))).toEqual([
      { __name__: 'dora_deployment_frequency_per_day', ...TARGET, window: '7d', value: 1 / 7 },
      { __name__: 'dora_deployments', ...TARGET, window: '7d', status: 'success', value: 1 },
      { __name__: 'dora_deployments', ...TARGET, window: '7d', status: 'failure', value: 1 },
      {
        __name__: 'dora_lead_time_for_changes_seconds',
        ...TARGET,
        window: '7d',
        quantile: '0.5',
        value: 1_800,
      },
      {
        __name__: 'dora_lead_time_for_changes_seconds',
        ...TARGET,
        window: '7d',
        quantile: '0.9',
        value: 1_800,
      },
      { __name__: 'dora_change_failure_rate', ...TARGET, window: '7d', value: 0.5 },
      { __name__: 'dora_time_to_restore_seconds', ...TARGET, window: '7d', quantile: '0.5', value: 3_600 },
      { __name__: 'dora_time_to_restore_seconds', ...TARGET, window: '7d', quantile: '0.9', value: 3_600 },
      {
        __name__: 'dora_performance_level',
        ...TARGET,
        window: '7d',
        metric: 'deployment_frequency',
        value: 3,
      },
      { __name__: 'dora_performance_level', ...TARGET, window: '7d', metric: 'lead_time', value: 4 },
      {
        __name__: 'dora_performance_level',
        ...TARGET,
        window: '7d',
        metric: 'change_failure_rate',
        value: 2,
      },
      { __name__: 'dora_performance_level', ...TARGET, window: '7d', metric: 'time_to_restore', value: 3 },
    ]);
    expect(series.every((s) => s.samples[0]?.timestampMs === NOW.getTime())).toBe(true);
  });
});

describe('nearest-rank quantiles', () => {
  it('picks ranks ceil(q * n) of 1..10 and the only value of one', () => {
    // Prepare
    const ten = Float64Array.from({ length: 10 }, (_, index) => 10 - index);

    // Act
    const result = quantiles(ten);

    // Assess: p50 rank 5 -> 5; p90 rank 9 -> 9.
    expect(result).toEqual({ p50: 5, p90: 9, count: 10 });
    expect(nearestRank(Float64Array.of(42), 0.9)).toBe(42);
    expect(quantiles(new Float64Array(0))).toBeUndefined();
  });

  it('selects whole seconds without sorting exactly as a sort would', () => {
    // Prepare: values across many 65536-second buckets, with repeats.
    let seed = 7;
    const values = Uint32Array.from({ length: 20_001 }, () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % 5 === 0 ? 65_536 : seed % 9_000_000;
    });
    const sorted = Float64Array.from(values).sort();

    // Act
    const selected = wholeSecondQuantiles(values);

    // Assess: ranks ceil(0.5 * 20001) = 10001 and ceil(0.9 * 20001) = 18001.
    expect(selected).toEqual({ p50: sorted[10_000], p90: sorted[18_000], count: 20_001 });
  });
});

describe('ISO times', () => {
  it('reads the canonical UTC form as Date.parse does, and other forms through it', () => {
    // Prepare
    const times = [
      '1969-12-31T23:59:59.999Z',
      '2000-02-29T12:00:00.000Z',
      '2026-03-01T00:00:00.000Z',
      '2026-11-28T12:34:56.789Z',
      '2026-11-28T12:34:56Z',
      '2026-11-28T14:34:56+02:00',
    ];

    // Assess
    expect(times.map(isoMs)).toEqual(times.map((time) => Date.parse(time)));
  });
});
