/**
 * How long to wait for each alert: read from the shipped rules (their `for` and the windows of their
 * expressions), Prometheus's evaluation and scrape intervals and Alertmanager's grouping times, then
 * scaled by the time-scale factor of a shortened local run. Nothing here is hard-coded per alert.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import * as z from 'zod';
import { parseDurationMs } from '../../functions/shared/duration.js';
import { ConfigurationError } from '../../functions/shared/errors.js';

/** The timings of one alerting rule, as shipped. */
export interface AlertRuleTiming {
  readonly alert: string;
  /** The rule's `for` (0 when it has none). */
  readonly forMs: number;
  /** The longest window its expression reads (range selectors and `..._rate<window>` recorded series). */
  readonly windowMs: number;
}

export interface PlatformTimings {
  /** Every alerting rule by name; a name used by several rules (FastBurnRate) keeps the longest timings. */
  readonly alerts: ReadonlyMap<string, AlertRuleTiming>;
  readonly evaluationIntervalMs: number;
  readonly scrapeIntervalMs: number;
  /** The longest group_wait and group_interval of the routing tree. */
  readonly groupWaitMs: number;
  readonly groupIntervalMs: number;
}

/** The longest window a burn-rate alert needs before it can fire: a 1h window, not the 3d one. */
const MAX_WAITED_WINDOW_MS = 3_600_000;
const DURATION_IN_SELECTOR = /\[(\d+(?:ms|s|m|h|d|w|y)(?:\d+(?:ms|s|m|h|d|w|y))*)(?::[^\]]*)?\]/g;
const DURATION_IN_RECORDED_NAME = /_rate(\d+(?:ms|s|m|h|d|w|y))\b/g;

const ruleFileSchema = z.object({
  groups: z
    .array(
      z.object({
        rules: z
          .array(
            z.object({
              alert: z.string().min(1).max(200).optional(),
              expr: z.union([z.string(), z.number()]).transform(String),
              for: z.string().max(40).optional(),
            }),
          )
          .default([]),
      }),
    )
    .default([]),
});

const prometheusConfigSchema = z.object({
  global: z
    .object({ scrape_interval: z.string().optional(), evaluation_interval: z.string().optional() })
    .optional(),
});

interface RouteTimes {
  group_wait?: string | undefined;
  group_interval?: string | undefined;
  routes?: RouteTimes[] | undefined;
}
const routeSchema: z.ZodType<RouteTimes> = z.lazy(() =>
  z.object({
    group_wait: z.string().optional(),
    group_interval: z.string().optional(),
    routes: z.array(routeSchema).optional(),
  }),
);
const alertmanagerConfigSchema = z.object({ route: routeSchema.optional() });

/** The alert rules' timings of one rule file's text. */
export function alertTimingsOf(text: string, source: string): AlertRuleTiming[] {
  const parsed = ruleFileSchema.safeParse(parse(text));
  if (!parsed.success) {
    throw new ConfigurationError(
      `${source} is not a Prometheus rule file: ${parsed.error.issues[0]?.message}`,
    );
  }
  const timings: AlertRuleTiming[] = [];
  for (const group of parsed.data.groups) {
    for (const rule of group.rules) {
      if (rule.alert === undefined) continue;
      timings.push({
        alert: rule.alert,
        forMs: rule.for === undefined ? 0 : duration(rule.for, `${source}: ${rule.alert} for`),
        windowMs: longestWindowMs(rule.expr),
      });
    }
  }
  return timings;
}

/** The longest window an expression reads, at most one hour (see MAX_WAITED_WINDOW_MS). */
export function longestWindowMs(expr: string): number {
  let longest = 0;
  for (const pattern of [DURATION_IN_SELECTOR, DURATION_IN_RECORDED_NAME]) {
    for (const match of expr.matchAll(pattern)) {
      longest = Math.max(longest, parseDurationMs(match[1] as string));
    }
  }
  return Math.min(longest, MAX_WAITED_WINDOW_MS);
}

/** Reads stack-config/prometheus/rules/*.yml, prometheus.yml and alertmanager.yml. */
export function loadPlatformTimings(stackConfigDir: string): PlatformTimings {
  const rulesDir = join(stackConfigDir, 'prometheus', 'rules');
  const alerts = new Map<string, AlertRuleTiming>();
  let files: string[];
  try {
    files = readdirSync(rulesDir).filter((file) => /\.ya?ml$/.test(file));
  } catch (error) {
    throw new ConfigurationError(
      `cannot read the rules in ${rulesDir}: ${(error as Error).message}; run from the repository or set TOILLESS_STACK_CONFIG`,
    );
  }
  for (const file of files.sort()) {
    for (const timing of alertTimingsOf(readFileSync(join(rulesDir, file), 'utf8'), file)) {
      const known = alerts.get(timing.alert);
      alerts.set(timing.alert, {
        alert: timing.alert,
        forMs: Math.max(timing.forMs, known?.forMs ?? 0),
        windowMs: Math.max(timing.windowMs, known?.windowMs ?? 0),
      });
    }
  }
  const prometheus = prometheusConfigSchema.parse(
    parse(readFileSync(join(stackConfigDir, 'prometheus', 'prometheus.yml'), 'utf8')) ?? {},
  );
  const alertmanager = alertmanagerConfigSchema.parse(
    parse(readFileSync(join(stackConfigDir, 'alertmanager', 'alertmanager.yml'), 'utf8')) ?? {},
  );
  const routes = flattenRoutes(alertmanager.route);
  return {
    alerts,
    // Prometheus's own defaults when the file sets none.
    evaluationIntervalMs: duration(prometheus.global?.evaluation_interval ?? '1m', 'evaluation_interval'),
    scrapeIntervalMs: duration(prometheus.global?.scrape_interval ?? '1m', 'scrape_interval'),
    groupWaitMs: Math.max(
      0,
      ...routes.map((route) => (route.group_wait ? duration(route.group_wait, 'group_wait') : 30_000)),
    ),
    groupIntervalMs: Math.max(
      0,
      ...routes.map((route) =>
        route.group_interval ? duration(route.group_interval, 'group_interval') : 300_000,
      ),
    ),
  };
}

function flattenRoutes(route: RouteTimes | undefined): RouteTimes[] {
  if (route === undefined) return [];
  return [route, ...(route.routes ?? []).flatMap(flattenRoutes)];
}

function duration(text: string, what: string): number {
  try {
    return parseDurationMs(text);
  } catch (error) {
    throw new ConfigurationError(`${what}: ${(error as Error).message}`);
  }
}

/** What scales the deadlines: the local run's time-scale factor, and the operator's --timeout-scale. */
export interface DeadlineScale {
  /** environment.timeScale?.factor: the rules' and routing's durations were multiplied by it. @default 1 */
  readonly factor: number;
  /** Multiplies every deadline (a slow machine). @default 1 */
  readonly timeoutScale: number;
}

/** Fixed slack for HTTP round trips and the workers' own processing, never scaled down. */
export const DEADLINE_MARGIN_MS = 30_000;

/**
 * How long after the fault starts an alert may take to fire: its window fills, then `for` passes,
 * plus two evaluations and two scrapes (the first sample, the one that crosses), all scaled, plus the
 * margin; then multiplied by timeoutScale.
 */
export function firingDeadlineMs(timings: PlatformTimings, alert: string, scale: DeadlineScale): number {
  const rule = timings.alerts.get(alert);
  if (rule === undefined) {
    throw new ConfigurationError(
      `no alerting rule named ${alert} in stack-config/prometheus/rules: the game day expects the shipped rules`,
    );
  }
  const platform =
    rule.windowMs + rule.forMs + 2 * timings.evaluationIntervalMs + 2 * timings.scrapeIntervalMs;
  return Math.ceil((platform * scale.factor + DEADLINE_MARGIN_MS) * scale.timeoutScale);
}

/**
 * How long after an alert fires toilless may take to hold the incident: Alertmanager's group_wait,
 * and a group_interval when the alert joins a group already notified, plus the margin.
 */
export function notificationDeadlineMs(timings: PlatformTimings, scale: DeadlineScale): number {
  const platform = timings.groupWaitMs + timings.groupIntervalMs + 2 * timings.evaluationIntervalMs;
  return Math.ceil((platform * scale.factor + DEADLINE_MARGIN_MS) * scale.timeoutScale);
}

/** How long after the fault stops an alert may take to resolve and the resolution to reach toilless. */
export function resolutionDeadlineMs(timings: PlatformTimings, alert: string, scale: DeadlineScale): number {
  const rule = timings.alerts.get(alert);
  const windowMs = rule?.windowMs ?? 0;
  const platform =
    windowMs + timings.groupIntervalMs + 2 * timings.evaluationIntervalMs + 2 * timings.scrapeIntervalMs;
  return Math.ceil((platform * scale.factor + DEADLINE_MARGIN_MS) * scale.timeoutScale);
}

/** A platform duration (a rule window, say) as it runs here: times the factor and timeoutScale. */
export function scaledMs(ms: number, scale: DeadlineScale): number {
  return Math.ceil(ms * scale.factor * scale.timeoutScale);
}
