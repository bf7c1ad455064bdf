import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAlertmanager, startAlertmanager } from '../support/alertmanager.js';
import { requireBinary } from '../support/binaries.js';
import { type RunningPrometheus, startPrometheus } from '../support/prometheus.js';
import { waitFor } from '../support/wait.js';

const run = promisify(execFile);

/** True while a process with this pid exists (signal 0 checks without sending anything). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

async function pathExists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

const RECORDING_RULES = `groups:
  - name: harness
    rules:
      - record: harness:answer
        expr: vector(42)
`;

interface RuleGroups {
  readonly groups: readonly {
    readonly name: string;
    readonly file: string;
    readonly rules: readonly { readonly name: string; readonly health: string }[];
  }[];
}

describe('Prometheus test server', () => {
  let prometheus: RunningPrometheus;

  beforeAll(async () => {
    prometheus = await startPrometheus();
  });

  afterAll(async () => {
    await prometheus?.stop();
  });

  it('answers an instant query', async () => {
    // Act
    const data = await prometheus.query('vector(1)');

    // Assess
    expect(data.resultType).toBe('vector');
    expect(data.result).toEqual([{ metric: {}, value: [expect.any(Number), '1'] }]);
  });

  it('answers a range query with one point per step', async () => {
    // Prepare
    const end = new Date();
    const start = new Date(end.getTime() - 60_000);

    // Act
    const series = await prometheus.queryRange('vector(2)', { start, end, stepSeconds: 15 });

    // Assess
    expect(series).toHaveLength(1);
    expect(series[0]?.values.map(([, value]) => value)).toEqual(['2', '2', '2', '2', '2']);
  });

  it('runs with the remote-write receiver enabled', async () => {
    // Act
    const flags = await prometheus.api<Record<string, string>>('/api/v1/status/flags');

    // Assess
    expect(flags['web.enable-remote-write-receiver']).toBe('true');
    expect(flags['web.listen-address']).toBe(`127.0.0.1:${prometheus.port}`);
  });

  it('loads a new rule file on reload and evaluates it', async () => {
    // Prepare
    const before = await prometheus.api<RuleGroups>('/api/v1/rules');

    // Act
    await prometheus.reload({ ruleFiles: { 'harness.rules.yml': RECORDING_RULES } });

    // Assess
    expect(before.groups).toEqual([]);
    const after = await prometheus.api<RuleGroups>('/api/v1/rules');
    expect(after.groups.map((group) => group.name)).toEqual(['harness']);
    expect(after.groups[0]?.rules.map((rule) => rule.name)).toEqual(['harness:answer']);
    const recorded = await waitFor(
      async () => {
        const data = await prometheus.query('harness:answer');
        return data.resultType === 'vector' && data.result.length > 0 ? data.result : undefined;
      },
      {
        timeoutMs: 10_000,
        intervalMs: 200,
        description: 'the recording rule harness:answer to produce a sample',
      },
    );
    expect(recorded[0]?.value[1]).toBe('42');
  });

  it('refuses a reload with a broken rule file and says why', async () => {
    // Act
    const reload = prometheus.reload({ ruleFiles: { 'broken.rules.yml': 'groups:\n  - name: [\n' } });

    // Assess
    await expect(reload).rejects.toThrow(/Prometheus refused the reload \(HTTP 500\).*broken\.rules\.yml/s);
    expect((await prometheus.query('vector(3)')).result).toHaveLength(1);
  });
});

describe('Prometheus test server lifecycle', () => {
  it('leaves no process and no directory behind once stopped', async () => {
    // Prepare
    const prometheus = await startPrometheus();
    const { pid, dataDir } = prometheus;
    expect(processExists(pid)).toBe(true);

    // Act
    await prometheus.stop();

    // Assess
    expect(processExists(pid)).toBe(false);
    expect(await pathExists(dataDir)).toBe(false);
  });

  it('fails to start with the server output when the config is invalid', async () => {
    // Act
    const started = startPrometheus({ config: 'scrape_configs:\n  - job_name: [\n' });

    // Assess
    await expect(started).rejects.toThrow(
      /prometheus \(pid \d+\) exited with code \d+ before it was ready.*Error loading config/s,
    );
  });
});

const ALERTMANAGER_CONFIG = `route:
  receiver: default
  group_by: [alertname]
receivers:
  - name: default
templates:
  - '{{DIR}}/templates/*.tmpl'
`;

describe('Alertmanager test server', () => {
  let alertmanager: RunningAlertmanager;

  beforeAll(async () => {
    alertmanager = await startAlertmanager({
      config: ALERTMANAGER_CONFIG,
      files: { 'templates/harness.tmpl': '{{ define "harness.title" }}harness{{ end }}\n' },
    });
  });

  afterAll(async () => {
    await alertmanager?.stop();
  });

  it('loads the config with {{DIR}} replaced by its directory', async () => {
    // Act
    const response = await fetch(`${alertmanager.url}/api/v2/status`);
    const status = (await response.json()) as { config: { original: string } };

    // Assess
    expect(status.config.original).toContain(`${alertmanager.dir}/templates/*.tmpl`);
    expect(status.config.original).not.toContain('{{DIR}}');
  });

  it('accepts an alert and lists it as active for its receiver', async () => {
    // Prepare
    const labels = { alertname: 'HarnessCheck', severity: 'page' };

    // Act
    await alertmanager.postAlerts([
      { labels, annotations: { summary: 'the harness works' }, generatorURL: 'http://127.0.0.1/graph' },
    ]);

    // Assess
    const listed = await waitFor(
      async () => (await alertmanager.alerts()).find((alert) => alert.labels['alertname'] === 'HarnessCheck'),
      { timeoutMs: 10_000, description: 'Alertmanager to list the HarnessCheck alert' },
    );
    expect(listed.labels).toEqual(labels);
    expect(listed.annotations).toEqual({ summary: 'the harness works' });
    expect(listed.status.state).toBe('active');
    expect(listed.receivers).toEqual([{ name: 'default' }]);
  });

  it('reports why it refuses an alert without labels', async () => {
    // Act
    const posted = alertmanager.postAlerts([{ labels: {} }]);

    // Assess
    await expect(posted).rejects.toThrow(/Alertmanager refused the alerts \(HTTP 400\).*label/s);
  });
});

describe('Alertmanager test server lifecycle', () => {
  it('leaves no process and no directory behind once stopped', async () => {
    // Prepare
    const alertmanager = await startAlertmanager({
      config: 'route:\n  receiver: x\nreceivers:\n  - name: x\n',
    });
    const { pid, dir } = alertmanager;
    expect(processExists(pid)).toBe(true);

    // Act
    await alertmanager.stop();

    // Assess
    expect(processExists(pid)).toBe(false);
    expect(await pathExists(dir)).toBe(false);
  });
});

describe('Prometheus and Alertmanager command-line tools', () => {
  it('runs promtool from the prometheus package', async () => {
    // Act
    const { stdout, stderr } = await run(requireBinary('promtool', 'prometheus'), ['--version']);

    // Assess
    expect(`${stdout}${stderr}`).toMatch(/^promtool, version 2\.\d+/m);
  });

  it('runs amtool from the prometheus-alertmanager package', async () => {
    // Act
    const { stdout, stderr } = await run(requireBinary('amtool', 'prometheus-alertmanager'), ['--version']);

    // Assess
    expect(`${stdout}${stderr}`).toMatch(/^amtool, version 0\.\d+/m);
  });

  it('names the Debian package and the install command when a binary is missing', () => {
    // Act
    const lookup = () => requireBinary('toilless-absent-tool', 'toilless-absent-package');

    // Assess
    expect(lookup).toThrow(
      /toilless-absent-tool was not found on PATH.*"toilless-absent-package".*npm run test:deps/,
    );
  });
});
