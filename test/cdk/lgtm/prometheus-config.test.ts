import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { stackConfigDir } from '../../../functions/shared/stack-config.js';
import {
  ecsTargetHosts,
  HOSTS_NOT_ON_ECS,
  renamedTarget,
  stackPrometheusConfig,
  targetHost,
} from '../../../lib/lgtm/prometheus-config.js';

const SHIPPED = readFileSync(join(stackConfigDir(), 'prometheus', 'prometheus.yml'), 'utf8');

interface Job {
  readonly job_name: string;
  readonly static_configs?: ReadonlyArray<{ targets: string[]; labels?: Record<string, string> }>;
  readonly relabel_configs?: ReadonlyArray<{ target_label?: string; replacement?: string }>;
}

function jobsOf(text: string): Job[] {
  return (parseYaml(text) as { scrape_configs: Job[] }).scrape_configs;
}

function targetsOf(job: Job | undefined): string[] {
  return (job?.static_configs ?? []).flatMap((config) => config.targets);
}

let scratch: string | undefined;

afterEach(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
});

describe('prometheus.yml on ECS, for a host the stack does not run', () => {
  it('drops the sample-app job and its /healthz probe, and keeps every other target', () => {
    // Act
    const delivered = stackPrometheusConfig(SHIPPED, { absentHosts: { 'sample-app': 'not run here' } });

    // Assess
    expect(delivered).toBeDefined();
    const jobs = jobsOf(delivered as string);
    const shipped = jobsOf(SHIPPED);
    expect(jobs.map((job) => job.job_name)).toEqual(
      shipped.map((job) => job.job_name).filter((name) => name !== 'sample-app'),
    );
    expect(targetsOf(jobs.find((job) => job.job_name === 'probe-http'))).toEqual([
      'http://grafana:3000/api/health',
    ]);
    for (const job of jobs.filter((candidate) => candidate.job_name !== 'probe-http')) {
      expect(job).toEqual(shipped.find((candidate) => candidate.job_name === job.job_name));
    }
    expect(delivered).not.toMatch(/^\s*-? *targets: \[.*sample-app/m);
    // The shipped comments stay, e.g. the one the node job's inhibition relies on.
    expect(delivered).toContain('# Inhibition relies on service="node"');
  });

  it('keeps the shipped file as it is when the sample app runs', () => {
    // Act and Assess: nothing to change, nothing generated.
    expect(stackPrometheusConfig(SHIPPED, { absentHosts: {} })).toBeUndefined();
    expect(
      stackPrometheusConfig(SHIPPED, { absentHosts: { 'no-such-host': 'not run here' } }),
    ).toBeUndefined();
  });

  it('keeps a job that also discovers its targets, and drops only the emptied static config', () => {
    // Prepare
    const source = [
      'scrape_configs:',
      '  - job_name: mixed',
      '    static_configs:',
      '      - targets: [sample-app:8000, other:8000]',
      '      - targets: [sample-app:9000]',
      '    ec2_sd_configs:',
      '      - region: eu-west-1',
      '  - job_name: discovered',
      '    static_configs:',
      '      - targets: [sample-app:8000]',
      '    dns_sd_configs:',
      '      - names: [sample-app.toilless.local]',
      '',
    ].join('\n');

    // Act
    const delivered = stackPrometheusConfig(source, {
      absentHosts: { 'sample-app': 'not run here' },
    }) as string;

    // Assess
    const jobs = jobsOf(delivered);
    expect(jobs.map((job) => [job.job_name, targetsOf(job)])).toEqual([
      ['mixed', ['other:8000']],
      ['discovered', []],
    ]);
  });

  it('reaches the sample app at its Cloud Map name when it runs, port, path and labels kept', () => {
    // Act
    const delivered = stackPrometheusConfig(SHIPPED, {
      renamedHosts: { 'sample-app': 'sample-app.toilless.local' },
    }) as string;

    // Assess
    const jobs = jobsOf(delivered);
    const shipped = jobsOf(SHIPPED);
    expect(jobs.map((job) => job.job_name)).toEqual(shipped.map((job) => job.job_name));
    expect(jobs.find((job) => job.job_name === 'sample-app')?.static_configs).toEqual([
      { targets: ['sample-app.toilless.local:8000'], labels: { service: 'sample-app' } },
    ]);
    expect(targetsOf(jobs.find((job) => job.job_name === 'probe-http'))).toEqual([
      'http://sample-app.toilless.local:8000/healthz',
      'http://grafana:3000/api/health',
    ]);
    const untouched = jobs.filter((job) => !['sample-app', 'probe-http'].includes(job.job_name));
    for (const job of untouched) {
      expect(job).toEqual(shipped.find((candidate) => candidate.job_name === job.job_name));
    }
  });

  it('puts the new host in place of the old one in a target, and nothing else', () => {
    // Act and Assess
    expect(renamedTarget('sample-app:8000', 'sample-app.toilless.local')).toBe(
      'sample-app.toilless.local:8000',
    );
    expect(renamedTarget('http://sample-app:8000/healthz', 'sample-app.toilless.local')).toBe(
      'http://sample-app.toilless.local:8000/healthz',
    );
    expect(renamedTarget('sample-app', 'sample-app.toilless.local')).toBe('sample-app.toilless.local');
  });

  it('reads the host of a static target and of a probed URL', () => {
    // Act and Assess
    expect(targetHost('sample-app:8000')).toBe('sample-app');
    expect(targetHost('http://sample-app:8000/healthz')).toBe('sample-app');
    expect(targetHost('https://shop.example.com/healthz')).toBe('shop.example.com');
    expect(targetHost('localhost')).toBe('localhost');
  });

  it('passes promtool with the sample app left out and the toilless.yaml additions in', () => {
    // Prepare
    scratch = mkdtempSync(join(tmpdir(), 'toilless-prometheus-config-'));
    const file = join(scratch, 'prometheus.yml');
    const delivered = stackPrometheusConfig(SHIPPED, {
      absentHosts: { 'sample-app': 'not run here' },
      probes: { http: [{ target: 'http://orders.internal:8080/healthz', service: 'orders' }] },
    }) as string;
    writeFileSync(file, delivered);

    // Act
    const output = execFileSync('promtool', ['check', 'config', '--syntax-only', file], { encoding: 'utf8' });

    // Assess
    expect(output).toContain('SUCCESS');
    const probed = targetsOf(jobsOf(delivered).find((job) => job.job_name === 'probe-http'));
    expect(probed).toEqual(['http://grafana:3000/api/health', 'http://orders.internal:8080/healthz']);
  });
});

describe('prometheus.yml on ECS, for the hosts of docker compose', () => {
  const ecs = ecsTargetHosts({
    namespace: 'toilless.local',
    services: [
      'prometheus',
      'alertmanager',
      'loki',
      'tempo',
      'grafana',
      'otel-collector',
      'blackbox-exporter',
    ],
    absent: { 'sample-app': 'not run here' },
  });

  it('leaves out the toilless and node-exporter targets, which nothing answers on ECS, and says why', () => {
    // Act
    const delivered = stackPrometheusConfig(SHIPPED, ecs) as string;

    // Assess
    expect(jobsOf(delivered).map((job) => job.job_name)).toEqual([
      'prometheus',
      'alertmanager',
      'loki',
      'tempo',
      'grafana',
      'otel-collector',
      'blackbox-exporter',
      'probe-http',
      'probe-tcp',
    ]);
    expect(Object.keys(HOSTS_NOT_ON_ECS).sort()).toEqual(['node-exporter', 'toilless']);
    expect(delivered).toContain(`#   toilless: ${HOSTS_NOT_ON_ECS.toilless}`);
    expect(delivered).toContain(`#   node-exporter: ${HOSTS_NOT_ON_ECS['node-exporter']}`);
    expect(delivered).toContain('#   sample-app: not run here');
    expect(delivered).not.toMatch(/^\s*-? *targets: \[.*(toilless|node-exporter):/m);
  });

  it("reaches every service, Alertmanager and the probes' exporter at their Cloud Map names", () => {
    // Act
    const delivered = stackPrometheusConfig(SHIPPED, ecs) as string;

    // Assess
    const parsed = parseYaml(delivered) as {
      alerting: { alertmanagers: Array<{ static_configs: Array<{ targets: string[] }> }> };
    };
    const jobs = jobsOf(delivered);
    const targets = jobs.flatMap((job) => targetsOf(job));
    expect(targets).toEqual([
      'localhost:9090',
      'alertmanager.toilless.local:9093',
      'loki.toilless.local:3100',
      'tempo.toilless.local:3200',
      'grafana.toilless.local:3000',
      'otel-collector.toilless.local:8888',
      'blackbox-exporter.toilless.local:9115',
      'http://grafana.toilless.local:3000/api/health',
      'otel-collector.toilless.local:4317',
    ]);
    expect(parsed.alerting.alertmanagers[0]?.static_configs[0]?.targets).toEqual([
      'alertmanager.toilless.local:9093',
    ]);
    const exporters = jobs
      .flatMap((job) => job.relabel_configs ?? [])
      .filter((rule) => rule.target_label === '__address__')
      .map((rule) => rule.replacement);
    expect(exporters).toEqual([
      'blackbox-exporter.toilless.local:9115',
      'blackbox-exporter.toilless.local:9115',
    ]);
  });

  it('sends the probe jobs that toilless.yaml creates to the exporter at its Cloud Map name too', () => {
    // Act
    const delivered = stackPrometheusConfig(SHIPPED, {
      ...ecs,
      probes: { https: [{ target: 'https://shop.example.com/healthz', service: 'shop' }] },
    }) as string;

    // Assess
    const https = jobsOf(delivered).find((job) => job.job_name === 'probe-https');
    expect(targetsOf(https)).toEqual(['https://shop.example.com/healthz']);
    expect(https?.relabel_configs?.find((rule) => rule.target_label === '__address__')?.replacement).toBe(
      'blackbox-exporter.toilless.local:9115',
    );
  });
});
