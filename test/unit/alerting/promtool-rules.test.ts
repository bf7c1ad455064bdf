import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { requireBinary } from '../../support/binaries.js';

const prometheusDir = join(import.meta.dirname, '..', '..', '..', 'stack-config', 'prometheus');
const rulesDir = join(prometheusDir, 'rules');
const testsDir = join(prometheusDir, 'tests');

const ruleFiles = readdirSync(rulesDir)
  .filter((name) => name.endsWith('.yml'))
  .sort();
const testFiles = readdirSync(testsDir)
  .filter((name) => name.endsWith('.test.yml'))
  .sort();

/** Simulated weeks and 30-day SLO periods take promtool up to a minute each. */
const PROMTOOL_TIMEOUT_MS = 180_000;

interface ToolRun {
  readonly exitCode: number;
  readonly output: string;
}

/** Runs promtool and returns its exit code and combined output, never throwing on a failed check. */
function promtool(args: readonly string[]): Promise<ToolRun> {
  const binary = requireBinary('promtool', 'prometheus');
  return new Promise((resolveRun, reject) => {
    execFile(binary, args, { cwd: prometheusDir, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const exitCode = error === null ? 0 : error.code;
      if (typeof exitCode !== 'number') {
        reject(error ?? new Error(`promtool ${args.join(' ')} did not exit`));
        return;
      }
      resolveRun({ exitCode, output: `${stdout}${stderr}` });
    });
  });
}

interface RuleFile {
  readonly groups: readonly {
    readonly rules: readonly { readonly alert?: string; readonly expr: string }[];
  }[];
}

interface RuleTestFile {
  readonly tests: readonly {
    readonly alert_rule_test?: readonly {
      readonly alertname: string;
      readonly exp_alerts?: readonly { readonly exp_annotations?: Record<string, string> }[];
    }[];
  }[];
}

function readYaml<T>(path: string): T {
  return parseYaml(readFileSync(path, 'utf8')) as T;
}

describe('Prometheus alert rules', () => {
  it('keeps one rule group file per concern', () => {
    // Assess
    expect(ruleFiles).toEqual(
      expect.arrayContaining([
        'blackbox.yml',
        'dora.yml',
        'latency.yml',
        'meta.yml',
        'node.yml',
        'targets.yml',
        'toilless.yml',
        'traffic.yml',
      ]),
    );
  });

  it('has a promtool test file for every rule file', () => {
    // Act
    const untested = ruleFiles.filter((name) => !testFiles.includes(name.replace(/\.yml$/, '.test.yml')));

    // Assess
    expect(untested, 'rule files without tests/<name>.test.yml').toEqual([]);
  });

  it('tests every alert firing with its annotations, and staying silent', () => {
    // Prepare
    const alerts = ruleFiles.flatMap((name) =>
      readYaml<RuleFile>(join(rulesDir, name)).groups.flatMap((group) =>
        group.rules.flatMap((rule) => (rule.alert === undefined ? [] : [rule])),
      ),
    );
    const cases = testFiles.flatMap((name) =>
      readYaml<RuleTestFile>(join(testsDir, name)).tests.flatMap((test) => test.alert_rule_test ?? []),
    );

    // Act
    const names = [...new Set(alerts.map((rule) => rule.alert!))];
    const missing = names.flatMap((alertname) => {
      const own = cases.filter((c) => c.alertname === alertname);
      const fires = own.some(
        (c) =>
          (c.exp_alerts ?? []).length > 0 &&
          (c.exp_alerts ?? []).every((a) => a.exp_annotations !== undefined),
      );
      // An always-firing heartbeat (the Watchdog) has no silent case by design.
      const alwaysFires = alerts.every(
        (rule) => rule.alert !== alertname || rule.expr.trim() === 'vector(1)',
      );
      const silent = alwaysFires || own.some((c) => (c.exp_alerts ?? []).length === 0);
      return [
        ...(fires ? [] : [`${alertname}: no case where it fires with exp_annotations`]),
        ...(silent ? [] : [`${alertname}: no case where it stays silent (exp_alerts: [])`]),
      ];
    });

    // Assess
    expect(alerts.length).toBeGreaterThan(0);
    expect(missing).toEqual([]);
  });

  it.each(ruleFiles)('%s passes promtool check rules', async (name) => {
    // Act
    const run = await promtool(['check', 'rules', join('rules', name)]);

    // Assess
    expect(run.exitCode, run.output).toBe(0);
  });

  // The generated SLO rules' tests run in promtool-slo.test.ts; running them twice costs a minute of CPU.
  it.each(testFiles.filter((name) => !name.startsWith('slo-')))(
    '%s passes promtool test rules',
    async (name) => {
      // Act
      const run = await promtool(['test', 'rules', join('tests', name)]);

      // Assess
      expect(run.exitCode, run.output).toBe(0);
      expect(run.output).toContain('SUCCESS');
    },
    PROMTOOL_TIMEOUT_MS,
  );
});

interface PrometheusConfig {
  readonly rule_files: readonly string[];
  readonly scrape_configs: readonly {
    readonly job_name: string;
    readonly static_configs?: readonly {
      readonly targets: readonly string[];
      readonly labels?: Record<string, string>;
    }[];
  }[];
}

describe('Prometheus configuration', () => {
  it('passes promtool check config, including every rule file it loads', async () => {
    // Act
    const run = await promtool(['check', 'config', 'prometheus.yml']);

    // Assess
    expect(run.exitCode, run.output).toBe(0);
    expect(run.output).toContain(`SUCCESS: ${ruleFiles.length} rule files found`);
  });

  it('labels every scrape target with the service its alerts route by', () => {
    // Prepare
    const config = readYaml<PrometheusConfig>(join(prometheusDir, 'prometheus.yml'));

    // Act
    const services = new Map(
      config.scrape_configs.flatMap((job) =>
        (job.static_configs ?? []).flatMap((group) =>
          group.targets.map((target) => [`${job.job_name} ${target}`, group.labels?.['service']] as const),
        ),
      ),
    );

    // Assess
    expect([...services].filter(([, service]) => !service).map(([target]) => target)).toEqual([]);
    // The node inhibition rule and the slack-app route match these values.
    expect(services.get('node node-exporter:9100')).toBe('node');
    expect(services.get('sample-app sample-app:8000')).toBe('sample-app');
    expect(services.get('toilless toilless:8080')).toBe('toilless');
  });
});
