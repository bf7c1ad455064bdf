/**
 * The summary page's Prometheus parts against the real Prometheus, with generated data remote-written
 * into the past (out-of-order ingestion): the SLO recording rules' output series, the dora_* gauges and
 * ALERTS as the rule manager writes them (ended by staleness markers). Every expected number is worked
 * out by hand in the comments.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrometheusClient } from '../../../functions/shared/clients/prometheus.js';
import { silentLogger } from '../../../functions/shared/log.js';
import {
  RemoteWriteClient,
  STALE_NAN,
  type TimeSeries,
} from '../../../functions/shared/prometheus/remote-write.js';
import { parseToillessConfig } from '../../../functions/shared/stack-config.js';
import type { ReportWindow } from '../../../functions/weekly-report/model.js';
import { gatherReportSummary } from '../../../functions/weekly-report/summary/gather.js';
import {
  doraSummaries,
  sloSummaries,
  topFiringAlerts,
} from '../../../functions/weekly-report/summary/prometheus-parts.js';
import { isoWeekOf } from '../../../functions/weekly-report/window.js';
import { type RunningPrometheus, startPrometheus } from '../../support/prometheus.js';

const MINUTE = 60_000;
const DAY = 1_440 * MINUTE;
// A week ending at the last whole hour, so that everything lies in the past.
const TO = Math.floor(Date.now() / (60 * MINUTE)) * 60 * MINUTE - 60 * MINUTE;
const FROM = TO - 7 * DAY;
const WINDOW: ReportWindow = { from: new Date(FROM), to: new Date(TO), isoWeek: isoWeekOf(new Date(FROM)) };

function series(labels: Record<string, string>, samples: [number, number][]): TimeSeries {
  return { labels, samples: samples.map(([timestampMs, value]) => ({ timestampMs, value })) };
}

/** Every 5 minutes, 150 s off the grid so no sample sits on a range boundary, from `start` for `count` samples. */
function every5m(start: number, count: number, value: number): [number, number][] {
  return Array.from({ length: count }, (_, k) => [start + 150_000 + k * 5 * MINUTE, value]);
}

/** An alert firing from `start` for `minutes` (a sample a minute), then stale, as the rule manager writes ALERTS. */
function firing(start: number, minutes: number): [number, number][] {
  return [
    ...Array.from({ length: minutes }, (_, k): [number, number] => [start + k * MINUTE, 1]),
    [start + minutes * MINUTE, STALE_NAN],
  ];
}

function generatedData(): TimeSeries[] {
  const availability = { service: 'checkout', slo: 'availability' };
  const latency = { service: 'checkout', slo: 'latency' };
  // 13 days before the week and the week itself: 3744 + 2016 samples.
  const before = 13 * 288;
  const week = 7 * 288;
  const repo = { repository: 'acme/shop', window: '7d' };
  return [
    // availability: 10 events/s throughout, 0.05 bad/s in the week only.
    series({ __name__: 'slo:sli_events:rate5m', ...availability }, [
      ...every5m(FROM - 13 * DAY, before, 10),
      ...every5m(FROM, week, 10),
    ]),
    series({ __name__: 'slo:sli_bad_events:rate5m', ...availability }, [
      ...every5m(FROM - 13 * DAY, before, 0),
      ...every5m(FROM, week, 0.05),
    ]),
    series({ __name__: 'slo:objective:ratio', ...availability }, [[TO - MINUTE, 0.99]]),
    // latency: the week only, 3 of 100 bad; its recorded budget says overspent.
    series({ __name__: 'slo:sli_events:rate5m', ...latency }, every5m(FROM, week, 100)),
    series({ __name__: 'slo:sli_bad_events:rate5m', ...latency }, every5m(FROM, week, 3)),
    series({ __name__: 'slo:objective:ratio', ...latency }, [[TO - MINUTE, 0.95]]),
    series({ __name__: 'slo:error_budget_remaining:ratio', ...latency }, [[TO - MINUTE, -0.2]]),
    // DORA, production: the week before and now; staging is not counted.
    series({ __name__: 'dora_deployment_frequency_per_day', ...repo, environment: 'production' }, [
      [TO - 7 * DAY - 2 * 60 * MINUTE, 0.5],
      [TO - 2 * 60 * MINUTE, 1.5],
    ]),
    series({ __name__: 'dora_deployment_frequency_per_day', ...repo, environment: 'staging' }, [
      [TO - 2 * 60 * MINUTE, 9],
    ]),
    series(
      { __name__: 'dora_lead_time_for_changes_seconds', ...repo, environment: 'production', quantile: '0.5' },
      [[TO - 2 * 60 * MINUTE, 7_200]],
    ),
    series(
      { __name__: 'dora_lead_time_for_changes_seconds', ...repo, environment: 'production', quantile: '0.9' },
      [[TO - 2 * 60 * MINUTE, 90_000]],
    ),
    series({ __name__: 'dora_change_failure_rate', ...repo, environment: 'Production' }, [
      [TO - 7 * DAY - 2 * 60 * MINUTE, 0.5],
      [TO - 2 * 60 * MINUTE, 0.2],
    ]),
    // Alerts: HighLatency fires twice (30 and 10 minutes), Down once (6 minutes); starts on even minutes
    // of the week, so on the 2-minute grid of the range query.
    series(
      {
        __name__: 'ALERTS',
        alertname: 'HighLatency',
        alertstate: 'firing',
        severity: 'warning',
        service: 'checkout',
      },
      [...firing(FROM + DAY, 30), ...firing(FROM + 2 * DAY, 10)],
    ),
    series(
      {
        __name__: 'ALERTS',
        alertname: 'Down',
        alertstate: 'firing',
        severity: 'critical',
        service: 'checkout',
      },
      firing(FROM + 3 * DAY + 20 * MINUTE, 6),
    ),
  ];
}

describe('Report summary from the real Prometheus', () => {
  let prometheus: RunningPrometheus;
  let client: PrometheusClient;
  const toilless = parseToillessConfig('');

  beforeAll(async () => {
    prometheus = await startPrometheus({
      config: [
        'global:',
        '  evaluation_interval: 1m',
        'storage:',
        '  tsdb:',
        '    out_of_order_time_window: 30d',
        '',
      ].join('\n'),
    });
    await new RemoteWriteClient({ url: prometheus.remoteWriteUrl }).write(generatedData());
    client = new PrometheusClient({ baseUrl: prometheus.url });
  });

  afterAll(async () => {
    await prometheus?.stop();
  });

  it('computes SLO compliance over the week and 30 days, the budget left and the policy state', async () => {
    // Act
    const slos = await sloSummaries(client, WINDOW);

    // Assess
    const [availability, latency] = slos;
    // Week: 1 - 0.05 / 10 = 0.995. 30 days: 2016 bad samples of 0.05 over 5760 samples of 10
    // = 1 - 100.8 / 57600 = 0.99825. Budget left: 1 - 0.00175 / 0.01 = 0.825: healthy.
    expect(availability).toMatchObject({ service: 'checkout', objective: 'availability', target: 0.99 });
    expect(availability?.week).toBeCloseTo(0.995, 9);
    expect(availability?.thirtyDays).toBeCloseTo(0.99825, 9);
    expect(availability?.budgetRemaining).toBeCloseTo(0.825, 9);
    expect(availability?.policy).toBe('healthy');
    // Latency: 1 - 3 / 100 = 0.97 both ways; the recorded budget (-0.2) wins over the formula: freeze.
    expect(latency?.week).toBeCloseTo(0.97, 9);
    expect(latency?.thirtyDays).toBeCloseTo(0.97, 9);
    expect(latency).toMatchObject({
      objective: 'latency',
      target: 0.95,
      budgetRemaining: -0.2,
      policy: 'freeze-100',
    });
  });

  it('reads the DORA metrics of production per repository, with the week before and the levels', async () => {
    // Act
    const [shop, ...others] = await doraSummaries(client, WINDOW, toilless);

    // Assess: 1.5/day > 1/1d: elite; 2 h lead time <= 24h: high; 20% <= 45%: high ("Production" matches
    // the case-insensitive environment pattern); no restore data.
    expect(others).toEqual([]);
    expect(shop).toEqual({
      repository: 'acme/shop',
      deploymentFrequencyPerDay: { value: 1.5, previous: 0.5, level: 'elite' },
      leadTimeSeconds: { value: 7_200, previous: null, level: 'high' },
      changeFailureRate: { value: 0.2, previous: 0.5, level: 'high' },
      timeToRestoreSeconds: { value: null, previous: null, level: null },
    });
  });

  it('ranks the alerts that fired by how often, with how long they fired', async () => {
    // Act
    const alerts = await topFiringAlerts(client, WINDOW);

    // Assess: a week in 2-minute steps; HighLatency 30 + 10 minutes in two firings, Down 6 minutes.
    expect(alerts).toEqual([
      { alertname: 'HighLatency', severity: 'warning', firings: 2, firingSeconds: 2_400 },
      { alertname: 'Down', severity: 'critical', firings: 1, firingSeconds: 360 },
    ]);
  });

  it('marks a part unavailable with the reason and keeps the others', async () => {
    // Prepare: a store that cannot be listed
    const store = {
      list: () => {
        throw new Error('the data directory is not readable');
      },
    } as never;

    // Act
    const summary = await gatherReportSummary(
      { prometheus: client, store, toilless, logger: silentLogger },
      WINDOW,
    );

    // Assess
    expect(summary.incidents).toEqual({ unavailable: 'the data directory is not readable' });
    expect(Array.isArray(summary.slos) && summary.slos.length).toBe(2);
    expect(Array.isArray(summary.topAlerts) && summary.topAlerts.length).toBe(2);
  });
});
