/**
 * DORA metrics: the four metrics the dora-metrics worker writes (dora_* series, by repository and
 * environment, over 7 and 30 days) with their performance level, their trends, recent deployments and
 * the deployment markers. Level boundaries come from toilless.yaml `dora.levels`, as the worker's do.
 * The series are remote-written, not scraped, so every query takes the last value within a day.
 */

import { PanelBuilder as AnnotationsListPanel } from '@grafana/grafana-foundation-sdk/annotationslist';
import { PanelBuilder as BarGaugePanel } from '@grafana/grafana-foundation-sdk/bargauge';
import {
  BarGaugeDisplayMode,
  BigValueColorMode,
  BigValueGraphMode,
  BigValueTextMode,
  GraphThresholdsStyleConfigBuilder,
  GraphThresholdsStyleMode,
  LegendDisplayMode,
  LegendPlacement,
  VizLegendOptionsBuilder,
  VizOrientation,
} from '@grafana/grafana-foundation-sdk/common';
import { type Dashboard, RowBuilder, type ValueMapping } from '@grafana/grafana-foundation-sdk/dashboard';
import {
  DataqueryBuilder as PrometheusQuery,
  PromQueryFormat,
} from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import type { LevelBoundaries, ToillessConfig } from '../shared/stack-config.js';
import { DORA_METRICS, runbookPanelLink } from './catalog.js';
import {
  ALL,
  DEPLOYMENT_ANNOTATION_TAG,
  labelVariable,
  newDashboard,
  PROMETHEUS,
  thresholds,
  valueTexts,
  withDeploymentAnnotations,
} from './panels.js';

/** The repositories and environments chosen in the variables (multi-value, so regex matchers). */
const SELECTED = 'repository=~"$repository", environment=~"$environment"';

/** dora_performance_level values: 4 elite, 3 high, 2 medium, 1 low. */
export const LEVEL_BADGES: ValueMapping[] = valueTexts({
  '4': { text: 'Elite', color: 'green' },
  '3': { text: 'High', color: 'blue' },
  '2': { text: 'Medium', color: 'yellow' },
  '1': { text: 'Low', color: 'red' },
});

/** The last value a remote-written DORA series had within a day (samples are not scraped). */
function last(metric: string, matchers: string): string {
  return `last_over_time(${metric}{${SELECTED}, ${matchers}}[1d])`;
}

interface MetricPanel {
  readonly id: number;
  readonly title: string;
  readonly description: string;
  readonly expr: string;
  readonly level: string;
  readonly unit: string;
  /** Level boundaries, colouring the value as the badge does; `higherIsBetter` for frequency. */
  readonly boundaries: LevelBoundaries;
  readonly higherIsBetter: boolean;
}

export function doraMetricsDashboard(config: ToillessConfig): Dashboard {
  const levels = config.dora.levels;
  const runbooks = config.links.runbooksUrl;
  const cfrThreshold = levels.changeFailureRate.elite.value;
  const metricPanels: MetricPanel[] = [
    {
      id: 2,
      title: 'Deployment frequency',
      description: 'Successful deployments per day over 30 days, and its DORA level.',
      expr: last('dora_deployment_frequency_per_day', 'window="30d"'),
      level: 'deployment_frequency',
      unit: 'short',
      boundaries: levels.deploymentFrequency,
      higherIsBetter: true,
    },
    {
      id: 3,
      title: 'Lead time for changes (median)',
      description: 'Median time from commit to production over 30 days, and its DORA level.',
      expr: last('dora_lead_time_for_changes_seconds', 'window="30d", quantile="0.5"'),
      level: 'lead_time',
      unit: 's',
      boundaries: levels.leadTime,
      higherIsBetter: false,
    },
    {
      id: 4,
      title: 'Change failure rate',
      description: 'Deployments that failed or caused an incident over 30 days, and its DORA level.',
      expr: last('dora_change_failure_rate', 'window="30d"'),
      level: 'change_failure_rate',
      unit: 'percentunit',
      boundaries: levels.changeFailureRate,
      higherIsBetter: false,
    },
    {
      id: 5,
      title: 'Time to restore (median)',
      description:
        'Median recovery time (failed deployment or attributed incident) over 30 days, and its level.',
      expr: last('dora_time_to_restore_seconds', 'window="30d", quantile="0.5"'),
      level: 'time_to_restore',
      unit: 's',
      boundaries: levels.timeToRestore,
      higherIsBetter: false,
    },
  ];

  const builder = newDashboard(
    DORA_METRICS,
    config,
    'The four DORA metrics per repository and environment with their performance level (toilless.yaml ' +
      'dora.levels), their trends over 7 and 30 days, and the deployments.',
  )
    .withVariable(
      labelVariable('repository', 'Repository', 'label_values(dora_deployments, repository)')
        .multi(true)
        .includeAll(true)
        .allValue('.+')
        .current(ALL),
    )
    .withVariable(
      labelVariable(
        'environment',
        'Environment',
        'label_values(dora_deployments{repository=~"$repository"}, environment)',
      )
        .multi(true)
        .includeAll(true)
        .allValue('.+')
        .current(ALL),
    )
    .withRow(new RowBuilder('Levels over 30 days').id(1));

  for (const panel of metricPanels) {
    builder.withPanel(
      new StatPanel()
        .id(panel.id)
        .title(panel.title)
        .description(panel.description)
        .datasource(PROMETHEUS)
        .withTarget(
          new PrometheusQuery()
            .datasource(PROMETHEUS)
            .expr(panel.expr)
            .legendFormat('{{repository}} {{environment}}')
            .instant()
            .refId('value'),
        )
        .withTarget(
          new PrometheusQuery()
            .datasource(PROMETHEUS)
            .expr(last('dora_performance_level', `window="30d", metric="${panel.level}"`))
            .legendFormat('{{repository}} {{environment}} level')
            .instant()
            .refId('level'),
        )
        .unit(panel.unit)
        .thresholds(levelThresholds(panel.boundaries, panel.higherIsBetter))
        .overrides([
          {
            matcher: { id: 'byFrameRefID', options: 'level' },
            properties: [
              { id: 'unit', value: 'none' },
              { id: 'decimals', value: 0 },
              { id: 'mappings', value: LEVEL_BADGES },
              {
                id: 'thresholds',
                value: thresholds('red', [2, 'yellow'], [3, 'blue'], [4, 'green']).build(),
              },
            ],
          },
        ])
        .textMode(BigValueTextMode.ValueAndName)
        .colorMode(BigValueColorMode.Background)
        .graphMode(BigValueGraphMode.None)
        .height(6)
        .span(6),
    );
  }

  builder
    .withRow(new RowBuilder('Trends').id(6))
    .withPanel(
      new TimeseriesPanel()
        .id(7)
        .title('Deployment frequency trend')
        .description(
          `Successful deployments per day over the 7 and 30 days before each point; the line is the elite boundary.`,
        )
        .datasource(PROMETHEUS)
        .withTarget(
          new PrometheusQuery()
            .datasource(PROMETHEUS)
            .expr(last('dora_deployment_frequency_per_day', 'window=~"7d|30d"'))
            .legendFormat('{{repository}} {{environment}} {{window}}')
            .refId('A'),
        )
        .unit('short')
        .min(0)
        .thresholds(thresholds('transparent', [levels.deploymentFrequency.elite.value, 'green']))
        .thresholdsStyle(new GraphThresholdsStyleConfigBuilder().mode(GraphThresholdsStyleMode.Dashed))
        .legend(legend())
        .height(8)
        .span(12),
    )
    .withPanel(
      new TimeseriesPanel()
        .id(8)
        .title('Lead time for changes (p50, p90)')
        .description(
          'Commit to production over 30 days, per deployed commit (squash merges from the first commit).',
        )
        .datasource(PROMETHEUS)
        .withTarget(
          new PrometheusQuery()
            .datasource(PROMETHEUS)
            .expr(last('dora_lead_time_for_changes_seconds', 'window="30d"'))
            .legendFormat('{{repository}} {{environment}} p{{quantile}}')
            .refId('A'),
        )
        .unit('s')
        .min(0)
        .legend(legend())
        .height(8)
        .span(12),
    )
    .withPanel(
      new TimeseriesPanel()
        .id(9)
        .title('Change failure rate over 7 and 30 days')
        .description(
          `The dashed line is the elite boundary (${Math.round(cfrThreshold * 100)}%): the HighChangeFailureRate ` +
            'alert fires above it over 30 days in production.',
        )
        .datasource(PROMETHEUS)
        .withTarget(
          new PrometheusQuery()
            .datasource(PROMETHEUS)
            .expr(last('dora_change_failure_rate', 'window=~"7d|30d"'))
            .legendFormat('{{repository}} {{environment}} {{window}}')
            .refId('A'),
        )
        .unit('percentunit')
        .min(0)
        .max(1)
        .thresholds(thresholds('transparent', [cfrThreshold, 'red']))
        .thresholdsStyle(new GraphThresholdsStyleConfigBuilder().mode(GraphThresholdsStyleMode.Dashed))
        .links([runbookPanelLink(runbooks, 'runbooks/high-change-failure-rate.md')])
        .legend(legend())
        .height(8)
        .span(12),
    )
    .withPanel(
      new BarGaugePanel()
        .id(10)
        .title('Time to restore distribution')
        .description(
          'Median and 90th percentile recovery time over 7 and 30 days, per repository and environment.',
        )
        .datasource(PROMETHEUS)
        .withTarget(
          new PrometheusQuery()
            .datasource(PROMETHEUS)
            .expr(last('dora_time_to_restore_seconds', 'window=~"7d|30d"'))
            .legendFormat('{{repository}} {{environment}} {{window}} p{{quantile}}')
            .instant()
            .refId('A'),
        )
        .unit('s')
        .min(0)
        .thresholds(levelThresholds(levels.timeToRestore, false))
        .displayMode(BarGaugeDisplayMode.Gradient)
        .orientation(VizOrientation.Horizontal)
        .height(8)
        .span(12),
    )
    .withRow(new RowBuilder('Deployments').id(11))
    .withPanel(
      new TablePanel()
        .id(12)
        .title('Deployments by outcome')
        .description('Successful and failed deployments per repository and environment over 7 and 30 days.')
        .datasource(PROMETHEUS)
        .withTarget(
          new PrometheusQuery()
            .datasource(PROMETHEUS)
            .expr(last('dora_deployments', 'window=~"7d|30d"'))
            .format(PromQueryFormat.Table)
            .instant()
            .refId('A'),
        )
        .withTransformation({
          id: 'organize',
          options: {
            excludeByName: { Time: true, __name__: true, job: true, instance: true },
            renameByName: { status: 'outcome', Value: 'deployments' },
            indexByName: { repository: 0, environment: 1, window: 2, status: 3, Value: 4 },
          },
        })
        .overrides([
          {
            matcher: { id: 'byName', options: 'outcome' },
            properties: [
              {
                id: 'mappings',
                value: valueTexts({
                  success: { text: 'success', color: 'green' },
                  failure: { text: 'failure', color: 'red' },
                }),
              },
              { id: 'custom.cellOptions', value: { type: 'color-text' } },
            ],
          },
        ])
        .height(9)
        .span(12),
    )
    .withPanel(
      new AnnotationsListPanel()
        .id(13)
        .title('Recent production deployments')
        .description('The deployment markers the DORA worker adds to Grafana (tag "deploy"), newest first.')
        .tags([DEPLOYMENT_ANNOTATION_TAG])
        .onlyFromThisDashboard(false)
        .onlyInTimeRange(true)
        .showTags(true)
        .showTime(true)
        .showUser(false)
        .limit(20)
        .height(9)
        .span(12),
    );
  return withDeploymentAnnotations(builder.build());
}

/**
 * Thresholds colouring a value by its level: each boundary's value starts the next colour. For "lower
 * is better" metrics the colours run from elite (green, lowest) to low (red).
 */
function levelThresholds(boundaries: LevelBoundaries, higherIsBetter: boolean) {
  const { elite, high, medium } = boundaries;
  return higherIsBetter
    ? thresholds('red', [medium.value, 'yellow'], [high.value, 'blue'], [elite.value, 'green'])
    : thresholds('green', [elite.value, 'blue'], [high.value, 'yellow'], [medium.value, 'red']);
}

function legend() {
  return new VizLegendOptionsBuilder()
    .displayMode(LegendDisplayMode.List)
    .placement(LegendPlacement.Bottom)
    .showLegend(true);
}
