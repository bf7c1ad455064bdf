/**
 * Blackbox exporter: the synthetic probes of the probe-* jobs in prometheus.yml. Up/down timeline,
 * success rate, response time percentiles and TLS certificate expiry; the ProbeFailed and
 * SslCertExpiringSoon alerts link here with var-instance (the probed URL).
 */

import { PanelBuilder as BarGaugePanel } from '@grafana/grafana-foundation-sdk/bargauge';
import {
  BarGaugeDisplayMode,
  BigValueColorMode,
  BigValueGraphMode,
  LegendDisplayMode,
  LegendPlacement,
  VisibilityMode,
  VizLegendOptionsBuilder,
  VizOrientation,
} from '@grafana/grafana-foundation-sdk/common';
import { type Dashboard, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder as PrometheusQuery } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as StateTimelinePanel } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import type { ToillessConfig } from '../shared/stack-config.js';
import { BLACKBOX_EXPORTER, runbookPanelLink } from './catalog.js';
import { ALL, labelVariable, newDashboard, PROMETHEUS, thresholds, valueTexts } from './panels.js';

const PROBES = 'instance=~"$instance"';
const DAY_SECONDS = 86_400;

const query = (expr: string, legend: string, refId: string) =>
  new PrometheusQuery().datasource(PROMETHEUS).expr(expr).legendFormat(legend).refId(refId);

const percentile = (quantile: string) =>
  query(
    `quantile_over_time(${quantile}, probe_duration_seconds{${PROBES}}[$__rate_interval])`,
    `{{instance}} p${Number(quantile) * 100}`,
    `p${Number(quantile) * 100}`,
  );

export function blackboxExporterDashboard(config: ToillessConfig): Dashboard {
  const runbooks = config.links.runbooksUrl;
  return newDashboard(
    BLACKBOX_EXPORTER,
    config,
    'Synthetic monitoring: whether each probed URL answered, how fast, how often, and when its TLS certificate expires.',
  )
    .withVariable(
      labelVariable('instance', 'Probed URL', 'label_values(probe_success, instance)')
        .multi(true)
        .includeAll(true)
        .allValue('.+')
        .current(ALL),
    )
    .withRow(new RowBuilder('Availability').id(1))
    .withPanel(
      new StateTimelinePanel()
        .id(2)
        .title('Up / down')
        .description('probe_success per probed URL: green when the probe succeeded, red when it failed.')
        .datasource(PROMETHEUS)
        .withTarget(query(`probe_success{${PROBES}}`, '{{instance}}', 'A'))
        .mappings(valueTexts({ '1': { text: 'up', color: 'green' }, '0': { text: 'down', color: 'red' } }))
        .thresholds(thresholds('red', [1, 'green']))
        .showValue(VisibilityMode.Never)
        .links([runbookPanelLink(runbooks, 'runbooks/probe-failed.md')])
        .height(7)
        .span(16),
    )
    .withPanel(
      new StatPanel()
        .id(3)
        .title('Probe success rate')
        .description('Share of successful probes over the range shown.')
        .datasource(PROMETHEUS)
        .withTarget(query(`avg_over_time(probe_success{${PROBES}}[$__range])`, '{{instance}}', 'A').instant())
        .unit('percentunit')
        .decimals(2)
        .thresholds(thresholds('red', [0.99, 'yellow'], [0.999, 'green']))
        .colorMode(BigValueColorMode.Background)
        .graphMode(BigValueGraphMode.None)
        .height(7)
        .span(8),
    )
    .withRow(new RowBuilder('Response time').id(4))
    .withPanel(
      new TimeseriesPanel()
        .id(5)
        .title('Response time p50, p90, p99')
        .description('Percentiles of the whole probe duration (DNS, connect, TLS, request) per probed URL.')
        .datasource(PROMETHEUS)
        .withTarget(percentile('0.5'))
        .withTarget(percentile('0.9'))
        .withTarget(percentile('0.99'))
        .unit('s')
        .min(0)
        .legend(
          new VizLegendOptionsBuilder()
            .displayMode(LegendDisplayMode.Table)
            .placement(LegendPlacement.Right)
            .showLegend(true)
            .calcs(['mean', 'max']),
        )
        .height(8)
        .span(16),
    )
    .withPanel(
      new TimeseriesPanel()
        .id(6)
        .title('HTTP phases')
        .description('Where an HTTP probe spends its time: resolve, connect, tls, processing, transfer.')
        .datasource(PROMETHEUS)
        .withTarget(query(`sum by (phase) (probe_http_duration_seconds{${PROBES}})`, '{{phase}}', 'A'))
        .unit('s')
        .min(0)
        .height(8)
        .span(8),
    )
    .withRow(new RowBuilder('TLS certificates').id(7))
    .withPanel(
      new BarGaugePanel()
        .id(8)
        .title('TLS certificate expires in')
        .description(
          'Time until the earliest certificate of the chain expires. The alert fires under 14 days.',
        )
        .datasource(PROMETHEUS)
        .withTarget(
          query(`probe_ssl_earliest_cert_expiry{${PROBES}} - time()`, '{{instance}}', 'A').instant(),
        )
        .unit('dtdurations')
        .min(0)
        .max(90 * DAY_SECONDS)
        .thresholds(
          thresholds(
            'red',
            [7 * DAY_SECONDS, 'orange'],
            [14 * DAY_SECONDS, 'yellow'],
            [30 * DAY_SECONDS, 'green'],
          ),
        )
        .displayMode(BarGaugeDisplayMode.Basic)
        .orientation(VizOrientation.Horizontal)
        .links([runbookPanelLink(runbooks, 'runbooks/ssl-cert-expiring-soon.md')])
        .height(7)
        .span(12),
    )
    .withPanel(
      new StatPanel()
        .id(9)
        .title('HTTP status code')
        .description('The status code of the last probe of each URL.')
        .datasource(PROMETHEUS)
        .withTarget(query(`probe_http_status_code{${PROBES}}`, '{{instance}}', 'A').instant())
        .unit('none')
        .thresholds(thresholds('green', [300, 'yellow'], [400, 'red']))
        .colorMode(BigValueColorMode.Value)
        .graphMode(BigValueGraphMode.None)
        .height(7)
        .span(12),
    )
    .build();
}
