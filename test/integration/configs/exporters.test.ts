import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { requireBinary } from '../../support/binaries.js';
import { type RunningExporter, startBlackboxExporter, startNodeExporter } from '../../support/exporters.js';
import { type RunningPrometheus, startPrometheus } from '../../support/prometheus.js';
import { STACK_CONFIG_DIR } from '../../support/stack-config-copy.js';
import { waitFor } from '../../support/wait.js';

/**
 * blackbox.yml and the exporter jobs of prometheus.yml with the real parts: the Debian blackbox
 * exporter checks and runs the shipped modules, and the real Prometheus scrapes the real node and
 * blackbox exporters through the shipped jobs and relabelling, with only the addresses changed.
 */

const BLACKBOX_CONFIG = join(STACK_CONFIG_DIR, 'blackbox', 'blackbox.yml');
const SCRAPE_TIMEOUT_MS = 60_000;

function configCheck(file: string): Promise<{ ok: boolean; output: string }> {
  const binary = requireBinary('prometheus-blackbox-exporter', 'prometheus-blackbox-exporter');
  return new Promise((resolveRun) => {
    execFile(binary, ['--config.check', `--config.file=${file}`], (error, stdout, stderr) => {
      resolveRun({ ok: error === null, output: `${stdout}${stderr}` });
    });
  });
}

interface ScrapeConfig {
  job_name: string;
  static_configs?: { targets: string[]; labels?: Record<string, string> }[];
  relabel_configs?: { replacement?: string }[];
}

describe('blackbox.yml with the real blackbox exporter', () => {
  const tempDirs: string[] = [];
  afterAll(async () => {
    await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('passes --config.check', async () => {
    // Act
    const run = await configCheck(BLACKBOX_CONFIG);

    // Assess
    expect(run.ok, run.output).toBe(true);
    expect(run.output).toContain('Config file is ok');
  });

  it('fails --config.check on a misspelled key, so the check above means something', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'toilless-blackbox-'));
    tempDirs.push(dir);
    const broken = join(dir, 'blackbox.yml');
    await writeFile(
      broken,
      (await readFile(BLACKBOX_CONFIG, 'utf8')).replace('fail_if_not_ssl', 'fail_if_not_tls'),
    );

    // Act
    const run = await configCheck(broken);

    // Assess
    expect(run.ok).toBe(false);
    expect(run.output).toContain('field fail_if_not_tls not found');
  });
});

describe('The exporter jobs of prometheus.yml with the real exporters and Prometheus', () => {
  let site: Server;
  let siteUrl: string;
  let nodeExporter: RunningExporter;
  let blackbox: RunningExporter;
  let prometheus: RunningPrometheus;

  beforeAll(async () => {
    // Prepare: a healthy HTTP endpoint to probe, the two exporters, and Prometheus with the shipped jobs.
    site = createServer((_request, response) => response.writeHead(200).end('ok'));
    await new Promise<void>((resolveListen) => site.listen(0, '127.0.0.1', resolveListen));
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    [nodeExporter, blackbox] = await Promise.all([
      startNodeExporter(),
      startBlackboxExporter(BLACKBOX_CONFIG),
    ]);

    const shipped = parseYaml(
      await readFile(join(STACK_CONFIG_DIR, 'prometheus', 'prometheus.yml'), 'utf8'),
    ) as {
      scrape_configs: ScrapeConfig[];
      [key: string]: unknown;
    };
    const targets: Record<string, string[]> = {
      node: [nodeExporter.address],
      'blackbox-exporter': [blackbox.address],
      'probe-http': [`${siteUrl}/healthz`],
      'probe-tcp': [new URL(siteUrl).host],
    };
    const jobs = shipped.scrape_configs
      .filter((job) => job.job_name in targets)
      .map((job) => ({
        ...job,
        scrape_interval: '1s',
        static_configs: [{ ...job.static_configs?.[0], targets: targets[job.job_name] ?? [] }],
        relabel_configs: job.relabel_configs?.map((rule) =>
          rule.replacement === 'blackbox-exporter:9115' ? { ...rule, replacement: blackbox.address } : rule,
        ),
      }));
    const config = { global: shipped['global'], scrape_configs: jobs };
    prometheus = await startPrometheus({ config: stringifyYaml(config) });
  }, 60_000);

  afterAll(async () => {
    await Promise.all([prometheus?.stop(), nodeExporter?.stop(), blackbox?.stop()]);
    await new Promise((resolveClose) => site?.close(resolveClose));
  });

  async function latestSample(expr: string): Promise<{ labels: Record<string, string>; value: string }> {
    return waitFor(
      async () => {
        const data = await prometheus.query(expr);
        if (data.resultType !== 'vector' || data.result.length === 0) return undefined;
        const [sample] = data.result;
        return sample === undefined ? undefined : { labels: { ...sample.metric }, value: sample.value[1] };
      },
      { timeoutMs: SCRAPE_TIMEOUT_MS, intervalMs: 500, description: `Prometheus to return ${expr}` },
    );
  }

  it('scrapes the node exporter as service node, with the series the Node dashboard reads', async () => {
    // Act
    const up = await latestSample('up{job="node"}');
    const cpu = await latestSample('count(node_cpu_seconds_total{job="node", service="node"})');
    const memory = await latestSample('node_memory_MemAvailable_bytes{job="node"}');

    // Assess
    expect(up).toEqual({
      labels: expect.objectContaining({ service: 'node', instance: nodeExporter.address }),
      value: '1',
    });
    expect(Number(cpu.value)).toBeGreaterThan(0);
    expect(Number(memory.value)).toBeGreaterThan(0);
  });

  it('probes an HTTP URL through the exporter, labelling the result with the URL as instance', async () => {
    // Act
    const probe = await latestSample('probe_success{job="probe-http"}');
    const status = await latestSample('probe_http_status_code{job="probe-http"}');

    // Assess
    expect(probe).toEqual({
      labels: expect.objectContaining({ instance: `${siteUrl}/healthz`, service: 'sample-app' }),
      value: '1',
    });
    expect(status.value).toBe('200');
  });

  it('probes a TCP port with tcp_connect', async () => {
    // Act
    const probe = await latestSample('probe_success{job="probe-tcp"}');

    // Assess
    expect(probe).toEqual({ labels: expect.objectContaining({ service: 'otel-collector' }), value: '1' });
  });

  it('fails the TLS module on a plain-HTTP endpoint that http_2xx accepts', async () => {
    // Act
    const probe = async (module: string) =>
      (
        await (
          await fetch(`${blackbox.url}/probe?module=${module}&target=${encodeURIComponent(siteUrl)}`)
        ).text()
      )
        .split('\n')
        .find((line) => line.startsWith('probe_success '));

    // Assess
    expect(await probe('http_2xx')).toBe('probe_success 1');
    expect(await probe('https_2xx')).toBe('probe_success 0');
  });
});

describe('The shipped prometheus.yml in the real Prometheus', () => {
  let prometheus: RunningPrometheus;

  beforeAll(async () => {
    // Prepare: the file as shipped, without its rule files (promtool tests them), hosts unresolvable here.
    const shipped = parseYaml(
      await readFile(join(STACK_CONFIG_DIR, 'prometheus', 'prometheus.yml'), 'utf8'),
    ) as Record<string, unknown>;
    delete shipped['rule_files'];
    prometheus = await startPrometheus({ config: stringifyYaml(shipped) });
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
  });

  it('loads every job, each target labelled with its service, probes addressed to the exporter', async () => {
    // Act
    const targets = await waitFor(
      async () => {
        const data = await prometheus.api<{
          activeTargets: { scrapePool: string; scrapeUrl: string; labels: Record<string, string> }[];
        }>('/api/v1/targets');
        return data.activeTargets.length > 0 ? data.activeTargets : undefined;
      },
      { timeoutMs: 30_000, description: 'Prometheus to list its targets' },
    );
    const byJob = (job: string) => targets.filter((target) => target.scrapePool === job);

    // Assess
    expect(new Set(targets.map((target) => target.scrapePool))).toEqual(
      new Set([
        'prometheus',
        'alertmanager',
        'loki',
        'tempo',
        'grafana',
        'sample-app',
        'node',
        'toilless',
        'otel-collector',
        'blackbox-exporter',
        'probe-http',
        'probe-tcp',
      ]),
    );
    expect(targets.filter((target) => !target.labels['service'])).toEqual([]);
    expect(byJob('loki')[0]?.scrapeUrl).toBe('http://loki:3100/metrics');
    expect(byJob('probe-tcp')).toEqual([
      expect.objectContaining({
        scrapeUrl: 'http://blackbox-exporter:9115/probe?module=tcp_connect&target=otel-collector%3A4317',
        labels: expect.objectContaining({ instance: 'otel-collector:4317', service: 'otel-collector' }),
      }),
    ]);
    expect(
      byJob('probe-http')
        .map((target) => target.labels['instance'])
        .sort(),
    ).toEqual(['http://grafana:3000/api/health', 'http://sample-app:8000/healthz']);
  });
});
