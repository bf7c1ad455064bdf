/**
 * stack-config/slos.yaml: the service level objectives that burn-rate alerts and the error-budget
 * dashboards are generated from. Loading validates every SLO and names the service, SLO and field
 * of each problem, because an operator edits this file by hand.
 */
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import {
  compare,
  type Decimal,
  decimalFromNumber,
  formatDecimal,
  multiply,
  parseDecimal,
  shift,
  subtract,
  toNumber,
} from './decimal.js';
import { parseDurationMs } from './duration.js';
import { ConfigurationError } from './errors.js';
import { readStackConfigFile, stackConfigDir } from './stack-config.js';

/** One label matcher of a selector, e.g. status_code=~"5..". */
export interface LabelMatcher {
  readonly name: string;
  readonly operator: '=' | '!=' | '=~' | '!~';
  /** The value as written, with its double quotes, so escapes survive unchanged. */
  readonly quotedValue: string;
}

/** Events counted by one counter; bad events are the subset matching `bad`. */
export interface AvailabilitySli {
  readonly type: 'availability';
  readonly metric: string;
  readonly selector: readonly LabelMatcher[];
  readonly bad: readonly LabelMatcher[];
}

/** Events counted by a histogram; good events are those in the bucket `le="<threshold>"`. */
export interface LatencySli {
  readonly type: 'latency';
  /** The histogram's name without _bucket. */
  readonly metric: string;
  readonly selector: readonly LabelMatcher[];
  /** The `le` label value of the bucket, exactly as exposed (e.g. "0.5"). */
  readonly threshold: string;
}

/** Any other SLI: PromQL rates of bad and of all events, with `{{window}}` in their range selectors. */
export interface RawSli {
  readonly type: 'raw';
  readonly errorQuery: string;
  readonly totalQuery: string;
}

export type SliDefinition = AvailabilitySli | LatencySli | RawSli;

/** One validated SLO with the numbers derived from it. */
export interface SloDefinition {
  readonly service: string;
  /** The SLO's name within its service, e.g. "availability". */
  readonly name: string;
  readonly description: string;
  /** The objective as written, in percent (e.g. "99.9"). */
  readonly objectivePercent: string;
  /** The objective as a ratio (e.g. "0.999"), exact decimal text. */
  readonly objective: string;
  /** The error budget 1 - objective as a ratio (e.g. "0.001"), exact decimal text. */
  readonly errorBudget: string;
  /** The SLO period as written (e.g. "30d"). */
  readonly period: string;
  readonly periodDays: number;
  /** A burn-rate condition only counts when its long window saw at least this many events. */
  readonly minEvents: number;
  readonly sli: SliDefinition;
}

/** The fast-burn page fires at 14.4 x the budget; an objective must leave that below a 100% error ratio. */
export const FAST_BURN_FACTOR = '14.4';

/** slos.yaml has problems; `problems` holds one "service/slo: field: what is wrong" line each. */
export class SloDefinitionError extends ConfigurationError {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(problems.map((problem) => `${source}: ${problem}`).join('\n'));
  }
}

const NAME = /^[a-z0-9][a-z0-9-]*$/;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const MATCHER = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*")\s*(?:,|$)/y;

/** Parses `a="b", c=~"d"` (optionally in braces) into matchers; throws a RangeError saying what is wrong. */
export function parseLabelMatchers(text: string): LabelMatcher[] {
  let body = text.trim();
  if (body.startsWith('{') && body.endsWith('}')) body = body.slice(1, -1).trim();
  const matchers: LabelMatcher[] = [];
  MATCHER.lastIndex = 0;
  while (MATCHER.lastIndex < body.length) {
    const start = MATCHER.lastIndex;
    const match = MATCHER.exec(body);
    if (match === null) {
      throw new RangeError(
        `cannot read label matchers at ${JSON.stringify(body.slice(start))}: write them as name="value", ` +
          `name!="value", name=~"regex" or name!~"regex", separated by commas`,
      );
    }
    const [, name = '', operator = '=', quotedValue = '""'] = match;
    if (name === '__name__')
      throw new RangeError('__name__ cannot be matched here: the metric is set by metric');
    matchers.push({ name, operator: operator as LabelMatcher['operator'], quotedValue });
  }
  return matchers;
}

const matchers = () =>
  z.string({ error: 'must be label matchers such as service="sample-app"' }).transform((text, ctx) => {
    try {
      return parseLabelMatchers(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });

const metricName = z
  .string({ error: 'must be a metric name' })
  .regex(METRIC_NAME, 'must be a metric name such as http_requests_total');

const rangeTemplate = z
  .string({ error: 'must be a PromQL expression' })
  .refine((query) => query.includes('[{{window}}]'), {
    message: 'must contain the range placeholder [{{window}}], e.g. sum(rate(my_errors_total[{{window}}]))',
  });

const availabilitySli = z.strictObject({
  type: z.literal('availability'),
  metric: metricName,
  selector: matchers().default([]),
  badSelector: matchers().refine((list) => list.length > 0, {
    message: 'must select the bad events, e.g. status_code=~"5.."',
  }),
});

const latencySli = z.strictObject({
  type: z.literal('latency'),
  metric: metricName.refine((name) => !name.endsWith('_bucket'), {
    message: 'give the histogram name without _bucket, e.g. http_request_duration_seconds',
  }),
  selector: matchers()
    .refine((list) => list.every((matcher) => matcher.name !== 'le'), {
      message: 'cannot match le: the bucket is chosen by threshold',
    })
    .default([]),
  threshold: z
    .union([z.string(), z.number()], { error: 'must be the le value of a bucket, e.g. "0.5"' })
    .transform((value) => (typeof value === 'number' ? String(value) : value.trim()))
    .refine((value) => /^\d+(?:\.\d+)?(?:e[+-]?\d+)?$/i.test(value) && Number(value) > 0, {
      message: 'must be a positive number written exactly as the le label of a histogram bucket, e.g. "0.5"',
    }),
});

const rawSli = z.strictObject({
  type: z.literal('raw'),
  errorQuery: rangeTemplate,
  totalQuery: rangeTemplate,
});

const objectiveSchema = z
  .number({ error: 'must be a number of percent, e.g. 99 or 99.9' })
  .refine((value) => value > 0 && value < 100, { message: 'must be between 0 and 100 (exclusive)' })
  .refine((value) => !/e/i.test(String(value)) && (String(value).split('.')[1]?.length ?? 0) <= 6, {
    message: 'use at most 6 decimals, e.g. 99.999',
  })
  .refine((value) => !neverPages(value), {
    error: (issue) => looseObjectiveMessage(issue.input as number),
  });

const periodSchema = z.string({ error: 'must be a duration in days, e.g. 30d or 4w' }).refine(
  (value) => {
    try {
      const ms = parseDurationMs(value);
      return ms % 86_400_000 === 0 && ms >= 7 * 86_400_000;
    } catch {
      return false;
    }
  },
  { message: 'must be a whole number of days, at least 7d (the longest alert window is 3d), e.g. 30d' },
);

const sloSchema = z.strictObject({
  /** One line for people: what a good event is. */
  description: z.string().default(''),
  /** Percent of events that must be good, e.g. 99.9. */
  objective: objectiveSchema,
  /** The SLO period: the error budget is spent over this window. */
  period: periodSchema.default('30d'),
  /** A burn-rate condition only counts when its long window saw at least this many events. @default 0 */
  minEvents: z
    .number({ error: 'must be a whole number of events' })
    .int('must be a whole number of events')
    .min(0, 'must be 0 or more')
    .default(0),
  sli: z.discriminatedUnion('type', [availabilitySli, latencySli, rawSli], {
    error: 'needs type: availability (a counter), latency (a histogram) or raw (PromQL queries)',
  }),
});

const name = (what: string) => z.string().regex(NAME, `${what} names are lower-case kebab-case`);

const slosFileSchema = z.strictObject({
  services: z.record(name('service'), z.record(name('SLO'), sloSchema)).default({}),
});

function budgetOf(objectivePercent: Decimal): Decimal {
  return subtract(parseDecimal('1'), shift(objectivePercent, 2));
}

function neverPages(objectivePercent: number): boolean {
  const budget = budgetOf(decimalFromNumber(objectivePercent));
  return compare(multiply(parseDecimal(FAST_BURN_FACTOR), budget), parseDecimal('1')) >= 0;
}

function looseObjectiveMessage(objectivePercent: number): string {
  const budget = budgetOf(decimalFromNumber(objectivePercent));
  const page = multiply(parseDecimal(FAST_BURN_FACTOR), budget);
  return (
    `${objectivePercent} is too loose for burn-rate alerting: the fast-burn page needs an error ratio above ` +
    `${FAST_BURN_FACTOR} x the ${formatDecimal(shift(budget, -2))}% budget = ${formatDecimal(shift(page, -2))}%, ` +
    'which can never happen, so the page could never fire; use an objective above 93.06'
  );
}

/** Parses slos.yaml text; throws SloDefinitionError listing every problem. */
export function parseSloDefinitions(text: string, source = 'slos.yaml'): SloDefinition[] {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (error) {
    throw new SloDefinitionError(source, [`not valid YAML: ${(error as Error).message}`]);
  }
  const result = slosFileSchema.safeParse(raw);
  if (!result.success) {
    throw new SloDefinitionError(source, result.error.issues.map(describeIssue));
  }
  const definitions: SloDefinition[] = [];
  for (const [service, slos] of Object.entries(result.data.services)) {
    for (const [sloName, slo] of Object.entries(slos)) {
      const objectivePercent = decimalFromNumber(slo.objective);
      const budget = budgetOf(objectivePercent);
      definitions.push({
        service,
        name: sloName,
        description: slo.description.trim(),
        objectivePercent: formatDecimal(objectivePercent),
        objective: formatDecimal(shift(objectivePercent, 2)),
        errorBudget: formatDecimal(budget),
        period: slo.period,
        periodDays: parseDurationMs(slo.period) / 86_400_000,
        minEvents: slo.minEvents,
        sli: toSli(slo.sli),
      });
    }
  }
  return definitions;
}

/** Reads and validates <stack-config>/slos.yaml, from the same directory as toilless.yaml. */
export function loadSloDefinitions(dir: string = stackConfigDir()): SloDefinition[] {
  let text: string;
  try {
    text = readStackConfigFile(dir, 'slos.yaml');
  } catch (error) {
    throw new SloDefinitionError('slos.yaml', [(error as Error).message]);
  }
  return parseSloDefinitions(text);
}

/** The error budget as a number, for arithmetic in reports and tests. */
export function errorBudgetRatio(slo: SloDefinition): number {
  return toNumber(parseDecimal(slo.errorBudget));
}

type ParsedSli = z.output<typeof sloSchema>['sli'];

function toSli(sli: ParsedSli): SliDefinition {
  switch (sli.type) {
    case 'availability':
      return { type: 'availability', metric: sli.metric, selector: sli.selector, bad: sli.badSelector };
    case 'latency':
      return { type: 'latency', metric: sli.metric, selector: sli.selector, threshold: sli.threshold };
    case 'raw':
      return { type: 'raw', errorQuery: sli.errorQuery.trim(), totalQuery: sli.totalQuery.trim() };
  }
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String);
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    message = `unknown field ${issue.keys.map((key) => JSON.stringify(key)).join(', ')}: check the spelling`;
  } else if (issue.code === 'invalid_key') {
    message = `${JSON.stringify(path.pop())}: ${issue.issues.map((inner) => inner.message).join('; ')}`;
  }
  if (path[0] === 'services' && path.length >= 3) {
    const field = path.slice(3).join('.');
    return `${path[1]}/${path[2]}: ${field === '' ? '' : `${field}: `}${message}`;
  }
  if (path[0] === 'services' && path.length === 2) return `${path[1]}: ${message}`;
  return `${path.length > 0 ? path.join('.') : '(top level)'}: ${message}`;
}
