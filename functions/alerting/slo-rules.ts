/**
 * Turns SLO definitions into Prometheus rule groups: error ratios per window, burn rates, the error
 * budget left, and the multi-window multi-burn-rate alerts of the Google SRE Workbook ("Alerting on
 * SLOs"). Pure and deterministic: the same definitions always give the same text, so the committed
 * files can be checked for staleness byte for byte.
 */
import { formatDecimal, multiply, parseDecimal, shift, toNumber } from '../shared/decimal.js';
import type { LabelMatcher, SloDefinition } from '../shared/slo-definitions.js';

export const GENERATED_HEADER =
  '# generated from stack-config/slos.yaml by `toilless check --fix`; do not edit';

/** The windows that get an error-ratio series; the alerts pair them up. */
export const RATIO_WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'] as const;
export type RatioWindow = (typeof RATIO_WINDOWS)[number];

const WINDOW_SECONDS: Record<RatioWindow, number> = {
  '5m': 300,
  '30m': 1_800,
  '1h': 3_600,
  '2h': 7_200,
  '6h': 21_600,
  '1d': 86_400,
  '3d': 259_200,
};

/** One long/short window pair of a burn-rate alert: both ratios must exceed factor x budget. */
export interface BurnRateCondition {
  readonly long: RatioWindow;
  readonly short: RatioWindow;
  /** Burn-rate factor as decimal text, e.g. "14.4". */
  readonly factor: string;
}

/** A burn-rate alert: any of its conditions fires it. */
export interface BurnRateAlert {
  readonly alert: 'FastBurnRate' | 'SlowBurnRate';
  readonly severity: 'critical' | 'warning';
  readonly conditions: readonly BurnRateCondition[];
  /** The window whose burn rate and error ratio the summary quotes. */
  readonly reportedWindow: RatioWindow;
  readonly runbookUrl: string;
  /** `for:` of the rule, or undefined for none. */
  readonly pendingFor?: string;
}

/**
 * The SRE Workbook's recommendation for a 30-day period: 14.4x over 1h (2% of the budget) or 6x over
 * 6h (5%) pages; 3x over 1d or 1x over 3d (10% each) is a ticket. The short window (1/12 of the long)
 * makes an alert stop minutes after the errors stop instead of hours later.
 */
export const BURN_RATE_ALERTS: readonly BurnRateAlert[] = [
  {
    alert: 'FastBurnRate',
    severity: 'critical',
    conditions: [
      { long: '1h', short: '5m', factor: '14.4' },
      { long: '6h', short: '30m', factor: '6' },
    ],
    reportedWindow: '1h',
    runbookUrl: 'runbooks/fast-burn-rate.md',
    pendingFor: '2m',
  },
  {
    alert: 'SlowBurnRate',
    severity: 'warning',
    conditions: [
      { long: '1d', short: '2h', factor: '3' },
      { long: '3d', short: '6h', factor: '1' },
    ],
    reportedWindow: '1d',
    runbookUrl: 'runbooks/slow-burn-rate.md',
  },
];

/** The Grafana dashboard (path below links.grafanaUrl) that shows an SLO's budget and burn rates. */
export function sloDashboardPath(slo: Pick<SloDefinition, 'service' | 'name'>): string {
  return `/d/slo-error-budget/slo-error-budget?var-service=${encodeURIComponent(slo.service)}&var-slo=${encodeURIComponent(slo.name)}`;
}

/** The rule file name of a service's SLOs, under stack-config/prometheus/rules/. */
export function sloRuleFileName(service: string): string {
  return `slo-${service}.yml`;
}

/** The rule file text for one service's SLOs. */
export function renderSloRuleFile(service: string, slos: readonly SloDefinition[]): string {
  const own = slos.filter((slo) => slo.service === service);
  if (own.length === 0) throw new RangeError(`no SLOs for service ${service}`);
  const lines = [
    GENERATED_HEADER,
    `# Rules for the SLOs of ${service}. How they work: docs/alerting.md.`,
    'groups:',
  ];
  for (const slo of own) lines.push(...renderGroup(slo));
  return `${lines.join('\n')}\n`;
}

/** Rule file texts by file name, one per service, in the order the services first appear. */
export function renderSloRuleFiles(slos: readonly SloDefinition[]): Map<string, string> {
  const files = new Map<string, string>();
  for (const service of new Set(slos.map((slo) => slo.service))) {
    files.set(sloRuleFileName(service), renderSloRuleFile(service, slos));
  }
  return files;
}

function renderGroup(slo: SloDefinition): string[] {
  const own = selectorOf(slo);
  const budget = slo.errorBudget;
  const lines = [
    `  # ${slo.service} ${slo.name}: ${slo.objectivePercent}% of events good over ${slo.period}` +
      (slo.description === '' ? '' : `. ${oneLine(slo.description)}`),
    `  - name: slo-${slo.service}-${slo.name}`,
    '    rules:',
    '      # Events and bad events per second over 5m; the period ratio sums these, so it is traffic-weighted.',
    ...recording(slo, 'slo:sli_events:rate5m', sliExpressions(slo, '5m').events),
    ...recording(slo, 'slo:sli_bad_events:rate5m', badEventsRate5m(slo)),
    '      # Error ratio = bad events / events in the window. Without events there is no sample (never 0/0 = NaN).',
    ...recording(
      slo,
      'slo:sli_error:ratio_rate5m',
      `slo:sli_bad_events:rate5m${own}\n/\n(slo:sli_events:rate5m${own} > 0)`,
    ),
  ];
  for (const window of RATIO_WINDOWS.slice(1)) {
    lines.push(...recording(slo, `slo:sli_error:ratio_rate${window}`, ratioExpression(slo, window)));
  }
  lines.push(
    `      # Over the whole ${slo.period} period: sums of the 5m rates, cheaper than rate() over raw samples.`,
    ...recording(
      slo,
      'slo:sli_error:ratio_period',
      `sum_over_time(slo:sli_bad_events:rate5m${own}[${slo.period}])\n/\n` +
        `(sum_over_time(slo:sli_events:rate5m${own}[${slo.period}]) > 0)`,
    ),
    '      # Constants for dashboards and the weekly report.',
    ...recording(slo, 'slo:objective:ratio', `vector(${slo.objective})`),
    ...recording(slo, 'slo:error_budget:ratio', `vector(${budget})`),
    ...recording(slo, 'slo:time_period:days', `vector(${slo.periodDays})`),
    '      # Burn rate: how many times faster than "exactly used up at the end of the period" the budget goes.',
    ...recording(slo, 'slo:burn_rate:ratio_rate1h', `slo:sli_error:ratio_rate1h${own} / ${budget}`),
    ...recording(slo, 'slo:burn_rate:ratio_period', `slo:sli_error:ratio_period${own} / ${budget}`),
    '      # Not clamped: below 0 the budget is overspent (-0.5 = 150% spent); dashboards clamp for gauges.',
    ...recording(slo, 'slo:error_budget_remaining:ratio', `1 - slo:sli_error:ratio_period${own} / ${budget}`),
  );
  for (const alert of BURN_RATE_ALERTS) lines.push(...alerting(slo, alert));
  return lines;
}

interface SliExpressions {
  /** Events per second over the window, without labels. */
  readonly events: string;
  /** Bad events per second over the window, without labels; absent when no bad-event series exists yet. */
  readonly bad: string;
  /** True when `bad` can be absent while events flow (a counter of bad events that never moved yet). */
  readonly badMayBeAbsent: boolean;
  /** Good events per second, when they are counted directly (histogram buckets). */
  readonly good?: string;
}

function sliExpressions(slo: SloDefinition, window: string): SliExpressions {
  const { sli } = slo;
  switch (sli.type) {
    case 'availability':
      return {
        events: `sum(rate(${sli.metric}${matcherText(sli.selector)}[${window}]))`,
        bad: `sum(rate(${sli.metric}${matcherText([...sli.selector, ...sli.bad])}[${window}]))`,
        badMayBeAbsent: true,
      };
    case 'latency': {
      const bucket = (le: string) =>
        `sum(rate(${sli.metric}_bucket${matcherText([...sli.selector, { name: 'le', operator: '=', quotedValue: JSON.stringify(le) }])}[${window}]))`;
      const events = bucket('+Inf');
      // A threshold that is not a bucket boundary leaves this absent: no data, never a false "all good".
      const good = bucket(sli.threshold);
      return { events, good, bad: `${events}\n-\n${good}`, badMayBeAbsent: false };
    }
    case 'raw':
      return {
        events: `sum(\n${indent(fill(sli.totalQuery, window), 2)}\n)`,
        bad: `sum(\n${indent(fill(sli.errorQuery, window), 2)}\n)`,
        badMayBeAbsent: true,
      };
  }
}

/** Bad events per second over 5m, 0 rather than absent while there are events. */
function badEventsRate5m(slo: SloDefinition): string {
  const { bad, badMayBeAbsent } = sliExpressions(slo, '5m');
  // No bad-event series yet (no 5xx so far) means 0 bad events, not "no data".
  return badMayBeAbsent ? `${bad}\nor on()\n0 * slo:sli_events:rate5m${selectorOf(slo)}` : bad;
}

function ratioExpression(slo: SloDefinition, window: RatioWindow): string {
  const { events, bad, badMayBeAbsent, good } = sliExpressions(slo, window);
  // 1 - good / all reads the events once instead of twice (bad = all - good): long windows are costly.
  if (good !== undefined) return `1 - (\n${indent(good, 2)}\n  /\n  (${events} > 0)\n)`;
  // vector(0) stands in for a bad-event series that does not exist yet; the > 0 guard then still
  // leaves no sample when there are no events.
  const numerator = badMayBeAbsent ? `(\n${indent(bad, 2)}\n  or\n  vector(0)\n)` : `(\n${indent(bad, 2)}\n)`;
  return `${numerator}\n/\n(${events} > 0)`;
}

function alerting(slo: SloDefinition, alert: BurnRateAlert): string[] {
  const own = selectorOf(slo);
  const budget = parseDecimal(slo.errorBudget);
  const pairs = alert.conditions.map((condition) => {
    const threshold = `(${condition.factor} * ${slo.errorBudget})`;
    const parts = [
      `slo:sli_error:ratio_rate${condition.long}${own} > ${threshold}`,
      'and',
      `slo:sli_error:ratio_rate${condition.short}${own} > ${threshold}`,
    ];
    if (slo.minEvents > 0) {
      const { events } = sliExpressions(slo, condition.long);
      parts.push('and on()', `(${events} * ${WINDOW_SECONDS[condition.long]}) >= ${slo.minEvents}`);
    }
    return `(\n${indent(parts.join('\n'), 2)}\n)`;
  });
  const percent = (factor: string) => `${formatDecimal(shift(multiply(parseDecimal(factor), budget), -2))}%`;
  const budgetPercent = `${formatDecimal(shift(budget, -2))}%`;
  const conditionText = alert.conditions
    .map(
      (condition, index) =>
        `above ${percent(condition.factor)} (${condition.factor}x${index === 0 ? ` the ${budgetPercent} budget` : ''}) ` +
        `over both ${condition.long} and ${condition.short}`,
    )
    .join(', or ');
  const fastest = alert.conditions[0]!;
  const lasts = formatDays(slo.periodDays / toNumber(parseDecimal(fastest.factor)));
  const window = alert.reportedWindow;
  const ratioQuery = `slo:sli_error:ratio_rate${window}${own}`;
  const summary =
    `${slo.service} ${slo.name}: burning the error budget ` +
    `{{ with query \`${ratioQuery} / ${slo.errorBudget}\` }}{{ . | first | value | printf "%.1f" }}{{ end }}x too fast ` +
    `(${window} error ratio {{ with query \`${ratioQuery}\` }}{{ . | first | value | humanizePercentage }}{{ end }})`;
  const description =
    `The error ratio of ${slo.service} ${slo.name} (objective ${slo.objectivePercent}% over ${slo.period}) is ${conditionText}. ` +
    `At ${fastest.factor}x the whole ${slo.period} budget lasts ${lasts}. Follow the error budget policy.`;
  const lines = [`      - alert: ${alert.alert}`, '        expr: |-', indent(pairs.join('\nor\n'), 10)];
  if (alert.pendingFor !== undefined) {
    const outageMinutes = 60 * toNumber(multiply(parseDecimal(fastest.factor), budget));
    lines.push(
      `        # ${alert.pendingFor} ignores a one-evaluation blip. A total outage crosses ${percent(fastest.factor)} over ` +
        `${fastest.long} after ${formatMinutes(outageMinutes)} and pages ${alert.pendingFor} later;`,
      '        # resolving is not delayed: the alert clears as soon as the short windows drain.',
      `        for: ${alert.pendingFor}`,
    );
  }
  lines.push(
    '        labels:',
    `          severity: ${alert.severity}`,
    `          service: ${slo.service}`,
    `          slo: ${slo.name}`,
    '        annotations:',
    `          summary: ${JSON.stringify(summary)}`,
    `          description: ${JSON.stringify(description)}`,
    `          dashboard_url: ${JSON.stringify(sloDashboardPath(slo))}`,
    `          runbook_url: ${alert.runbookUrl}`,
  );
  return lines;
}

function recording(slo: SloDefinition, record: string, expr: string): string[] {
  const body = expr.includes('\n') ? ['        expr: |-', indent(expr, 10)] : [`        expr: ${expr}`];
  return [
    `      - record: ${record}`,
    ...body,
    '        labels:',
    `          service: ${slo.service}`,
    `          slo: ${slo.name}`,
  ];
}

function selectorOf(slo: SloDefinition): string {
  return `{service=${JSON.stringify(slo.service)},slo=${JSON.stringify(slo.name)}}`;
}

function matcherText(matchers: readonly LabelMatcher[]): string {
  return `{${matchers.map((m) => `${m.name}${m.operator}${m.quotedValue}`).join(',')}}`;
}

function fill(template: string, window: string): string {
  return template.replaceAll('{{window}}', window);
}

function indent(text: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  return text
    .split('\n')
    .map((line) => (line === '' ? line : `${pad}${line}`))
    .join('\n');
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ');
}

function formatDays(days: number): string {
  const rounded = Math.round(days * 10) / 10;
  return `${rounded} ${rounded === 1 ? 'day' : 'days'}`;
}

function formatMinutes(minutes: number): string {
  if (minutes < 1) return `${Math.round(minutes * 60)}s`;
  return `${Math.round(minutes * 10) / 10}m`;
}
