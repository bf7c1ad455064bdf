/**
 * Shortened copies of the shipped Prometheus and Alertmanager configuration for the local game day:
 * every rule window, `for`, offset and routing timer multiplied by one factor, so that alerts whose
 * shipped windows take an hour fire in minutes. The shipped files are read, never written.
 */
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Document, isMap, isScalar, isSeq, parseDocument, type Scalar, type YAMLMap } from 'yaml';
import { formatDuration, parseDurationMs } from '../../functions/shared/duration.js';
import { ConfigurationError } from '../../functions/shared/errors.js';
import type { TimeScale } from './environment.js';

/** How durations are shortened, and the floors that keep the shortened rules meaningful. */
export interface DurationScaling {
  /** Multiplier of every duration, 0 < factor <= 1 (1/30: five minutes become ten seconds). */
  readonly factor: number;
  /** The local scrape interval, in ms: a range selector keeps at least four scrapes. */
  readonly scrapeIntervalMs: number;
  /** The local rule evaluation interval, in ms: the floor of `for` and of subquery steps. */
  readonly evaluationIntervalMs: number;
}

/** Scrapes a shortened range still spans at least: rate() needs two samples, the rest is margin for a missed one. */
export const MIN_SCRAPES_PER_RANGE = 4;

/** The shortest local scrape and evaluation interval: Prometheus's own cost grows as it shrinks. */
export const MIN_LOCAL_INTERVAL_MS = 1_000;

/** The shipped global scrape and evaluation interval, when prometheus.yml does not set one. */
const PROMETHEUS_DEFAULT_INTERVAL_MS = 60_000;

/** Parses a factor written as `1/30` or `0.05`. */
export function parseTimeScaleFactor(text: string): number {
  const fraction = /^\s*1\s*\/\s*(\d+(?:\.\d+)?)\s*$/.exec(text);
  const factor = fraction ? 1 / Number(fraction[1]) : Number(text);
  if (!Number.isFinite(factor) || factor <= 0 || factor > 1) {
    throw new ConfigurationError(
      `time scale ${JSON.stringify(text)} is not a factor between 0 and 1: write it as 1/30 or 0.05`,
    );
  }
  return factor;
}

/** The factor as people read it: 1/30 rather than 0.0333. */
export function describeFactor(factor: number): string {
  const inverse = 1 / factor;
  return Math.abs(inverse - Math.round(inverse)) < 1e-9 ? `1/${Math.round(inverse)}` : String(factor);
}

/** Scrape and evaluation intervals of the local Prometheus: the shipped ones shortened, at least 1 s. */
export function localIntervals(
  factor: number,
  shipped: { readonly scrapeIntervalMs: number; readonly evaluationIntervalMs: number },
): DurationScaling {
  const shorten = (ms: number) => Math.max(MIN_LOCAL_INTERVAL_MS, roundToSeconds(ms * factor));
  return {
    factor,
    scrapeIntervalMs: shorten(shipped.scrapeIntervalMs),
    evaluationIntervalMs: shorten(shipped.evaluationIntervalMs),
  };
}

/** What a duration is in PromQL or a rule: each kind has its own floor. */
export type DurationKind = 'range' | 'subquery-step' | 'offset' | 'hold';

/**
 * A duration multiplied by the factor, rounded to whole seconds, and kept at its floor: a range at
 * MIN_SCRAPES_PER_RANGE scrapes, a subquery step and a hold (`for`, `keep_firing_for`) at one
 * evaluation. Zero stays zero (`for: 0s`, `group_wait: 0s` mean "at once").
 */
export function scaleDurationMs(ms: number, kind: DurationKind, scaling: DurationScaling): number {
  if (ms === 0) return 0;
  const scaled = roundToSeconds(ms * scaling.factor);
  switch (kind) {
    case 'range':
      return Math.max(
        scaled,
        MIN_SCRAPES_PER_RANGE * Math.max(scaling.scrapeIntervalMs, scaling.evaluationIntervalMs),
      );
    case 'subquery-step':
    case 'hold':
      return Math.max(scaled, scaling.evaluationIntervalMs);
    case 'offset':
      return Math.max(scaled, 1_000);
  }
}

function roundToSeconds(ms: number): number {
  return Math.max(1_000, Math.round(ms / 1_000) * 1_000);
}

const DURATION_TEXT = '(?:\\d+(?:ms|s|m|h|d|w|y))+';
const RANGE_BODY = new RegExp(`^\\s*(${DURATION_TEXT})\\s*(?::\\s*(${DURATION_TEXT})?\\s*)?$`);
const OFFSET_AFTER_KEYWORD = new RegExp(`^(\\s+)(-?)(${DURATION_TEXT})(?![A-Za-z0-9_:])`);
const IDENTIFIER = /^[A-Za-z_:][A-Za-z0-9_:]*/;
const HOST_PORT = /^[A-Za-z0-9.-]+:\d+$/;

/**
 * Rewrites every duration of a PromQL expression: range selectors `[5m]`, subqueries `[30m:1m]`
 * (range and step) and `offset 1w`. Strings, comments and label matchers are copied untouched, so a
 * `[` inside a regular expression is never taken for a range. Anything in brackets that is not a
 * duration (Grafana's `[$__rate_interval]`, a duration expression) is refused with the reason.
 */
export function scalePromqlDurations(
  expr: string,
  scale: (ms: number, kind: DurationKind) => number,
): string {
  let out = '';
  let i = 0;
  let braceDepth = 0;
  const format = (text: string, kind: DurationKind) => formatDuration(scale(parseDurationMs(text), kind));
  while (i < expr.length) {
    const char = expr[i] as string;
    if (char === '"' || char === "'" || char === '`') {
      const end = endOfString(expr, i);
      out += expr.slice(i, end);
      i = end;
    } else if (char === '#') {
      const newline = expr.indexOf('\n', i);
      const end = newline === -1 ? expr.length : newline;
      out += expr.slice(i, end);
      i = end;
    } else if (char === '{') {
      braceDepth += 1;
      out += char;
      i += 1;
    } else if (char === '}') {
      braceDepth = Math.max(0, braceDepth - 1);
      out += char;
      i += 1;
    } else if (char === '[' && braceDepth === 0) {
      const close = expr.indexOf(']', i);
      if (close === -1) throw new ConfigurationError(`unclosed "[" at offset ${i} of ${quote(expr)}`);
      const body = expr.slice(i + 1, close);
      const match = RANGE_BODY.exec(body);
      if (!match) {
        throw new ConfigurationError(
          `"[${body}]" in ${quote(expr)} is not a range or subquery of plain durations: it cannot be shortened`,
        );
      }
      const [, range, step] = match;
      const subquery = body.includes(':');
      out += `[${format(range as string, 'range')}${subquery ? `:${step === undefined ? '' : format(step, 'subquery-step')}` : ''}]`;
      i = close + 1;
    } else if (IDENTIFIER.test(char)) {
      const word = (IDENTIFIER.exec(expr.slice(i)) as RegExpExecArray)[0];
      out += word;
      i += word.length;
      if (braceDepth === 0 && word.toLowerCase() === 'offset') {
        const offset = OFFSET_AFTER_KEYWORD.exec(expr.slice(i));
        if (offset) {
          const [whole, space, sign, duration] = offset;
          out += `${space}${sign}${format(duration as string, 'offset')}`;
          i += whole.length;
        }
      }
    } else if (/[0-9.]/.test(char)) {
      // A number (or a number with an exponent, e.g. 1e3): copied whole so that its digits never start a word.
      const number = /^(?:0x[0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)/.exec(expr.slice(i));
      const text = number?.[0] || char;
      out += text;
      i += text.length;
    } else {
      out += char;
      i += 1;
    }
  }
  return out;
}

/** The index just after the string literal that starts at `start` (PromQL escapes in "" and ''). */
function endOfString(expr: string, start: number): number {
  const quoteChar = expr[start];
  for (let i = start + 1; i < expr.length; i++) {
    if (expr[i] === '\\' && quoteChar !== '`') {
      i += 1;
    } else if (expr[i] === quoteChar) {
      return i + 1;
    }
  }
  throw new ConfigurationError(`unterminated string at offset ${start} of ${quote(expr)}`);
}

function quote(expr: string): string {
  const oneLine = expr.replace(/\s+/g, ' ').trim();
  return JSON.stringify(oneLine.length > 160 ? `${oneLine.slice(0, 160)}…` : oneLine);
}

/**
 * A Prometheus rule file with every `expr` duration, `for` and `keep_firing_for` shortened. Comments
 * and layout are kept; a header says it is a shortened copy of `shippedName`.
 */
export function scaleRuleFile(text: string, shippedName: string, scaling: DurationScaling): string {
  const document = parseDocument(text);
  if (document.errors.length > 0) {
    throw new ConfigurationError(`${shippedName} is not valid YAML: ${document.errors[0]?.message}`);
  }
  const groups = document.get('groups');
  if (!isSeq(groups)) throw new ConfigurationError(`${shippedName} has no "groups" list`);
  for (const group of groups.items) {
    if (!isMap(group)) continue;
    const interval = group.get('interval', true);
    if (isScalar(interval)) scaleScalarDuration(interval, 'subquery-step', scaling, shippedName);
    const rules = group.get('rules');
    if (!isSeq(rules)) continue;
    for (const rule of rules.items) {
      if (!isMap(rule)) continue;
      const name = String(rule.get('alert') ?? rule.get('record') ?? '(unnamed)');
      const expr = rule.get('expr', true);
      if (isScalar(expr) && typeof expr.value === 'string') {
        try {
          expr.value = scalePromqlDurations(expr.value, (ms, kind) => scaleDurationMs(ms, kind, scaling));
        } catch (error) {
          throw new ConfigurationError(
            `${shippedName}, rule ${name}: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
      }
      for (const key of ['for', 'keep_firing_for']) {
        const hold = rule.get(key, true);
        if (isScalar(hold)) scaleScalarDuration(hold, 'hold', scaling, `${shippedName}, rule ${name}`);
      }
    }
  }
  document.commentBefore = [
    ` Shortened copy of the shipped ${shippedName} for the local game day: durations x ${describeFactor(scaling.factor)}.`,
    ' Generated at each start; edit the shipped file instead.',
    document.commentBefore ?? '',
  ]
    .filter((line) => line !== '')
    .join('\n');
  return document.toString({ lineWidth: 0 });
}

function scaleScalarDuration(
  node: Scalar,
  kind: DurationKind,
  scaling: DurationScaling,
  where: string,
): void {
  let ms: number;
  try {
    ms = parseDurationMs(String(node.value));
  } catch (error) {
    throw new ConfigurationError(`${where}: ${error instanceof Error ? error.message : String(error)}`);
  }
  node.value = formatDuration(scaleDurationMs(ms, kind, scaling));
}

/** The shipped global scrape and evaluation intervals of prometheus.yml (Prometheus's default 1m when unset). */
export function shippedIntervals(prometheusYml: string): {
  readonly scrapeIntervalMs: number;
  readonly evaluationIntervalMs: number;
} {
  const global = (parseDocument(prometheusYml).toJS() as { global?: Record<string, unknown> } | null)?.global;
  const read = (key: string) =>
    typeof global?.[key] === 'string'
      ? parseDurationMs(global[key] as string)
      : PROMETHEUS_DEFAULT_INTERVAL_MS;
  return { scrapeIntervalMs: read('scrape_interval'), evaluationIntervalMs: read('evaluation_interval') };
}

/** The local address of each stack host:port of the shipped configs, e.g. `sample-app:8000` -> `127.0.0.1:41234`. */
export type LocalAddresses = Readonly<Record<string, string>>;

interface ScrapeJob {
  job_name: string;
  static_configs?: { targets?: string[]; labels?: Record<string, string> }[];
  relabel_configs?: { replacement?: string; [key: string]: unknown }[];
  [key: string]: unknown;
}

/** What the local prometheus.yml became: its text and the shipped jobs and targets left out. */
export interface LocalPrometheusConfig {
  readonly text: string;
  /** Scrape jobs of the shipped file with none of their hosts running locally (loki, grafana...). */
  readonly jobsLeftOut: readonly string[];
  /** Targets of kept jobs whose host does not run locally (a probe of Grafana). */
  readonly targetsLeftOut: readonly string[];
}

/**
 * The shipped prometheus.yml for one machine: the shortened intervals, alerts to the local
 * Alertmanager, every scrape target and relabel replacement that names a stack host (`sample-app:8000`,
 * `http://sample-app:8000/healthz`) rewritten to its local address, and the targets whose host does not
 * run here left out (a job left with none is dropped), so that nothing is scraped but the parts started.
 */
export function localPrometheusConfig(
  shippedText: string,
  addresses: LocalAddresses,
  scaling: DurationScaling,
): LocalPrometheusConfig {
  const config = parseDocument(shippedText).toJS() as {
    global?: Record<string, unknown>;
    alerting?: { alertmanagers?: { static_configs?: { targets?: string[] }[] }[] };
    scrape_configs?: ScrapeJob[];
    [key: string]: unknown;
  };
  const local = (target: string): string | undefined => {
    if (addresses[target] !== undefined) return addresses[target];
    if (/^https?:\/\//.test(target)) {
      const url = new URL(target);
      const address = addresses[url.host];
      if (address === undefined) return undefined;
      url.host = address;
      return url.toString();
    }
    return undefined;
  };

  const alertmanagers = (config.alerting?.alertmanagers ?? []).flatMap((alertmanager) =>
    (alertmanager.static_configs ?? []).flatMap((s) => s.targets ?? []),
  );
  const localAlertmanagers = alertmanagers.flatMap((target) => local(target) ?? []);
  if (localAlertmanagers.length === 0) {
    throw new ConfigurationError(
      `prometheus.yml sends alerts to ${alertmanagers.join(', ') || 'no Alertmanager'}: give a local address for one of them`,
    );
  }

  const jobsLeftOut: string[] = [];
  const targetsLeftOut: string[] = [];
  const scrapeConfigs = (config.scrape_configs ?? []).flatMap((job) => {
    const leftOut: string[] = [];
    const staticConfigs = (job.static_configs ?? []).flatMap((group) => {
      const targets = (group.targets ?? []).flatMap((target) => {
        const address = local(target);
        if (address === undefined) leftOut.push(`${job.job_name}: ${target}`);
        return address === undefined ? [] : [address];
      });
      return targets.length === 0 ? [] : [{ ...group, targets }];
    });
    if (staticConfigs.length === 0) {
      jobsLeftOut.push(job.job_name);
      return [];
    }
    targetsLeftOut.push(...leftOut);
    // A probe job sends every target to the exporter named in its relabelling: that host must run here.
    const relabel = job.relabel_configs?.map((rule) => {
      if (typeof rule.replacement !== 'string' || !HOST_PORT.test(rule.replacement)) return rule;
      const replacement = local(rule.replacement);
      if (replacement === undefined) {
        throw new ConfigurationError(
          `scrape job ${job.job_name} sends its targets to ${rule.replacement}: give a local address for it`,
        );
      }
      return { ...rule, replacement };
    });
    return [
      {
        ...job,
        static_configs: staticConfigs,
        ...(relabel === undefined ? {} : { relabel_configs: relabel }),
      },
    ];
  });

  const localConfig = new Document({
    ...config,
    global: {
      ...config.global,
      scrape_interval: formatDuration(scaling.scrapeIntervalMs),
      evaluation_interval: formatDuration(scaling.evaluationIntervalMs),
    },
    alerting: { alertmanagers: [{ static_configs: [{ targets: localAlertmanagers }] }] },
    scrape_configs: scrapeConfigs,
  });
  localConfig.commentBefore = ` Local copy of the shipped prometheus.yml for the game day: intervals x ${describeFactor(scaling.factor)}, local targets.`;
  return { text: localConfig.toString({ lineWidth: 0 }), jobsLeftOut, targetsLeftOut };
}

/** Where the local Alertmanager delivers, in place of the deployed stack's receivers. */
export interface LocalReceivers {
  /** toilless serve's Alertmanager webhook, e.g. http://127.0.0.1:41234/webhooks/alertmanager. */
  readonly toillessWebhookUrl: string;
  /** The file holding toilless's bearer token (ALERTMANAGER_WEBHOOK_TOKEN), for credentials_file. */
  readonly toillessTokenFile: string;
  /** The local Slack sink's base URL: Slack receiver R posts to `${url}/slack/R`, webhook receiver R to `${url}/webhook/R`. */
  readonly sinkUrl: string;
}

/** The receiver that is toilless: its webhook carries the bearer token toilless checks. */
const TOILLESS_RECEIVER = 'toilless';

/** Route timers of alertmanager.yml scaled with the factor. */
const ROUTE_TIMERS = ['group_interval', 'repeat_interval'] as const;

/**
 * The shipped alertmanager.yml for one machine: the routing tree's group_interval and repeat_interval
 * (and resolve_timeout) shortened, group_wait 0s (see below), the toilless receiver pointed at the local toilless
 * with its token file, every Slack receiver at the local sink, and every other webhook receiver (the
 * dead man's switch) at the sink too, so that nothing leaves this machine. Routes, matchers, grouping,
 * inhibitions and templates are unchanged.
 */
export function localAlertmanagerConfig(
  shippedText: string,
  receivers: LocalReceivers,
  factor: number,
): string {
  const document = parseDocument(shippedText);
  if (document.errors.length > 0) {
    throw new ConfigurationError(`alertmanager.yml is not valid YAML: ${document.errors[0]?.message}`);
  }
  // Alertmanager refuses a group_interval or repeat_interval of 0; 1 s is the shortest that means anything.
  const scale = (node: unknown) => {
    if (!isScalar(node)) return;
    const ms = parseDurationMs(String(node.value));
    node.value = formatDuration(ms === 0 ? 0 : roundToSeconds(ms * factor));
  };
  const global = document.get('global');
  if (isMap(global)) scale(global.get('resolve_timeout', true));
  const visitRoute = (route: unknown) => {
    if (!isMap(route)) return;
    for (const key of ROUTE_TIMERS) scale(route.get(key, true));
    // On a step load HighCPUCritical follows HighCPUWarning by a tenth of the rate window (30 s shipped),
    // as long as the shipped group_wait, and the critical inhibits the warning: scaled to one evaluation,
    // which of the two reaches Alertmanager first is a coin toss, so a new group is notified at once.
    if (route.has('group_wait')) route.set('group_wait', '0s');
    const children = route.get('routes');
    if (isSeq(children)) for (const child of children.items) visitRoute(child);
  };
  visitRoute(document.get('route'));

  const list = document.get('receivers');
  if (!isSeq(list)) throw new ConfigurationError('alertmanager.yml has no "receivers" list');
  for (const receiver of list.items) {
    if (!isMap(receiver)) continue;
    const name = String(receiver.get('name'));
    const base = receivers.sinkUrl.replace(/\/+$/, '');
    for (const key of receiver.items.map((pair) => String(isScalar(pair.key) ? pair.key.value : pair.key))) {
      if (key === 'name') continue;
      const configs = receiver.get(key);
      if (!isSeq(configs)) continue;
      for (const config of configs.items as YAMLMap[]) {
        if (key === 'webhook_configs' && name === TOILLESS_RECEIVER) {
          config.set('url', receivers.toillessWebhookUrl);
          config.setIn(
            ['http_config', 'authorization'],
            document.createNode({ type: 'Bearer', credentials_file: receivers.toillessTokenFile }),
          );
        } else if (key === 'webhook_configs') {
          config.set('url', `${base}/webhook/${encodeURIComponent(name)}`);
          config.delete('http_config');
        } else if (key === 'slack_configs') {
          config.delete('api_url_file');
          config.set('api_url', `${base}/slack/${encodeURIComponent(name)}`);
          config.delete('http_config');
        } else {
          throw new ConfigurationError(
            `receiver ${name} uses ${key}, which the local game day cannot point at this machine: use Slack or webhook receivers`,
          );
        }
      }
    }
  }
  document.commentBefore = ` Local copy of the shipped alertmanager.yml for the game day: timers x ${describeFactor(factor)}, receivers on this machine.`;
  return document.toString({ lineWidth: 0 });
}

/** The shipped rule files (stack-config/prometheus/rules/*.yml), by file name, in name order. */
export async function readShippedRuleFiles(stackConfigDir: string): Promise<ReadonlyMap<string, string>> {
  const dir = join(stackConfigDir, 'prometheus', 'rules');
  const names = (await readdir(dir)).filter((name) => name.endsWith('.yml')).sort();
  return new Map(
    await Promise.all(names.map(async (name) => [name, await readFile(join(dir, name), 'utf8')] as const)),
  );
}

/** The TimeScale the game day reports: the factor and one sentence on what was shortened. */
export function describeTimeScale(scaling: DurationScaling): TimeScale {
  const example = formatDuration(scaleDurationMs(300_000, 'range', scaling));
  return {
    factor: scaling.factor,
    description:
      `Rule windows, \`for\`, offsets and Alertmanager's group and repeat intervals were multiplied by ${describeFactor(scaling.factor)} ` +
      `(a 5m window became ${example}; ranges at least ${formatDuration(MIN_SCRAPES_PER_RANGE * Math.max(scaling.scrapeIntervalMs, scaling.evaluationIntervalMs))}), ` +
      `with scrapes every ${formatDuration(scaling.scrapeIntervalMs)} and rules evaluated every ` +
      `${formatDuration(scaling.evaluationIntervalMs)}, and group_wait was 0s; the shipped rules are unchanged.`,
  };
}

/** The local Prometheus's files, written by {@link writeLocalPrometheusFiles}. */
export interface LocalPrometheusFiles extends LocalPrometheusConfig {
  /** prometheus.yml; its `rule_files` (rules/*.yml) resolve against its directory. */
  readonly configFile: string;
  /** The shortened rule files, by file name. */
  readonly ruleFiles: readonly string[];
}

/**
 * Writes `<dir>/prometheus.yml` and `<dir>/rules/*.yml`: the shipped prometheus.yml and rule files of
 * `stackConfigDir`, shortened and pointed at this machine. Nothing under `stackConfigDir` is written.
 */
export async function writeLocalPrometheusFiles(
  stackConfigDir: string,
  dir: string,
  addresses: LocalAddresses,
  scaling: DurationScaling,
): Promise<LocalPrometheusFiles> {
  const shipped = await readFile(join(stackConfigDir, 'prometheus', 'prometheus.yml'), 'utf8');
  const config = localPrometheusConfig(shipped, addresses, scaling);
  await mkdir(join(dir, 'rules'), { recursive: true });
  const rules = await readShippedRuleFiles(stackConfigDir);
  for (const [name, text] of rules)
    await writeFile(join(dir, 'rules', name), scaleRuleFile(text, name, scaling));
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, config.text);
  return { ...config, configFile, ruleFiles: [...rules.keys()] };
}

/**
 * Writes `<dir>/alertmanager.yml` and `<dir>/templates/`: the shipped alertmanager.yml of
 * `stackConfigDir` with its timers shortened and its receivers on this machine, and its templates
 * unchanged. Returns the config file's path.
 */
export async function writeLocalAlertmanagerFiles(
  stackConfigDir: string,
  dir: string,
  receivers: LocalReceivers,
  factor: number,
): Promise<string> {
  const shippedDir = join(stackConfigDir, 'alertmanager');
  const shipped = await readFile(join(shippedDir, 'alertmanager.yml'), 'utf8');
  await mkdir(dir, { recursive: true });
  await cp(join(shippedDir, 'templates'), join(dir, 'templates'), { recursive: true });
  const configFile = join(dir, 'alertmanager.yml');
  await writeFile(configFile, localAlertmanagerConfig(shipped, receivers, factor));
  return configFile;
}
