import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  type DurationScaling,
  describeTimeScale,
  localIntervals,
  parseTimeScaleFactor,
  readShippedRuleFiles,
  scaleDurationMs,
  scalePromqlDurations,
  scaleRuleFile,
  shippedIntervals,
  writeLocalAlertmanagerFiles,
  writeLocalPrometheusFiles,
} from '../../../bin/gameday/time-scale.js';
import { formatDuration, parseDurationMs } from '../../../functions/shared/duration.js';
import { requireBinary } from '../../support/binaries.js';

const STACK_CONFIG = join(import.meta.dirname, '..', '..', '..', 'stack-config');
const THIRTIETH: DurationScaling = { factor: 1 / 30, scrapeIntervalMs: 1_000, evaluationIntervalMs: 1_000 };
const scale = (expr: string, scaling: DurationScaling = THIRTIETH) =>
  scalePromqlDurations(expr, (ms, kind) => scaleDurationMs(ms, kind, scaling));

/** The shipped stack host:port names, each on a made-up local port. */
const LOCAL_ADDRESSES = {
  'localhost:9090': '127.0.0.1:19090',
  'alertmanager:9093': '127.0.0.1:19093',
  'sample-app:8000': '127.0.0.1:18000',
  'node-exporter:9100': '127.0.0.1:19100',
  'blackbox-exporter:9115': '127.0.0.1:19115',
  'toilless:8080': '127.0.0.1:18080',
};

interface Rule {
  readonly alert?: string;
  readonly record?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
}

function rulesOf(text: string): Rule[] {
  const file = parseYaml(text) as { groups: { rules: Rule[] }[] };
  return file.groups.flatMap((group) => group.rules);
}

function ruleNamed(text: string, name: string, slo?: string): Rule {
  const rule = rulesOf(text).find(
    (candidate) =>
      (candidate.alert ?? candidate.record) === name &&
      (slo === undefined || candidate.labels?.['slo'] === slo),
  );
  if (!rule) throw new Error(`no rule ${name}`);
  return rule;
}

function run(command: string, args: readonly string[]): Promise<{ exitCode: number; output: string }> {
  return new Promise((resolveRun) => {
    execFile(command, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolveRun({ exitCode: error === null ? 0 : Number(error.code ?? 1), output: `${stdout}${stderr}` });
    });
  });
}

/** Every file under a directory with its SHA-256, by relative path. */
function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (current: string) => {
    for (const name of readdirSync(current)) {
      const path = join(current, name);
      if (statSync(path).isDirectory()) walk(path);
      else out[relative(dir, path)] = createHash('sha256').update(readFileSync(path)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

/** The durations in brackets and after `offset`, in order, found with a plain regular expression. */
function durationsIn(expr: string): string[] {
  return [...expr.matchAll(/\[(\w+)(?::(\w*))?\]|offset\s+(\w+)/g)].flatMap((match) =>
    [match[1], match[2], match[3]].filter((text): text is string => text !== undefined && text !== ''),
  );
}

describe('Time scale: PromQL durations', () => {
  it('shortens range selectors, subquery ranges and steps, and offsets', () => {
    // Act and assess
    expect(scale('rate(x[5m])')).toBe('rate(x[10s])');
    expect(scale('max_over_time(rate(x[5m])[30m:1m])')).toBe('max_over_time(rate(x[10s])[1m:2s])');
    expect(scale('max_over_time(rate(x[5m])[1h:])')).toBe('max_over_time(rate(x[10s])[2m:])');
    expect(scale('rate(x[10m] offset 1w)')).toBe('rate(x[20s] offset 5h36m)');
    expect(scale('rate(x[10m] OFFSET -1h)')).toBe('rate(x[20s] OFFSET -2m)');
    expect(scale('rate(x[1h30m])')).toBe('rate(x[3m])');
  });

  it('keeps a range at four scrapes and a subquery step at one evaluation', () => {
    // Prepare
    const slowScrapes: DurationScaling = {
      factor: 1 / 30,
      scrapeIntervalMs: 2_000,
      evaluationIntervalMs: 1_000,
    };

    // Act and assess
    expect(scale('rate(x[1m])')).toBe('rate(x[4s])');
    expect(scale('rate(x[5m])', slowScrapes)).toBe('rate(x[10s])');
    expect(scale('rate(x[2m])', slowScrapes)).toBe('rate(x[8s])');
    expect(scale('max_over_time(x[1h:10s])')).toBe('max_over_time(x[2m:1s])');
  });

  it('leaves strings, label matchers, comments, numbers and names that contain "offset" as they are', () => {
    // Prepare
    const expr = [
      'sum by (offset) (rate(my_offset_total{path=~"/a[0-9]+", offset="[5m]"}[5m]))',
      '# a comment with [5m] and offset 1h',
      '> 14 * 86400 and label_replace(vector(1), "x", `[1h]`, "", "")',
    ].join('\n');

    // Act
    const scaled = scale(expr);

    // Assess
    expect(scaled).toBe(expr.replace('}[5m]', '}[10s]'));
  });

  it('refuses what it cannot shorten, saying what', () => {
    // Act and assess
    expect(() => scale('rate(x[$__rate_interval])')).toThrow(
      /"\[\$__rate_interval\]" .* is not a range or subquery of plain durations/,
    );
    expect(() => scale('rate(x[5m')).toThrow(/unclosed "\["/);
    expect(() => scale('x{a="b}')).toThrow(/unterminated string/);
  });

  it('reads a factor written as a fraction or a decimal and refuses others', () => {
    // Act and assess
    expect(parseTimeScaleFactor('1/30')).toBeCloseTo(1 / 30, 12);
    expect(parseTimeScaleFactor('0.05')).toBe(0.05);
    expect(() => parseTimeScaleFactor('30')).toThrow(/between 0 and 1: write it as 1\/30/);
    expect(() => parseTimeScaleFactor('0')).toThrow(/between 0 and 1/);
  });
});

describe('Time scale: the shipped rule files', () => {
  let shipped: ReadonlyMap<string, string>;
  let scaled: Map<string, string>;
  let dir: string;

  beforeAll(async () => {
    shipped = await readShippedRuleFiles(STACK_CONFIG);
    scaled = new Map([...shipped].map(([name, text]) => [name, scaleRuleFile(text, name, THIRTIETH)]));
    dir = await mkdtemp(join(tmpdir(), 'toilless-time-scale-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('shortens every duration of every shipped rule by the factor, above the floors', () => {
    // Act and assess: the same rules in the same order, every duration one thirtieth (or its floor).
    for (const [name, text] of shipped) {
      const before = rulesOf(text);
      const after = rulesOf(scaled.get(name) ?? '');
      expect(after.map((rule) => rule.alert ?? rule.record)).toEqual(
        before.map((rule) => rule.alert ?? rule.record),
      );
      before.forEach((rule, index) => {
        const shortened = after[index] as Rule;
        const expected = durationsIn(rule.expr).map((text) =>
          formatDuration(Math.max(4_000, Math.round(parseDurationMs(text) / 30_000) * 1_000)),
        );
        expect(durationsIn(shortened.expr), `${name} ${rule.alert ?? rule.record}`).toEqual(expected);
        expect(shortened.expr.replace(/\[\w+(?::\w*)?\]|offset\s+\w+/g, '')).toBe(
          rule.expr.replace(/\[\w+(?::\w*)?\]|offset\s+\w+/g, ''),
        );
        if (rule.for !== undefined) {
          expect(shortened.for).toBe(formatDuration(Math.max(1_000, parseDurationMs(rule.for) / 30)));
        }
      });
    }
  });

  it('gives the alerts of the three scenarios their exact shortened windows', () => {
    // Act
    const latency = ruleNamed(scaled.get('latency.yml') ?? '', 'HighLatencyP95');
    const cpu = ruleNamed(scaled.get('node.yml') ?? '', 'HighCPUCritical');
    const dora = ruleNamed(scaled.get('dora.yml') ?? '', 'HighChangeFailureRate');
    const traffic = ruleNamed(scaled.get('traffic.yml') ?? '', 'TrafficDrop');
    const slo = scaled.get('slo-sample-app.yml') ?? '';

    // Assess
    expect(latency.for).toBe('10s');
    expect(latency.expr).toContain('rate(http_request_duration_seconds_bucket{status_code!~"5.."}[10s])');
    expect(cpu.for).toBe('10s');
    expect(cpu.expr).toContain('rate(node_cpu_seconds_total{mode="idle"}[10s])');
    expect(dora.for).toBe('20s');
    expect(dora.expr).toContain('[48m]) > 0.15');
    expect(traffic.for).toBe('1m');
    expect(traffic.expr).toContain('rate(http_requests_total[20s] offset 5h36m)');
    // The burn-rate windows keep their ratios: 1h:5m = 2m:10s, 6h:30m = 12m:1m, and the 30d period is 1d.
    expect(ruleNamed(slo, 'FastBurnRate', 'latency').for).toBe('4s');
    expect(ruleNamed(slo, 'slo:sli_error:ratio_rate1h', 'latency').expr).toContain('le="0.5"}[2m]');
    expect(ruleNamed(slo, 'slo:sli_error:ratio_rate6h', 'latency').expr).toContain('le="0.5"}[12m]');
    expect(ruleNamed(slo, 'slo:sli_error:ratio_rate30m', 'latency').expr).toContain('le="0.5"}[1m]');
    expect(ruleNamed(slo, 'slo:sli_events:rate5m', 'latency').expr).toContain('le="+Inf"}[10s]');
    expect(ruleNamed(slo, 'slo:sli_error:ratio_period', 'availability').expr).toContain('[1d])');
  });

  it('writes rule files and a prometheus.yml that promtool accepts, scraping only the parts that run here', async () => {
    // Prepare
    const promtool = requireBinary('promtool', 'prometheus');
    const before = fingerprint(STACK_CONFIG);

    // Act
    const files = await writeLocalPrometheusFiles(
      STACK_CONFIG,
      join(dir, 'prometheus'),
      LOCAL_ADDRESSES,
      THIRTIETH,
    );
    const rules = await run(promtool, [
      'check',
      'rules',
      ...files.ruleFiles.map((name) => join(dir, 'prometheus', 'rules', name)),
    ]);
    const config = await run(promtool, ['check', 'config', files.configFile]);

    // Assess
    expect(rules.exitCode, rules.output).toBe(0);
    expect(config.exitCode, config.output).toBe(0);
    expect(files.ruleFiles).toEqual([...shipped.keys()]);
    expect(files.jobsLeftOut).toEqual(['loki', 'tempo', 'grafana', 'otel-collector', 'probe-tcp']);
    expect(files.targetsLeftOut).toEqual(['probe-http: http://grafana:3000/api/health']);
    const written = parseYaml(await readFile(files.configFile, 'utf8')) as {
      global: Record<string, string>;
      alerting: unknown;
      scrape_configs: {
        job_name: string;
        static_configs: { targets: string[] }[];
        relabel_configs?: { replacement?: string }[];
      }[];
    };
    expect(written.global).toMatchObject({ scrape_interval: '1s', evaluation_interval: '1s' });
    expect(written.alerting).toEqual({
      alertmanagers: [{ static_configs: [{ targets: ['127.0.0.1:19093'] }] }],
    });
    const probe = written.scrape_configs.find((job) => job.job_name === 'probe-http');
    expect(probe?.static_configs.flatMap((group) => group.targets)).toEqual([
      'http://127.0.0.1:18000/healthz',
    ]);
    expect(probe?.relabel_configs?.at(-1)?.replacement).toBe('127.0.0.1:19115');
    const targets = written.scrape_configs.flatMap((job) =>
      job.static_configs.flatMap((group) => group.targets),
    );
    expect(targets.every((target) => /^(http:\/\/)?127\.0\.0\.1:/.test(target))).toBe(true);
    expect(fingerprint(STACK_CONFIG)).toEqual(before);
  }, 60_000);

  it('writes an alertmanager.yml that amtool accepts, with shortened timers and every receiver on this machine', async () => {
    // Prepare
    const amtool = requireBinary('amtool', 'prometheus-alertmanager');
    const before = fingerprint(STACK_CONFIG);

    // Act
    const configFile = await writeLocalAlertmanagerFiles(
      STACK_CONFIG,
      join(dir, 'alertmanager'),
      {
        toillessWebhookUrl: 'http://127.0.0.1:18080/webhooks/alertmanager',
        toillessTokenFile: join(dir, 'token'),
        sinkUrl: 'http://127.0.0.1:18888',
      },
      1 / 30,
    );
    const check = await run(amtool, ['check-config', configFile]);

    // Assess
    expect(check.exitCode, check.output).toBe(0);
    const written = parseYaml(await readFile(configFile, 'utf8')) as {
      global: Record<string, string>;
      route: Record<string, unknown> & { routes: Record<string, unknown>[] };
      receivers: {
        name: string;
        webhook_configs?: Record<string, unknown>[];
        slack_configs?: Record<string, unknown>[];
      }[];
    };
    expect(written.global['resolve_timeout']).toBe('10s');
    expect(written.route).toMatchObject({ group_wait: '0s', group_interval: '10s', repeat_interval: '8m' });
    expect(written.route.routes[0]).toMatchObject({
      receiver: 'watchdog',
      group_wait: '0s',
      group_interval: '2s',
    });
    const receiver = (name: string) => written.receivers.find((candidate) => candidate.name === name);
    expect(receiver('toilless')?.webhook_configs?.[0]).toEqual({
      url: 'http://127.0.0.1:18080/webhooks/alertmanager',
      send_resolved: true,
      http_config: { authorization: { type: 'Bearer', credentials_file: join(dir, 'token') } },
    });
    expect(receiver('slack-app')?.slack_configs?.[0]).toMatchObject({
      api_url: 'http://127.0.0.1:18888/slack/slack-app',
      channel: '#sample-app',
    });
    expect(receiver('slack-app')?.slack_configs?.[0]).not.toHaveProperty('api_url_file');
    expect(receiver('watchdog')?.webhook_configs?.[0]?.['url']).toBe(
      'http://127.0.0.1:18888/webhook/watchdog',
    );
    expect(readdirSync(join(dir, 'alertmanager', 'templates')).sort()).toEqual(
      readdirSync(join(STACK_CONFIG, 'alertmanager', 'templates')).sort(),
    );
    expect(fingerprint(STACK_CONFIG)).toEqual(before);
  }, 60_000);

  it('derives the local intervals from the shipped ones and says what was shortened', () => {
    // Prepare
    const shippedYml = readFileSync(join(STACK_CONFIG, 'prometheus', 'prometheus.yml'), 'utf8');

    // Act
    const fifteenth = localIntervals(1 / 15, shippedIntervals(shippedYml));
    const thirtieth = localIntervals(1 / 30, shippedIntervals(shippedYml));

    // Assess: 15 s / 15 = 1 s; 15 s / 30 rounds to 1 s, the shortest interval kept.
    expect(fifteenth).toEqual({ factor: 1 / 15, scrapeIntervalMs: 1_000, evaluationIntervalMs: 1_000 });
    expect(thirtieth).toEqual(THIRTIETH);
    expect(describeTimeScale(thirtieth).description).toBe(
      "Rule windows, `for`, offsets and Alertmanager's group and repeat intervals were multiplied by 1/30 " +
        '(a 5m window became 10s; ranges at least 4s), with scrapes every 1s and rules evaluated every 1s, ' +
        'and group_wait was 0s; the shipped rules are unchanged.',
    );
  });
});
