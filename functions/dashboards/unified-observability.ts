/**
 * Unified observability: the four golden signals of one service, its logs and its traces on one page.
 * A click on the latency panel opens the service's logs over the range shown; a trace_id in a log line
 * opens the trace (the Loki data source's derived field), and so does a row of the traces panel.
 */
import {
  BigValueColorMode,
  BigValueGraphMode,
  LegendDisplayMode,
  LegendPlacement,
  LogsDedupStrategy,
  LogsSortOrder,
  VizLegendOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import { type Dashboard, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as LogsPanel } from '@grafana/grafana-foundation-sdk/logs';
import { DataqueryBuilder as LokiQuery } from '@grafana/grafana-foundation-sdk/loki';
import { DataqueryBuilder as PrometheusQuery } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import {
  SearchTableType,
  DataqueryBuilder as TempoQueryBuilder,
} from '@grafana/grafana-foundation-sdk/tempo';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import type { ToillessConfig } from '../shared/stack-config.js';
import { runbookPanelLink, UNIFIED_OBSERVABILITY } from './catalog.js';
import {
  bytesOnTheRightAxis,
  exploreDataLink,
  LOKI,
  labelVariable,
  newDashboard,
  PROMETHEUS,
  TEMPO,
  thresholds,
  withDeploymentAnnotations,
} from './panels.js';

/** Requests that did not fail on the server: latency percentiles are of these only. */
const SUCCESSFUL = 'service="$service", status_code!~"5.."';
/** The logs of the selected service: the default log selector of toilless.yaml (OTLP's service_name). */
export const SERVICE_LOGS = '{service_name="$service"}';
/** Traces whose root or any span belongs to the selected service. */
export const SERVICE_TRACES = '{ resource.service.name = "$service" }';

const legendTable = () =>
  new VizLegendOptionsBuilder()
    .displayMode(LegendDisplayMode.Table)
    .placement(LegendPlacement.Right)
    .showLegend(true)
    .calcs(['mean', 'max', 'lastNotNull']);

const latencyQuery = (quantile: string) =>
  new PrometheusQuery()
    .datasource(PROMETHEUS)
    .expr(
      `histogram_quantile(${quantile}, sum by (le) (rate(http_request_duration_seconds_bucket{${SUCCESSFUL}}[$__rate_interval])))`,
    )
    .legendFormat(`p${Number(quantile) * 100}`)
    .refId(`p${Number(quantile) * 100}`)
    // Exemplars (trace ids on histogram samples) once: a dot on the chart that opens its trace in Tempo.
    .exemplar(quantile === '0.99');

export function unifiedObservabilityDashboard(config: ToillessConfig): Dashboard {
  const runbooks = config.links.runbooksUrl;
  const logsInWindow = exploreDataLink('Logs of $service in this window', {
    datasource: LOKI,
    fields: { expr: SERVICE_LOGS, queryType: 'range' },
  });
  const tracesInWindow = exploreDataLink('Slow traces of $service in this window', {
    datasource: TEMPO,
    fields: {
      queryType: 'traceql',
      query: '{ resource.service.name = "$service" && duration > 500ms }',
      limit: 20,
    },
  });

  const dashboard = newDashboard(
    UNIFIED_OBSERVABILITY,
    config,
    'The golden signals of one service (latency, traffic, errors, saturation), its logs and its traces. ' +
      'Click a latency spike for the logs of that window; a trace_id in a log line opens the trace.',
  )
    .withVariable(
      labelVariable('service', 'Service', 'label_values(http_requests_total, service)').current({
        text: 'sample-app',
        value: 'sample-app',
      }),
    )
    .withRow(new RowBuilder('Golden signals of $service').id(1))
    .withPanel(
      new StatPanel()
        .id(2)
        .title('Requests per second')
        .description('All requests of the service, averaged over the range shown.')
        .datasource(PROMETHEUS)
        .withTarget(
          new PrometheusQuery()
            .datasource(PROMETHEUS)
            .expr('sum(rate(http_requests_total{service="$service"}[$__rate_interval]))')
            .refId('A'),
        )
        .unit('reqps')
        .graphMode(BigValueGraphMode.Area)
        .colorMode(BigValueColorMode.None)
        .height(4)
        .span(6),
    )
    .withPanel(
      new StatPanel()
        .id(3)
        .title('Error ratio')
        .description('Share of requests answered with a 5xx over the range shown.')
        .datasource(PROMETHEUS)
        .withTarget(
          new PrometheusQuery()
            .datasource(PROMETHEUS)
            .expr(
              '(sum(rate(http_requests_total{service="$service", status_code=~"5.."}[$__range])) or vector(0))\n' +
                '/\n(sum(rate(http_requests_total{service="$service"}[$__range])) > 0)',
            )
            .instant()
            .refId('A'),
        )
        .unit('percentunit')
        .decimals(2)
        .thresholds(thresholds('green', [0.01, 'yellow'], [0.05, 'red']))
        .colorMode(BigValueColorMode.Background)
        .graphMode(BigValueGraphMode.None)
        .height(4)
        .span(6),
    )
    .withPanel(
      new StatPanel()
        .id(4)
        .title('p95 latency (successful requests)')
        .description('Over the range shown. The HighLatencyP95 alert fires above 500 ms for 5 minutes.')
        .datasource(PROMETHEUS)
        .withTarget(
          new PrometheusQuery()
            .datasource(PROMETHEUS)
            .expr(
              `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{${SUCCESSFUL}}[$__range])))`,
            )
            .instant()
            .refId('A'),
        )
        .unit('s')
        .thresholds(thresholds('green', [0.3, 'yellow'], [0.5, 'red']))
        .colorMode(BigValueColorMode.Background)
        .graphMode(BigValueGraphMode.None)
        .links([runbookPanelLink(runbooks, 'runbooks/high-latency-p95.md')])
        .height(4)
        .span(6),
    )
    .withPanel(
      new StatPanel()
        .id(5)
        .title('Targets up')
        .description('Scrape targets of the service that answered the last scrape, of all its targets.')
        .datasource(PROMETHEUS)
        .withTarget(
          new PrometheusQuery()
            .datasource(PROMETHEUS)
            .expr('sum(up{service="$service"}) / count(up{service="$service"})')
            .instant()
            .refId('A'),
        )
        .unit('percentunit')
        .thresholds(thresholds('red', [1, 'green']))
        .colorMode(BigValueColorMode.Background)
        .graphMode(BigValueGraphMode.None)
        .links([runbookPanelLink(runbooks, 'runbooks/instance-down.md')])
        .height(4)
        .span(6),
    )
    .withPanel(
      new TimeseriesPanel()
        .id(6)
        .title('Latency of successful requests (p50, p95, p99)')
        .description(
          'From http_request_duration_seconds, 5xx excluded. Click a point for the logs or the slow traces of ' +
            'the range shown: drag across a spike first to zoom in on its window. Exemplar dots open their trace.',
        )
        .datasource(PROMETHEUS)
        .withTarget(latencyQuery('0.5'))
        .withTarget(latencyQuery('0.95'))
        .withTarget(latencyQuery('0.99'))
        .unit('s')
        .min(0)
        .thresholds(thresholds('transparent', [0.5, 'red']))
        .legend(legendTable())
        .dataLinks([logsInWindow, tracesInWindow])
        .links([runbookPanelLink(runbooks, 'runbooks/high-latency-p95.md')])
        .height(9)
        .span(12),
    )
    .withPanel(
      new TimeseriesPanel()
        .id(7)
        .title('Traffic by status code')
        .description('Requests per second by HTTP status code.')
        .datasource(PROMETHEUS)
        .withTarget(
          new PrometheusQuery()
            .datasource(PROMETHEUS)
            .expr('sum by (status_code) (rate(http_requests_total{service="$service"}[$__rate_interval]))')
            .legendFormat('{{status_code}}')
            .refId('A'),
        )
        .unit('reqps')
        .min(0)
        .legend(legendTable())
        .dataLinks([logsInWindow])
        .links([runbookPanelLink(runbooks, 'runbooks/traffic-drop.md')])
        .height(9)
        .span(12),
    )
    .withPanel(
      new TimeseriesPanel()
        .id(8)
        .title('Error ratio (5xx)')
        .description('Share of requests answered with a server error; 0 while there are requests and no 5xx.')
        .datasource(PROMETHEUS)
        .withTarget(
          new PrometheusQuery()
            .datasource(PROMETHEUS)
            .expr(
              '(sum(rate(http_requests_total{service="$service", status_code=~"5.."}[$__rate_interval])) or vector(0))\n' +
                '/\n(sum(rate(http_requests_total{service="$service"}[$__rate_interval])) > 0)',
            )
            .legendFormat('error ratio')
            .refId('A'),
        )
        .unit('percentunit')
        .min(0)
        .thresholds(thresholds('transparent', [0.01, 'red']))
        .dataLinks([logsInWindow])
        .height(9)
        .span(12),
    )
    .withPanel(
      new TimeseriesPanel()
        .id(9)
        .title('Saturation: CPU and memory')
        .description(
          'CPU seconds used per second (1 = one core busy) and resident memory of the service processes.',
        )
        .datasource(PROMETHEUS)
        .withTarget(
          new PrometheusQuery()
            .datasource(PROMETHEUS)
            .expr('sum by (instance) (rate(process_cpu_seconds_total{service="$service"}[$__rate_interval]))')
            .legendFormat('CPU {{instance}}')
            .refId('cpu'),
        )
        .withTarget(
          new PrometheusQuery()
            .datasource(PROMETHEUS)
            .expr('sum by (instance) (process_resident_memory_bytes{service="$service"})')
            .legendFormat('memory {{instance}}')
            .refId('memory'),
        )
        .unit('percentunit')
        .min(0)
        .overrides([bytesOnTheRightAxis('memory')])
        .height(9)
        .span(12),
    )
    .withRow(new RowBuilder('Logs and traces of $service').id(10))
    .withPanel(
      new TimeseriesPanel()
        .id(11)
        .title('Log lines by level')
        .description('Loki log volume of the service by detected level.')
        .datasource(LOKI)
        .withTarget(
          new LokiQuery()
            .datasource(LOKI)
            .expr(`sum by (detected_level) (count_over_time(${SERVICE_LOGS} [$__auto]))`)
            .legendFormat('{{detected_level}}')
            .refId('A'),
        )
        .unit('short')
        .min(0)
        .height(6)
        .span(24),
    )
    .withPanel(
      new LogsPanel()
        .id(12)
        .title('Logs of $service')
        .description(
          'The service logs over the range shown. Expand a line: its trace_id links to the trace in Tempo.',
        )
        .datasource(LOKI)
        .withTarget(new LokiQuery().datasource(LOKI).expr(SERVICE_LOGS).maxLines(500).refId('A'))
        .showTime(true)
        .wrapLogMessage(true)
        .enableLogDetails(true)
        .sortOrder(LogsSortOrder.Descending)
        .dedupStrategy(LogsDedupStrategy.None)
        .height(12)
        .span(14),
    )
    .withPanel(
      new TablePanel()
        .id(13)
        .title('Traces of $service')
        .description('TraceQL search in Tempo over the range shown; click a trace id to open it.')
        .datasource(TEMPO)
        .withTarget(
          new TempoQueryBuilder()
            .datasource(TEMPO)
            .queryType('traceql')
            .query(SERVICE_TRACES)
            .tableType(SearchTableType.Traces)
            .limit(20)
            .refId('A'),
        )
        .links([
          exploreDataLink('Search traces of $service in Explore', {
            datasource: TEMPO,
            fields: { queryType: 'traceql', query: SERVICE_TRACES, limit: 20 },
          }),
        ])
        .height(12)
        .span(10),
    )
    .build();
  return withDeploymentAnnotations(dashboard);
}
