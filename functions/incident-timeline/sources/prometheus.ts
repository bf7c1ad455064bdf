/**
 * Prometheus evidence: what the alerts' own expressions did over the incident window (when the
 * condition first held, how far it went) and which other alerts of the service fired meanwhile.
 *
 * The expression comes from the alert's generatorURL (`g0.expr`) only when that URL's origin is a
 * Prometheus toilless is configured with (PROMETHEUS_URL, toilless.yaml prometheus.externalUrls) and
 * the expression is at most 8 KiB: anyone who can post to Alertmanager can write a generatorURL, and
 * its query's answer would be stored and posted. Otherwise the alerting rule of that name is looked
 * up in the configured Prometheus (GET /api/v1/rules) and its query used; when there is none, the
 * alert is skipped with a note. A rule of the form `<lhs> > <number>`
 * (or >=, <, <=; the number may be constant arithmetic such as `(14.4 * 0.01)`) is evaluated as its
 * left-hand side, so the values below the threshold are seen too; any other rule (and/or of windows,
 * `== 0`, `absent(...)`) is evaluated whole, and a point exists exactly where its condition held.
 */
import type { AlertingRule, PrometheusClient, PrometheusSeries } from '../../shared/clients/prometheus.js';
import type { EvidenceRequest, IncidentAlert, TimelineEvent } from '../model.js';
import { exploreMetricsUrl } from './explore-links.js';
import type { SourceFindings } from './findings.js';
import { queryWindow, shortHash } from './query-window.js';

export type ThresholdOperator = '>' | '>=' | '<' | '<=';

export type AlertCondition =
  | {
      readonly kind: 'threshold';
      readonly expr: string;
      /** What is compared: the query that is evaluated. */
      readonly lhs: string;
      readonly operator: ThresholdOperator;
      readonly threshold: number;
    }
  | { readonly kind: 'expression'; readonly expr: string };

export interface PrometheusEvidenceOptions {
  readonly client: PrometheusClient;
  /** toilless.yaml links.grafanaUrl, for Explore links. */
  readonly grafanaUrl: string;
  /** Distinct alert expressions evaluated at most. @default 5 */
  readonly maxExpressions?: number;
  /** Other firing alerts reported one by one at most; the rest are counted in one event. @default 10 */
  readonly maxOtherAlerts?: number;
  /**
   * The Prometheus URLs whose generatorURL expressions are used as they are (PROMETHEUS_URL and
   * toilless.yaml prometheus.externalUrls); compared by origin.
   */
  readonly trustedUrls: readonly string[];
}

/** The longest alert expression read from a generatorURL (8 KiB); a longer one is ignored with a note. */
export const MAX_EXPRESSION_LENGTH = 8 * 1024;
/** Parentheses nested deeper than this are not constant arithmetic (and would only deepen recursion). */
const MAX_CONSTANT_DEPTH = 64;

/** At most this many points per range query: far below Prometheus' 11,000, enough to see a shape. */
const TARGET_POINTS = 300;
const MIN_STEP_SECONDS = 15;

/** The rule expression of an alert's generatorURL (`g0.expr`), or undefined when there is none. */
export function alertExpression(generatorURL: string): string | undefined {
  let url: URL;
  try {
    url = new URL(generatorURL, 'http://prometheus.invalid');
  } catch {
    return undefined;
  }
  const expr = url.searchParams.get('g0.expr')?.trim();
  return expr ? expr : undefined;
}

/**
 * Where the query of an alert comes from: its generatorURL's expression when that is trusted, else
 * the configured Prometheus' rule of the same name (`lookup`), with the reason the expression was not
 * used when there was one to say.
 */
export type AlertQuerySource =
  | { readonly kind: 'expression'; readonly expr: string }
  | { readonly kind: 'lookup'; readonly reason?: string };

/** Decides whether an alert's generatorURL expression may be run: only from a trusted origin, and not too long. */
export function alertQuerySource(
  generatorURL: string,
  trustedOrigins: ReadonlySet<string>,
): AlertQuerySource {
  const url = absoluteUrl(generatorURL);
  if (url === undefined) return { kind: 'lookup' };
  const expr = url.searchParams.get('g0.expr')?.trim();
  if (!expr) return { kind: 'lookup' };
  if (!trustedOrigins.has(url.origin)) {
    return {
      kind: 'lookup',
      reason: `its generatorURL is on ${url.host}, which is not a Prometheus toilless knows (PROMETHEUS_URL, prometheus.externalUrls in toilless.yaml)`,
    };
  }
  if (expr.length > MAX_EXPRESSION_LENGTH) {
    return {
      kind: 'lookup',
      reason: `its expression is ${expr.length} characters long, over the limit of ${MAX_EXPRESSION_LENGTH}`,
    };
  }
  return { kind: 'expression', expr };
}

/** The origins (scheme, host, port) of configured URLs; malformed ones are left out. */
export function originsOf(urls: readonly string[]): ReadonlySet<string> {
  return new Set(urls.flatMap((url) => absoluteUrl(url)?.origin ?? []));
}

function absoluteUrl(text: string): URL | undefined {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** Reads a rule expression as a threshold condition when it is one, else as a whole expression. */
export function parseAlertCondition(expression: string): AlertCondition {
  const expr = stripOuterParentheses(expression.trim());
  const whole: AlertCondition = { kind: 'expression', expr: expression.trim() };
  const scan = scanTopLevel(expr);
  if (scan === undefined || scan.setOperator || scan.bool || scan.comparisons.length !== 1) return whole;
  const [comparison] = scan.comparisons;
  if (comparison === undefined) return whole;
  const { operator, at, length } = comparison;
  if (operator !== '>' && operator !== '>=' && operator !== '<' && operator !== '<=') return whole;
  const left = expr.slice(0, at).trim();
  const right = expr.slice(at + length).trim();
  const rightValue = constantValue(right);
  if (rightValue !== undefined && constantValue(left) === undefined && left !== '') {
    return { kind: 'threshold', expr: whole.expr, lhs: left, operator, threshold: rightValue };
  }
  const leftValue = constantValue(left);
  if (leftValue !== undefined && right !== '' && rightValue === undefined) {
    // `0.5 < x` is `x > 0.5`.
    return {
      kind: 'threshold',
      expr: whole.expr,
      lhs: right,
      operator: FLIPPED[operator],
      threshold: leftValue,
    };
  }
  return whole;
}

const FLIPPED: Record<ThresholdOperator, ThresholdOperator> = { '>': '<', '>=': '<=', '<': '>', '<=': '>=' };

/** The query range step: at least 15 s, and about 300 points over the window. */
export function rangeStepSeconds(from: Date, to: Date): number {
  const seconds = Math.max(0, (to.getTime() - from.getTime()) / 1000);
  return Math.max(MIN_STEP_SECONDS, Math.ceil(seconds / TARGET_POINTS));
}

export interface ConditionPoint {
  readonly at: Date;
  readonly value: number;
  readonly metric: Readonly<Record<string, string>>;
}

export interface ConditionSummary {
  /** The earliest point where the condition held (threshold: the compared value passed it). */
  readonly firstTrue?: ConditionPoint;
  /** The highest value (for < and <=: the lowest), over every point of every series. */
  readonly extreme?: ConditionPoint;
}

/** Where a condition first held and its extreme value, from the evaluated series. */
export function summariseCondition(
  condition: AlertCondition,
  series: readonly PrometheusSeries[],
): ConditionSummary {
  const lower = condition.kind === 'threshold' && (condition.operator === '<' || condition.operator === '<=');
  let firstTrue: ConditionPoint | undefined;
  let extreme: ConditionPoint | undefined;
  for (const { metric, points } of series) {
    for (const { at, value } of points) {
      if (Number.isNaN(value)) continue;
      const holds =
        condition.kind === 'expression' || compare(value, condition.operator, condition.threshold);
      if (holds && (firstTrue === undefined || at.getTime() < firstTrue.at.getTime())) {
        firstTrue = { at, value, metric };
      }
      if (extreme === undefined || (lower ? value < extreme.value : value > extreme.value)) {
        extreme = { at, value, metric };
      }
    }
  }
  return { ...(firstTrue ? { firstTrue } : {}), ...(extreme ? { extreme } : {}) };
}

/** Evaluates the alerts' expressions and lists the service's other firing alerts, part by part. */
export async function gatherPrometheusEvidence(
  request: EvidenceRequest,
  signal: AbortSignal,
  findings: SourceFindings,
  options: PrometheusEvidenceOptions,
): Promise<void> {
  const trusted = originsOf(options.trustedUrls);
  const sources = request.alerts.map((alert) => ({
    alert,
    source: alertQuerySource(alert.generatorURL, trusted),
  }));
  const fromPayload = sources.flatMap(({ alert, source }) =>
    source.kind === 'expression' ? [{ alert, expr: source.expr }] : [],
  );
  const toLookUp = sources.flatMap(({ alert, source }) =>
    source.kind === 'lookup' ? [{ alert, reason: source.reason }] : [],
  );
  const maxExpressions = options.maxExpressions ?? 5;
  const evaluate = (pairs: readonly { alert: IncidentAlert; expr: string }[]) =>
    Promise.all(
      distinctExpressions(pairs)
        .slice(0, maxExpressions)
        .map(({ expr, alerts }) =>
          findings.part(() => conditionEvents(request, signal, options, expr, alerts)),
        ),
    );
  await Promise.all([
    evaluate(fromPayload),
    toLookUp.length === 0
      ? undefined
      : findings.part(async () => {
          const rules = await options.client.alertingRules({ signal });
          const found = toLookUp.flatMap(({ alert }) =>
            rulesOf(rules, alert).map((rule) => ({ alert, expr: rule.query })),
          );
          const notes = toLookUp.flatMap(({ alert, reason }) =>
            reason !== undefined || !found.some((pair) => pair.alert === alert)
              ? [
                  expressionNote(
                    request,
                    alert,
                    reason,
                    found.some((pair) => pair.alert === alert),
                  ),
                ]
              : [],
          );
          await evaluate(found);
          return notes;
        }),
    findings.part(() => otherAlertEvents(request, signal, options)),
  ]);
}

/**
 * The configured alerting rules an alert can come from: same name, and every static label of the rule
 * on the alert. A templated label (`{{ $labels.job }}`) is rendered per alert, so the rule's text of it
 * says nothing about the alert's value and is not compared.
 */
export function rulesOf(rules: readonly AlertingRule[], alert: IncidentAlert): AlertingRule[] {
  return rules.filter(
    (rule) =>
      rule.name === alert.alertname &&
      Object.entries(rule.labels).every(
        ([name, value]) => value.includes('{{') || alert.labels[name] === value,
      ),
  );
}

function expressionNote(
  request: EvidenceRequest,
  alert: IncidentAlert,
  reason: string | undefined,
  found: boolean,
): TimelineEvent {
  const why =
    reason !== undefined
      ? `The expression of ${alert.alertname} is not used: ${reason}`
      : `${alert.alertname} has no expression to use`;
  const instead = found
    ? 'the query of the alerting rule of that name in Prometheus is used instead'
    : 'Prometheus has no alerting rule of that name, so it is skipped';
  return {
    at: request.to.toISOString(),
    kind: 'note',
    source: 'prometheus',
    summary: `${why}; ${instead}`,
    relevance: found ? 'low' : 'normal',
    links: [],
    details: {
      key: `note:prometheus:expression:${alert.fingerprint}`,
      alertname: alert.alertname,
      ruleFound: found,
    },
  };
}

function distinctExpressions(
  pairs: readonly { readonly alert: IncidentAlert; readonly expr: string }[],
): { readonly expr: string; readonly alerts: readonly IncidentAlert[] }[] {
  const byExpr = new Map<string, IncidentAlert[]>();
  for (const { alert, expr } of pairs) {
    const list = byExpr.get(expr) ?? [];
    if (!list.includes(alert)) list.push(alert);
    byExpr.set(expr, list);
  }
  return [...byExpr].map(([expr, list]) => ({ expr, alerts: list }));
}

async function conditionEvents(
  request: EvidenceRequest,
  signal: AbortSignal,
  options: PrometheusEvidenceOptions,
  expr: string,
  alerts: readonly IncidentAlert[],
): Promise<TimelineEvent[]> {
  const condition = parseAlertCondition(expr);
  const query = condition.kind === 'threshold' ? condition.lhs : condition.expr;
  const { from, to } = queryWindow(request);
  const stepSeconds = rangeStepSeconds(from, to);
  const series = await options.client.queryRange(query, { start: from, end: to, stepSeconds, signal });
  const { firstTrue, extreme } = summariseCondition(condition, series);
  const alertname = [...new Set(alerts.map((alert) => alert.alertname))].join(', ');
  const links = [
    { title: 'Expression in Grafana Explore', url: exploreMetricsUrl(options.grafanaUrl, query, from, to) },
  ];
  const id = shortHash(expr);
  const base = {
    alertnames: alerts.map((alert) => alert.alertname),
    expr,
    query,
    stepSeconds,
    ...(condition.kind === 'threshold'
      ? { operator: condition.operator, threshold: condition.threshold }
      : {}),
  };
  const events: TimelineEvent[] = [];
  if (firstTrue) {
    const atStart = firstTrue.at.getTime() - from.getTime() < stepSeconds * 1000;
    const text =
      condition.kind === 'threshold'
        ? `${alertname} condition first true: ${formatValue(firstTrue.value)} ${condition.operator} ${formatValue(condition.threshold)}`
        : `${alertname} condition first true (value ${formatValue(firstTrue.value)})`;
    events.push({
      at: firstTrue.at.toISOString(),
      kind: 'metric',
      source: 'prometheus',
      summary: atStart ? `${text}, already at the window's start` : text,
      relevance: 'high',
      links,
      details: {
        ...base,
        key: `prometheus:first-true:${id}:${firstTrue.at.toISOString()}`,
        value: firstTrue.value,
        series: firstTrue.metric,
      },
    });
  }
  if (extreme) {
    const lower =
      condition.kind === 'threshold' && (condition.operator === '<' || condition.operator === '<=');
    const threshold =
      condition.kind === 'threshold'
        ? ` (threshold ${condition.operator} ${formatValue(condition.threshold)})`
        : '';
    events.push({
      at: extreme.at.toISOString(),
      kind: 'metric',
      source: 'prometheus',
      summary: `${alertname} expression ${lower ? 'fell to' : 'peaked at'} ${formatValue(extreme.value)}${threshold}`,
      relevance: 'normal',
      links,
      details: {
        ...base,
        key: `prometheus:${lower ? 'lowest' : 'peak'}:${id}:${extreme.at.toISOString()}`,
        value: extreme.value,
        series: extreme.metric,
      },
    });
  }
  return events;
}

async function otherAlertEvents(
  request: EvidenceRequest,
  signal: AbortSignal,
  options: PrometheusEvidenceOptions,
): Promise<TimelineEvent[]> {
  const { from, to } = queryWindow(request);
  const stepSeconds = rangeStepSeconds(from, to);
  const query = `ALERTS{service=${JSON.stringify(request.service)},alertstate="firing"}`;
  const series = await options.client.queryRange(query, { start: from, end: to, stepSeconds, signal });
  const others = series
    .map(({ metric, points }) => {
      const { __name__: _name, alertstate: _state, ...labels } = metric;
      const first = points[0];
      const last = points[points.length - 1];
      return first && last ? { labels, first: first.at, last: last.at } : undefined;
    })
    .filter((alert) => alert !== undefined)
    .filter(({ labels }) => !request.alerts.some((own) => isSameAlert(labels, own)))
    .sort((a, b) => a.first.getTime() - b.first.getTime());
  const limit = options.maxOtherAlerts ?? 10;
  const events: TimelineEvent[] = others.slice(0, limit).map(({ labels, first, last }) => {
    const alertname = labels['alertname'] ?? 'an alert';
    const severity = labels['severity'] ? ` (${labels['severity']})` : '';
    const atStart = first.getTime() - from.getTime() < stepSeconds * 1000;
    return {
      at: first.toISOString(),
      kind: 'alert.firing',
      source: 'prometheus',
      ...(labels['severity'] ? { severity: labels['severity'] } : {}),
      summary: `Also firing for ${request.service}: ${alertname}${severity}${atStart ? ", already at the window's start" : ''}`,
      relevance: 'normal',
      links: [],
      details: {
        key: `prometheus:alert:${shortHash(labelsKey(labels))}:${first.toISOString()}`,
        labels,
        firstSeen: first.toISOString(),
        lastSeen: last.toISOString(),
      },
    };
  });
  const rest = others.slice(limit);
  const firstOfRest = rest[0];
  if (firstOfRest) {
    events.push({
      at: firstOfRest.first.toISOString(),
      kind: 'alert.firing',
      source: 'prometheus',
      summary: `${rest.length} more alerts firing for ${request.service}`,
      relevance: 'low',
      links: [],
      details: { alertnames: rest.map(({ labels }) => labels['alertname'] ?? '') },
    });
  }
  return events;
}

/** An ALERTS series is one of the incident's alerts when all its labels are that alert's labels. */
function isSameAlert(labels: Readonly<Record<string, string>>, alert: IncidentAlert): boolean {
  return Object.entries(labels).every(([name, value]) => alert.labels[name] === value);
}

function compare(value: number, operator: ThresholdOperator, threshold: number): boolean {
  switch (operator) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
  }
}

/** Three significant digits, without trailing zeros: 0.18333 -> 0.183, 42 -> 42. */
export function formatValue(value: number): string {
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : value < 0 ? '-Inf' : 'NaN';
  if (Number.isInteger(value) && Math.abs(value) < 1e6) return String(value);
  return String(Number(value.toPrecision(3)));
}

function labelsKey(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels)
    .sort()
    .map((name) => `${name}=${JSON.stringify(labels[name])}`)
    .join(',');
}

// ---------------------------------------------------------------------------------------------------
// Just enough PromQL lexing to find a top-level comparison.

interface TopLevelScan {
  readonly comparisons: readonly {
    readonly operator: string;
    readonly at: number;
    readonly length: number;
  }[];
  /** and, or, unless at the top level: the rule combines conditions. */
  readonly setOperator: boolean;
  /** `> bool`: a 0/1 result, not a filter. */
  readonly bool: boolean;
}

const COMPARISONS = ['==', '!=', '>=', '<=', '>', '<'];
const WORD = /[A-Za-z0-9_:.]/;

/** Comparisons and set operators outside parentheses, brackets, braces and strings; undefined if unbalanced. */
function scanTopLevel(expr: string): TopLevelScan | undefined {
  const comparisons: { operator: string; at: number; length: number }[] = [];
  let setOperator = false;
  let bool = false;
  let depth = 0;
  let i = 0;
  while (i < expr.length) {
    const c = expr[i] ?? '';
    if (c === '"' || c === "'" || c === '`') {
      const end = closingQuote(expr, i);
      if (end < 0) return undefined;
      i = end + 1;
    } else if (c === '#') {
      const end = expr.indexOf('\n', i);
      i = end < 0 ? expr.length : end + 1;
    } else if (c === '(' || c === '[' || c === '{') {
      depth++;
      i++;
    } else if (c === ')' || c === ']' || c === '}') {
      depth--;
      if (depth < 0) return undefined;
      i++;
    } else if (depth === 0 && /[A-Za-z_]/.test(c)) {
      let end = i;
      while (end < expr.length && WORD.test(expr[end] ?? '')) end++;
      const word = expr.slice(i, end).toLowerCase();
      if (word === 'and' || word === 'or' || word === 'unless') setOperator = true;
      if (word === 'bool') bool = true;
      i = end;
    } else if (depth === 0 && COMPARISONS.some((op) => expr.startsWith(op, i))) {
      const operator = COMPARISONS.find((op) => expr.startsWith(op, i)) ?? '';
      comparisons.push({ operator, at: i, length: operator.length });
      i += operator.length;
    } else {
      i++;
    }
  }
  return depth === 0 ? { comparisons, setOperator, bool } : undefined;
}

function closingQuote(expr: string, open: number): number {
  const quote = expr[open];
  for (let i = open + 1; i < expr.length; i++) {
    if (quote !== '`' && expr[i] === '\\') i++;
    else if (expr[i] === quote) return i;
  }
  return -1;
}

/**
 * `((x))` -> `x` while the first parenthesis closes at the very end. One pass pairs every parenthesis,
 * then the outer pairs are peeled by index: linear however deep the nesting.
 */
export function stripOuterParentheses(expr: string): string {
  const closing = matchingParentheses(expr);
  let start = 0;
  let end = expr.length - 1;
  const isSpace = (c: string | undefined) => c !== undefined && /\s/.test(c);
  while (start <= end && isSpace(expr[start])) start++;
  while (end >= start && isSpace(expr[end])) end--;
  while (start < end && expr[start] === '(' && closing.get(start) === end) {
    start++;
    end--;
    while (start <= end && isSpace(expr[start])) start++;
    while (end >= start && isSpace(expr[end])) end--;
  }
  return expr.slice(start, end + 1);
}

/** For each `(` outside strings, the index of its `)`; unbalanced ones have none. */
function matchingParentheses(text: string): Map<number, number> {
  const closing = new Map<number, number>();
  const open: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'" || c === '`') {
      const end = closingQuote(text, i);
      if (end < 0) break;
      i = end;
    } else if (c === '(') open.push(i);
    else if (c === ')') {
      const from = open.pop();
      if (from === undefined) break;
      closing.set(from, i);
    }
  }
  return closing;
}

/** The value of constant arithmetic (numbers, + - * / % ^, parentheses), or undefined for anything else. */
export function constantValue(text: string): number | undefined {
  const tokens =
    text.match(/0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|Inf|NaN|[-+*/%^()]|\S/g) ?? [];
  if (tokens.length === 0) return undefined;
  let position = 0;
  let depth = 0;
  const peek = () => tokens[position];
  const fail = (): never => {
    throw new RangeError('not constant');
  };
  const primary = (): number => {
    const token = tokens[position++];
    if (token === undefined) return fail();
    if (token === '(') {
      if (++depth > MAX_CONSTANT_DEPTH) fail();
      const value = sum();
      if (tokens[position++] !== ')') fail();
      depth--;
      return value;
    }
    if (token === 'Inf') return Number.POSITIVE_INFINITY;
    if (token === 'NaN') return Number.NaN;
    const value = Number(token);
    return /^[\d.]|^0[xX]/.test(token) && !Number.isNaN(value) ? value : fail();
  };
  const unary = (): number => {
    if (peek() === '-' || peek() === '+') {
      // Signs nest by recursion too: `- - - 1` counts like parentheses.
      if (++depth > MAX_CONSTANT_DEPTH) fail();
      const sign = tokens[position++] === '-' ? -1 : 1;
      const value = sign * unary();
      depth--;
      return value;
    }
    const base = primary();
    if (peek() === '^') {
      position++;
      if (++depth > MAX_CONSTANT_DEPTH) fail();
      const value = base ** unary();
      depth--;
      return value;
    }
    return base;
  };
  const product = (): number => {
    let value = unary();
    while (peek() === '*' || peek() === '/' || peek() === '%') {
      const op = tokens[position++];
      const right = unary();
      value = op === '*' ? value * right : op === '/' ? value / right : value % right;
    }
    return value;
  };
  const sum = (): number => {
    let value = product();
    while (peek() === '+' || peek() === '-') {
      const op = tokens[position++];
      const right = product();
      value = op === '+' ? value + right : value - right;
    }
    return value;
  };
  try {
    const value = sum();
    return position === tokens.length ? value : undefined;
  } catch {
    return undefined;
  }
}
