/**
 * SLO and error budget, generated from slos.yaml: every objective gets its SLI-vs-SLO gauge and budget,
 * and the selected one (the `service` and `slo` variables, which burn-rate alerts link with) its budget
 * as a share and as time, the policy state, the burn rate against the alert thresholds and its
 * compliance history. Every query reads the series the generated SLO rules record, so the dashboard
 * and the alerts can never disagree.
 */
import {
  BigValueColorMode,
  BigValueGraphMode,
  BigValueTextMode,
  GraphThresholdsStyleConfigBuilder,
  GraphThresholdsStyleMode,
  LegendDisplayMode,
  LegendPlacement,
  VizLegendOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import { type Dashboard, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as GaugePanel } from '@grafana/grafana-foundation-sdk/gauge';
import { DataqueryBuilder as PrometheusQuery } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { ERROR_BUDGET_POLICY } from '../alerting/runbooks.js';
import { BURN_RATE_ALERTS } from '../alerting/slo-rules.js';
import type { SloDefinition } from '../shared/slo-definitions.js';
import type { ToillessConfig } from '../shared/stack-config.js';
import { runbookPanelLink, SLO_ERROR_BUDGET } from './catalog.js';
import {
  labelVariable,
  newDashboard,
  PROMETHEUS,
  rangeTexts,
  thresholds,
  withDeploymentAnnotations,
} from './panels.js';

/** The selected SLO's series. */
const SELECTED = '{service="$service", slo="$slo"}';

/** The burn-rate bands: the fast-burn page's factor in red, the slower page's in yellow. */
export const FAST_BURN_FACTOR = Number(BURN_RATE_ALERTS[0]!.conditions[0]!.factor);
export const SLOW_BURN_FACTOR = Number(BURN_RATE_ALERTS[0]!.conditions[1]!.factor);

/** The error budget policy's thresholds (runbooks/error-budget-policy.md), as the share consumed. */
export const POLICY_STATES = [
  { consumed: 1, text: '100% consumed: feature freeze', color: 'red' },
  { consumed: 0.75, text: '75% consumed: approvals for features', color: 'orange' },
  { consumed: 0.5, text: '50% consumed: review and mitigate', color: 'yellow' },
] as const;

/** First id of the panels generated per SLO; each SLO takes two. */
const PER_SLO_FIRST_ID = 100;

const query = (expr: string, legend: string, refId: string) =>
  new PrometheusQuery().datasource(PROMETHEUS).expr(expr).legendFormat(legend).refId(refId);

const instant = (expr: string, legend: string, refId: string) => query(expr, legend, refId).instant();

export function sloErrorBudgetDashboard(slos: readonly SloDefinition[], config: ToillessConfig): Dashboard {
  const runbooks = config.links.runbooksUrl;
  const first = slos[0];
  const builder = newDashboard(
    SLO_ERROR_BUDGET,
    config,
    'SLIs against their objectives from slos.yaml, the error budget left (as a share and as time), the ' +
      'error budget policy state, burn rates against the alert thresholds and compliance history.',
  )
    .withVariable(
      withCurrent(
        labelVariable('service', 'Service', 'label_values(slo:objective:ratio, service)'),
        first?.service,
      ),
    )
    .withVariable(
      withCurrent(
        labelVariable('slo', 'SLO', 'label_values(slo:objective:ratio{service="$service"}, slo)'),
        first?.name,
      ),
    )
    .withRow(new RowBuilder('$service $slo').id(1))
    .withPanel(
      new StatPanel()
        .id(2)
        .title('SLI vs SLO over the period')
        .description(
          'Share of good events over the SLO period (slo:sli_error:ratio_period) and the objective.',
        )
        .datasource(PROMETHEUS)
        .withTarget(instant(`1 - slo:sli_error:ratio_period${SELECTED}`, 'SLI', 'sli'))
        .withTarget(instant(`slo:objective:ratio${SELECTED}`, 'SLO', 'slo'))
        .unit('percentunit')
        .decimals(3)
        .textMode(BigValueTextMode.ValueAndName)
        .colorMode(BigValueColorMode.None)
        .graphMode(BigValueGraphMode.None)
        .height(5)
        .span(6),
    )
    .withPanel(
      new StatPanel()
        .id(3)
        .title('Error budget remaining')
        .description('slo:error_budget_remaining:ratio: 100% untouched, 0% used up, below 0 overspent.')
        .datasource(PROMETHEUS)
        .withTarget(instant(`slo:error_budget_remaining:ratio${SELECTED}`, 'remaining', 'A'))
        .unit('percentunit')
        .decimals(1)
        .thresholds(budgetThresholds())
        .colorMode(BigValueColorMode.Background)
        .graphMode(BigValueGraphMode.None)
        .links([runbookPanelLink(runbooks, ERROR_BUDGET_POLICY)])
        .height(5)
        .span(6),
    )
    .withPanel(
      new StatPanel()
        .id(4)
        .title('Error budget remaining as time')
        .description(
          'How long a total outage could still last within the period: remaining share x budget x period.',
        )
        .datasource(PROMETHEUS)
        .withTarget(
          instant(
            `clamp_min(slo:error_budget_remaining:ratio${SELECTED}, 0)\n` +
              `* on (service, slo) slo:error_budget:ratio${SELECTED}\n` +
              `* on (service, slo) slo:time_period:days${SELECTED} * 86400`,
            'remaining',
            'A',
          ),
        )
        .unit('s')
        .thresholds(thresholds('red', [1, 'green']))
        .colorMode(BigValueColorMode.Value)
        .graphMode(BigValueGraphMode.None)
        .height(5)
        .span(6),
    )
    .withPanel(
      new StatPanel()
        .id(5)
        .title('Error budget policy')
        .description(
          'The error budget policy state from the share of the budget consumed (50%, 75%, 100%): see its runbook.',
        )
        .datasource(PROMETHEUS)
        .withTarget(instant(`1 - slo:error_budget_remaining:ratio${SELECTED}`, 'consumed', 'A'))
        .unit('percentunit')
        .mappings(
          rangeTexts([
            ...POLICY_STATES.map(
              ({ consumed, text, color }, index) =>
                [consumed, index === 0 ? null : POLICY_STATES[index - 1]!.consumed, text, color] as const,
            ),
            [null, POLICY_STATES[POLICY_STATES.length - 1]!.consumed, 'Within budget', 'green'] as const,
          ]),
        )
        .thresholds(
          thresholds(
            'green',
            ...[...POLICY_STATES].reverse().map(({ consumed, color }) => [consumed, color] as const),
          ),
        )
        .colorMode(BigValueColorMode.Background)
        .graphMode(BigValueGraphMode.None)
        .links([runbookPanelLink(runbooks, ERROR_BUDGET_POLICY)])
        .height(5)
        .span(6),
    )
    .withPanel(
      new TimeseriesPanel()
        .id(6)
        .title('Burn rate')
        .description(
          `How many times faster than the period allows the budget is spent. Red from ${FAST_BURN_FACTOR}x ` +
            `(fast burn: pages over 1h and 5m), yellow from ${SLOW_BURN_FACTOR}x (pages over 6h and 30m).`,
        )
        .datasource(PROMETHEUS)
        .withTarget(
          query(
            `slo:sli_error:ratio_rate5m${SELECTED} / on (service, slo) slo:error_budget:ratio${SELECTED}`,
            '5m',
            'rate5m',
          ),
        )
        .withTarget(query(`slo:burn_rate:ratio_rate1h${SELECTED}`, '1h', 'rate1h'))
        .withTarget(
          query(
            `slo:sli_error:ratio_rate6h${SELECTED} / on (service, slo) slo:error_budget:ratio${SELECTED}`,
            '6h',
            'rate6h',
          ),
        )
        .withTarget(query(`slo:burn_rate:ratio_period${SELECTED}`, 'period', 'period'))
        .unit('x')
        .min(0)
        .axisSoftMax(FAST_BURN_FACTOR * 1.2)
        .thresholds(thresholds('transparent', [SLOW_BURN_FACTOR, 'yellow'], [FAST_BURN_FACTOR, 'red']))
        .thresholdsStyle(new GraphThresholdsStyleConfigBuilder().mode(GraphThresholdsStyleMode.LineAndArea))
        .legend(legend())
        .links([
          runbookPanelLink(runbooks, BURN_RATE_ALERTS[0]!.runbookUrl),
          runbookPanelLink(runbooks, BURN_RATE_ALERTS[1]!.runbookUrl),
        ])
        .height(9)
        .span(12),
    )
    .withPanel(
      new TimeseriesPanel()
        .id(7)
        .title('SLI vs SLO (1h)')
        .description('Share of good events over the last hour at each point, and the objective.')
        .datasource(PROMETHEUS)
        .withTarget(query(`1 - slo:sli_error:ratio_rate1h${SELECTED}`, 'SLI (1h)', 'sli'))
        .withTarget(query(`slo:objective:ratio${SELECTED}`, 'SLO', 'slo'))
        .unit('percentunit')
        .decimals(3)
        .max(1)
        .legend(legend())
        .height(9)
        .span(12),
    )
    .withPanel(
      new TimeseriesPanel()
        .id(8)
        .title('Compliance over 7 and 30 days')
        .description(
          'Share of good events over the 7 and 30 days before each day (from the recorded 5m event rates), ' +
            'against the objective. Shows the last 30 days whatever the range picked.',
        )
        .datasource(PROMETHEUS)
        .withTarget(query(complianceOver('7d'), '7 days', 'compliance7d'))
        .withTarget(query(complianceOver('30d'), '30 days', 'compliance30d'))
        .withTarget(query(`slo:objective:ratio${SELECTED}`, 'SLO', 'slo'))
        .timeFrom('30d')
        .interval('1d')
        .unit('percentunit')
        .decimals(3)
        .max(1)
        .legend(legend())
        .height(9)
        .span(12),
    )
    .withPanel(
      new TimeseriesPanel()
        .id(9)
        .title('Error budget remaining over time')
        .description('slo:error_budget_remaining:ratio with the policy thresholds (50%, 25%, 0% left).')
        .datasource(PROMETHEUS)
        .withTarget(query(`slo:error_budget_remaining:ratio${SELECTED}`, 'remaining', 'A'))
        .unit('percentunit')
        .max(1)
        .thresholds(budgetThresholds())
        .thresholdsStyle(new GraphThresholdsStyleConfigBuilder().mode(GraphThresholdsStyleMode.Dashed))
        .legend(legend())
        .links([runbookPanelLink(runbooks, ERROR_BUDGET_POLICY)])
        .height(9)
        .span(12),
    );

  builder.withRow(new RowBuilder('All objectives (slos.yaml)').id(PER_SLO_FIRST_ID - 1));
  slos.forEach((slo, index) => {
    const own = `{service=${JSON.stringify(slo.service)}, slo=${JSON.stringify(slo.name)}}`;
    const objective = Number(slo.objective);
    const budget = Number(slo.errorBudget);
    const title = `${slo.service} ${slo.name}`;
    builder
      .withPanel(
        new GaugePanel()
          .id(PER_SLO_FIRST_ID + 2 * index)
          .title(`${title}: SLI vs SLO`)
          .description(
            [
              slo.description,
              `Objective ${slo.objectivePercent}% over ${slo.period}; the gauge shows the SLI over the period, ` +
                'red below the objective.',
            ]
              .filter((sentence) => sentence !== '')
              .join(' '),
          )
          .datasource(PROMETHEUS)
          .withTarget(instant(`1 - slo:sli_error:ratio_period${own}`, 'SLI', 'A'))
          .unit('percentunit')
          .decimals(3)
          .min(Math.max(0, roundRatio(1 - 10 * budget)))
          .max(1)
          .thresholds(thresholds('red', [objective, 'green']))
          .showThresholdMarkers(true)
          .height(6)
          .span(6),
      )
      .withPanel(
        new StatPanel()
          .id(PER_SLO_FIRST_ID + 2 * index + 1)
          .title(`${title}: error budget remaining`)
          .description(
            `Of the ${slo.period} budget (${roundRatio(budget * 100)}% of events). Below 50%, 25% and 0% the ` +
              'error budget policy applies.',
          )
          .datasource(PROMETHEUS)
          .withTarget(instant(`slo:error_budget_remaining:ratio${own}`, 'remaining', 'A'))
          .unit('percentunit')
          .decimals(1)
          .thresholds(budgetThresholds())
          .colorMode(BigValueColorMode.Background)
          .graphMode(BigValueGraphMode.None)
          .links([runbookPanelLink(runbooks, ERROR_BUDGET_POLICY)])
          .height(6)
          .span(6),
      );
  });
  // A deployment just before a burn is the first suspect.
  return withDeploymentAnnotations(builder.build());
}

/** The share of good events over `window` before each point, from the recorded 5m rates. */
function complianceOver(window: string): string {
  return (
    `1 - (\n  sum_over_time(slo:sli_bad_events:rate5m${SELECTED}[${window}])\n` +
    `  /\n  (sum_over_time(slo:sli_events:rate5m${SELECTED}[${window}]) > 0)\n)`
  );
}

/** Remaining budget: red when overspent, then the policy's 25% and 50% marks. */
function budgetThresholds() {
  return thresholds('red', [0, 'orange'], [0.25, 'yellow'], [0.5, 'green']);
}

function legend() {
  return new VizLegendOptionsBuilder()
    .displayMode(LegendDisplayMode.List)
    .placement(LegendPlacement.Bottom)
    .showLegend(true);
}

function withCurrent<T extends { current(option: { text: string; value: string }): T }>(
  variable: T,
  value: string | undefined,
): T {
  return value === undefined ? variable : variable.current({ text: value, value });
}

/** Floating-point noise off a ratio derived from exact decimal text (1 - 10 x 0.01 = 0.9, not 0.8999...). */
function roundRatio(value: number): number {
  return Number(value.toFixed(6));
}
