/**
 * toilless itself: its intake (webhook requests), its bus (events published, failed deliveries, dead
 * letters), the evidence sources incident timelines could not reach, the weekly report runs, and the
 * local server's process. Scraped from GET /metrics of `toilless serve` (job toilless).
 */
import {
  BigValueColorMode,
  BigValueGraphMode,
  LegendDisplayMode,
  LegendPlacement,
  StackingConfigBuilder,
  StackingMode,
  VizLegendOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import { type Dashboard, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder as PrometheusQuery } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import type { ToillessConfig } from '../shared/stack-config.js';
import { runbookPanelLink, TOILLESS } from './catalog.js';
import { bytesOnTheRightAxis, newDashboard, PROMETHEUS, thresholds, valueTexts } from './panels.js';

/**
 * The series this dashboard reads, exposed by functions/local/worker-metrics.ts (docs/dashboards.md);
 * the alerts of stack-config/prometheus/rules/toilless.yml read them too.
 */
export const TOILLESS_METRICS = {
  webhookRequests: 'toilless_webhook_requests_total',
  webhookDuration: 'toilless_webhook_request_duration_seconds',
  eventsPublished: 'toilless_events_published_total',
  workerFailures: 'toilless_worker_failures_total',
  deadLetters: 'toilless_dead_letters_total',
  evidenceSourcesUnavailable: 'toilless_evidence_sources_unavailable_total',
  reportRuns: 'toilless_report_runs_total',
} as const;

const m = TOILLESS_METRICS;

const query = (expr: string, legend: string, refId: string) =>
  new PrometheusQuery().datasource(PROMETHEUS).expr(expr).legendFormat(legend).refId(refId);

const legend = () =>
  new VizLegendOptionsBuilder()
    .displayMode(LegendDisplayMode.List)
    .placement(LegendPlacement.Bottom)
    .showLegend(true);

const stacked = () => new StackingConfigBuilder().mode(StackingMode.Normal);

export function toillessDashboard(config: ToillessConfig): Dashboard {
  const runbooks = config.links.runbooksUrl;
  return newDashboard(
    TOILLESS,
    config,
    'toilless watching itself: webhook intake, events on the bus, failed and dead-lettered deliveries, ' +
      'unreachable evidence sources and weekly report runs.',
  )
    .withRow(new RowBuilder('Intake').id(1))
    .withPanel(
      new StatPanel()
        .id(2)
        .title('Local server up')
        .description('Whether Prometheus could scrape GET /metrics of toilless serve.')
        .datasource(PROMETHEUS)
        .withTarget(query('min(up{service="toilless"})', 'up', 'A').instant())
        .thresholds(thresholds('red', [1, 'green']))
        .mappings(valueTexts({ '1': { text: 'up', color: 'green' }, '0': { text: 'down', color: 'red' } }))
        .colorMode(BigValueColorMode.Background)
        .graphMode(BigValueGraphMode.None)
        .links([runbookPanelLink(runbooks, 'runbooks/instance-down.md')])
        .height(8)
        .span(4),
    )
    .withPanel(
      new TimeseriesPanel()
        .id(3)
        .title('Webhook requests by route and status')
        .description(
          'Requests answered per second. 401/403: bad credentials; 400/413: payloads refused; 503: bus down.',
        )
        .datasource(PROMETHEUS)
        .withTarget(
          query(
            `sum by (route, status) (rate(${m.webhookRequests}[$__rate_interval]))`,
            '{{route}} {{status}}',
            'A',
          ),
        )
        .unit('reqps')
        .min(0)
        .stacking(stacked())
        .fillOpacity(30)
        .legend(legend())
        .height(8)
        .span(10),
    )
    .withPanel(
      new TimeseriesPanel()
        .id(4)
        .title('Webhook answer time p95 by route')
        .description('GitHub wants an answer within 10 s; Alertmanager times out and resends.')
        .datasource(PROMETHEUS)
        .withTarget(
          query(
            `histogram_quantile(0.95, sum by (route, le) (rate(${m.webhookDuration}_bucket[$__rate_interval])))`,
            '{{route}}',
            'A',
          ),
        )
        .unit('s')
        .min(0)
        .legend(legend())
        .height(8)
        .span(10),
    )
    .withRow(new RowBuilder('Bus and workers').id(5))
    .withPanel(
      new TimeseriesPanel()
        .id(6)
        .title('Events published by type')
        .description(
          'Events the bus accepted per second, by event type (AlertNotification, GitHub*, Incident*...).',
        )
        .datasource(PROMETHEUS)
        .withTarget(query(`sum by (type) (rate(${m.eventsPublished}[$__rate_interval]))`, '{{type}}', 'A'))
        .unit('short')
        .min(0)
        .stacking(stacked())
        .fillOpacity(30)
        .legend(legend())
        .height(8)
        .span(8),
    )
    .withPanel(
      new TimeseriesPanel()
        .id(7)
        .title('Worker failures')
        .description('Deliveries a worker failed (each retry counts), by subscriber, per interval.')
        .datasource(PROMETHEUS)
        .withTarget(
          query(
            `sum by (subscriber) (increase(${m.workerFailures}[$__rate_interval]))`,
            '{{subscriber}}',
            'A',
          ),
        )
        .unit('short')
        .min(0)
        .thresholds(thresholds('transparent', [1, 'orange']))
        .legend(legend())
        .height(8)
        .span(8),
    )
    .withPanel(
      new TimeseriesPanel()
        .id(8)
        .title('Dead letters')
        .description(
          'Events that failed their last retry, by subscriber: they are in dead-letter/<subscriber>/ for replay.',
        )
        .datasource(PROMETHEUS)
        .withTarget(
          query(`sum by (subscriber) (increase(${m.deadLetters}[$__rate_interval]))`, '{{subscriber}}', 'A'),
        )
        .unit('short')
        .min(0)
        .thresholds(thresholds('transparent', [1, 'red']))
        .legend(legend())
        .height(8)
        .span(8),
    )
    .withRow(new RowBuilder('Incident evidence and reports').id(9))
    .withPanel(
      new TimeseriesPanel()
        .id(10)
        .title('Evidence sources unavailable')
        .description(
          'Times an incident timeline could not reach a source (Prometheus, Loki, Tempo, deployments) within its budget.',
        )
        .datasource(PROMETHEUS)
        .withTarget(
          query(
            `sum by (source) (increase(${m.evidenceSourcesUnavailable}[$__rate_interval]))`,
            '{{source}}',
            'A',
          ),
        )
        .unit('short')
        .min(0)
        .legend(legend())
        .height(8)
        .span(12),
    )
    .withPanel(
      new StatPanel()
        .id(11)
        .title('Weekly report runs')
        .description('Report runs by outcome over the range shown.')
        .datasource(PROMETHEUS)
        .withTarget(
          query(`sum by (outcome) (increase(${m.reportRuns}[$__range]))`, '{{outcome}}', 'A').instant(),
        )
        .unit('none')
        .decimals(0)
        .colorMode(BigValueColorMode.Value)
        .graphMode(BigValueGraphMode.None)
        .overrides([
          {
            matcher: { id: 'byRegexp', options: '.*fail.*' },
            properties: [{ id: 'thresholds', value: thresholds('green', [1, 'red']).build() }],
          },
        ])
        .height(8)
        .span(12),
    )
    .withRow(new RowBuilder('Process').id(12))
    .withPanel(
      new TimeseriesPanel()
        .id(13)
        .title('CPU and memory')
        .datasource(PROMETHEUS)
        .withTarget(
          query('rate(toilless_process_cpu_seconds_total[$__rate_interval])', 'CPU {{instance}}', 'cpu'),
        )
        .withTarget(query('toilless_process_resident_memory_bytes', 'memory {{instance}}', 'memory'))
        .unit('percentunit')
        .min(0)
        .overrides([bytesOnTheRightAxis('memory')])
        .legend(legend())
        .height(8)
        .span(12),
    )
    .withPanel(
      new TimeseriesPanel()
        .id(14)
        .title('Event loop lag p99')
        .description('A blocked event loop delays every webhook answer.')
        .datasource(PROMETHEUS)
        .withTarget(query('toilless_nodejs_eventloop_lag_p99_seconds', '{{instance}}', 'A'))
        .unit('s')
        .min(0)
        .thresholds(thresholds('transparent', [0.05, 'orange']))
        .legend(legend())
        .height(8)
        .span(12),
    )
    .build();
}
