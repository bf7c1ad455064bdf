import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blackboxConfigProblems } from '../../../functions/service-configs/blackbox.js';
import {
  missingScrapeJobs,
  STACK_SCRAPE_JOBS,
} from '../../../functions/service-configs/prometheus-scrapes.js';

const stackConfig = join(import.meta.dirname, '..', '..', '..', 'stack-config');
const PROMETHEUS = readFileSync(join(stackConfig, 'prometheus', 'prometheus.yml'), 'utf8');
const BLACKBOX = readFileSync(join(stackConfig, 'blackbox', 'blackbox.yml'), 'utf8');

describe('prometheus.yml scrapes the whole stack', () => {
  it('has a job, labelled with its service, for every part of the stack', () => {
    // Act
    const problems = missingScrapeJobs(PROMETHEUS);

    // Assess
    expect(problems).toEqual([]);
    expect(Object.keys(STACK_SCRAPE_JOBS)).toEqual(
      expect.arrayContaining([
        'loki',
        'tempo',
        'grafana',
        'alertmanager',
        'otel-collector',
        'node',
        'blackbox-exporter',
      ]),
    );
  });

  it('reports a part nobody scrapes', () => {
    // Prepare
    const text = PROMETHEUS.replace('  - job_name: tempo\n', '  - job_name: traces\n');

    // Act
    const problems = missingScrapeJobs(text);

    // Assess
    expect(problems).toEqual(['no scrape job "tempo": its failures would go unseen']);
  });
});

describe('blackbox.yml against the probe jobs', () => {
  it('defines the HTTP, TLS and TCP modules and every module a probe job names', () => {
    // Act
    const problems = blackboxConfigProblems(BLACKBOX, PROMETHEUS);

    // Assess
    expect(problems).toEqual([]);
  });

  it('reports a probe job naming a module that does not exist', () => {
    // Prepare
    const prometheus = PROMETHEUS.replace('module: [tcp_connect]', 'module: [tcp_banner]');

    // Act
    const problems = blackboxConfigProblems(BLACKBOX, prometheus);

    // Assess
    expect(problems).toEqual([
      'prometheus.yml job probe-tcp probes with module tcp_banner, which is not defined here',
    ]);
  });

  it('reports a TLS module that would pass a plain-HTTP answer', () => {
    // Prepare
    const blackbox = BLACKBOX.replace('fail_if_not_ssl: true', 'fail_if_not_ssl: false');

    // Act
    const problems = blackboxConfigProblems(blackbox, PROMETHEUS);

    // Assess
    expect(problems).toEqual([
      'module https_2xx must set http.fail_if_not_ssl: true, or a plain-HTTP answer passes the TLS check',
    ]);
  });
});
