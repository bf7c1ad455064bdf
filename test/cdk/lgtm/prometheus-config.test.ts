import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { stackConfigDir } from '../../../functions/shared/stack-config.js';
import { renamedTarget, stackPrometheusConfig, targetHost } from '../../../lib/lgtm/prometheus-config.js';

const SHIPPED = readFileSync(join(stackConfigDir(), 'prometheus', 'prometheus.yml'), 'utf8');

interface Job {
  readonly job_name: string;
  readonly static_configs?: ReadonlyArray<{ targets: string[]; labels?: Record<string, string> }>;
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
    const delivered = stackPrometheusConfig(SHIPPED, { absentHosts: ['sample-app'] });

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
    expect(stackPrometheusConfig(SHIPPED, { absentHosts: [] })).toBeUndefined();
    expect(stackPrometheusConfig(SHIPPED, { absentHosts: ['no-such-host'] })).toBeUndefined();
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
    const delivered = stackPrometheusConfig(source, { absentHosts: ['sample-app'] }) as string;

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
      absentHosts: ['sample-app'],
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
