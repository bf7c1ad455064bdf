import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { stackConfigDir } from '../../functions/shared/stack-config.js';
import type { LgtmService } from '../../lib/lgtm/lgtm-service.js';
import { targetHost } from '../../lib/lgtm/prometheus-config.js';
import { configHash } from '../../lib/lgtm/service-configs.js';
import { ObservabilityStack } from '../../lib/observability-stack.js';
import { cdkContext } from './app-fixture.js';
import { containerNamed, containersOf } from './lgtm/lgtm-fixture.js';
import { freePort, mappedArguments, startBinary, waitUntilReady } from './lgtm/real-binary.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON and Prometheus answers are walked structurally
type Json = any;

interface Job {
  readonly job_name: string;
  readonly static_configs?: ReadonlyArray<{ targets: string[] }>;
  readonly relabel_configs?: ReadonlyArray<{ target_label?: string; replacement?: string }>;
}

let outdir: string;
let stack: ObservabilityStack;
let withSampleApp: ObservabilityStack;

/** The stack from a copy of the repository's stack-config with `observability` merged over toilless.yaml's. */
function synthesize(observability: Record<string, unknown>): ObservabilityStack {
  const configDir = mkdtempSync(join(outdir, 'stack-config-'));
  cpSync(stackConfigDir(), configDir, { recursive: true });
  const toilless = parseYaml(readFileSync(join(configDir, 'toilless.yaml'), 'utf8'));
  toilless.observability = { ...toilless.observability, ...observability };
  writeFileSync(join(configDir, 'toilless.yaml'), stringifyYaml(toilless));
  const app = new App({
    outdir: mkdtempSync(join(outdir, 'cdk-out-')),
    context: { ...cdkContext(), 'aws:cdk:bundling-stacks': [] },
  });
  const built = new ObservabilityStack(app, 'Toilless-Observability', { stackConfigDir: configDir });
  app.synth();
  return built;
}

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'toilless-prometheus-targets-'));
  // The day-one deploy, with an EC2 node group: the node dashboard's hosts on AWS.
  stack = synthesize({
    prometheus: { ec2Nodes: [{ name: 'web', tags: { role: ['web'] }, region: 'eu-west-1' }] },
  });
  withSampleApp = synthesize({ sampleApp: { enabled: true } });
});

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
});

function jobsOf(built: ObservabilityStack): Job[] {
  return (parseYaml(built.prometheus.deliveredConfig) as { scrape_configs: Job[] }).scrape_configs;
}

/** Every address Prometheus connects to by a static name: scrape, probe and Alertmanager targets, the exporter. */
function addressesOf(built: ObservabilityStack): string[] {
  const config = parseYaml(built.prometheus.deliveredConfig) as {
    alerting: { alertmanagers: Array<{ static_configs: Array<{ targets: string[] }> }> };
  };
  const jobs = jobsOf(built);
  return [
    ...jobs.flatMap((job) => (job.static_configs ?? []).flatMap((static_) => static_.targets)),
    ...config.alerting.alertmanagers.flatMap((manager) => manager.static_configs.flatMap((s) => s.targets)),
    ...jobs
      .flatMap((job) => job.relabel_configs ?? [])
      .filter((rule) => rule.target_label === '__address__' && rule.replacement !== undefined)
      .map((rule) => rule.replacement as string),
  ];
}

/** The stack's ECS services of the shipped prometheus.yml, by name in the namespace. */
function servicesOf(built: ObservabilityStack): LgtmService[] {
  return [
    built.prometheus.service,
    built.alertmanager.service,
    built.loki.service,
    built.tempo.service,
    built.grafana.service,
    built.collector.service,
    built.blackbox.service,
  ];
}

/** host:port at which each of the stack's tasks answers: its Cloud Map name and its container ports. */
function answeringAddresses(built: ObservabilityStack): Set<string> {
  const namespace = built.namespace.namespaceName;
  const cloudMapNames = new Set(
    Object.values(Template.fromStack(built).toJSON().Resources as Record<string, Json>)
      .filter((resource) => resource.Type === 'AWS::ServiceDiscovery::Service')
      .map((resource) => `${resource.Properties.Name}.${namespace}`),
  );
  const addresses = new Set<string>();
  const tasks: Array<[string, readonly { containerPort: number }[]]> = [
    ...servicesOf(built).map(
      (service) => [`${service.name}.${namespace}`, service.container.portMappings] as [string, Json],
    ),
    ...(built.sampleApp
      ? [[`sample-app.${namespace}`, built.sampleApp.container.portMappings] as [string, Json]]
      : []),
  ];
  for (const [host, ports] of tasks) {
    if (!cloudMapNames.has(host)) continue;
    for (const { containerPort } of ports) addresses.add(`${host}:${containerPort}`);
  }
  return addresses;
}

/** A stand-in for every exporter: any path answers one gauge in the Prometheus text format. */
async function standIn(): Promise<{ server: Server; port: number }> {
  const server = createServer((request, response) => {
    request.resume();
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    response.end('# TYPE stand_in gauge\nstand_in 1\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

describe("Prometheus's scrape targets on AWS", () => {
  it('lists only the jobs whose targets exist on AWS', () => {
    // Assess: no toilless (the workers push), no node (no host to export), no sample app while it is off.
    expect(jobsOf(stack).map((job) => job.job_name)).toEqual([
      'prometheus',
      'alertmanager',
      'loki',
      'tempo',
      'grafana',
      'otel-collector',
      'blackbox-exporter',
      'probe-http',
      'probe-tcp',
      'node-ec2-web',
    ]);
    expect(jobsOf(withSampleApp).map((job) => job.job_name)).toEqual([
      'prometheus',
      'alertmanager',
      'loki',
      'tempo',
      'grafana',
      'sample-app',
      'otel-collector',
      'blackbox-exporter',
      'probe-http',
      'probe-tcp',
    ]);
  });

  it('names only this Prometheus or a port a task of the stack listens on, at its Cloud Map name', () => {
    for (const built of [stack, withSampleApp]) {
      // Prepare
      const answering = answeringAddresses(built);

      // Act
      const unanswered = addressesOf(built).filter((address) => {
        if (address === 'localhost:9090') return false;
        if (/^https?:\/\//.test(address)) {
          const url = new URL(address);
          return !answering.has(`${url.hostname}:${url.port}`);
        }
        return !answering.has(address);
      });

      // Assess
      expect(unanswered).toEqual([]);
      expect(addressesOf(built).map(targetHost)).not.toContain('toilless');
    }
  });

  it('passes promtool check config with the shipped rules', () => {
    // Prepare
    const config = mkdtempSync(join(outdir, 'etc-prometheus-'));
    cpSync(join(stackConfigDir(), 'prometheus'), config, { recursive: true });
    writeFileSync(join(config, 'prometheus.yml'), stack.prometheus.deliveredConfig);

    // Act
    const output = execFileSync('promtool', ['check', 'config', join(config, 'prometheus.yml')], {
      encoding: 'utf8',
    });

    // Assess
    expect(output).toContain('SUCCESS');
  });

  it('reports no target down after a scrape round when every service answers, but the one left unreachable', async () => {
    // Prepare: the task's arguments and files; each stack address the config names is sent to a
    // stand-in, except Grafana's, which stays at its Cloud Map name (it does not resolve here).
    const exporter = await standIn();
    const port = await freePort();
    const scratch = mkdtempSync(join(outdir, 'prometheus-'));
    const config = join(scratch, 'etc-prometheus');
    cpSync(join(stackConfigDir(), 'prometheus'), config, { recursive: true });
    const unreachable = `grafana.${stack.namespace.namespaceName}:3000`;
    let delivered = stack.prometheus.deliveredConfig
      .replace('scrape_interval: 15s', 'scrape_interval: 1s')
      .replaceAll('localhost:9090', `127.0.0.1:${port}`);
    for (const address of answeringAddresses(stack)) {
      if (address !== unreachable) delivered = delivered.replaceAll(address, `127.0.0.1:${exporter.port}`);
    }
    writeFileSync(join(config, 'prometheus.yml'), delivered);
    mkdirSync(join(scratch, 'data'));
    const command: string[] = containerNamed(containersOf(stack, 'Prometheus'), 'Main').Command;
    const args = mappedArguments(
      command,
      { '/etc/prometheus': config, '/prometheus': join(scratch, 'data') },
      { flag: '--web.listen-address', address: `127.0.0.1:${port}` },
    );

    // Act
    const binary = startBinary('prometheus', args);
    try {
      expect(await waitUntilReady(`http://127.0.0.1:${port}/-/ready`, binary), binary.output()).toBe(true);
      let targets: Json[] = [];
      const deadline = Date.now() + 20_000;
      do {
        await new Promise((resolve) => setTimeout(resolve, 500));
        const answer = (await (await fetch(`http://127.0.0.1:${port}/api/v1/targets`)).json()) as Json;
        targets = answer.data.activeTargets;
      } while (
        (targets.length === 0 || targets.some((target) => target.health === 'unknown')) &&
        Date.now() < deadline
      );

      // Assess: a round scraped every static target (EC2 discovery finds none here); only Grafana is down.
      expect(targets.filter((target) => target.health === 'unknown')).toEqual([]);
      expect(targets).toHaveLength(
        jobsOf(stack).flatMap((job) => (job.static_configs ?? []).flatMap((config) => config.targets)).length,
      );
      const down = targets
        .filter((target) => target.health !== 'up')
        .map((target) => `${target.labels.job} ${target.labels.instance}`);
      expect(down).toEqual([`grafana ${unreachable}`]);
      expect(targets.map((target) => target.labels.job)).not.toContain('toilless');
      expect(targets.map((target) => target.labels.job)).not.toContain('node');
    } finally {
      await binary.stop();
      exporter.server.close();
    }
  }, 60_000);

  it("changes Prometheus's config hash and no other service's", () => {
    // Assess: every other service gets its shipped folder as it is, so the change rolls Prometheus alone.
    for (const built of [stack, withSampleApp]) {
      for (const service of servicesOf(built).filter((candidate) => candidate.name !== 'prometheus')) {
        const folder = service.name === 'blackbox-exporter' ? 'blackbox' : service.name;
        expect(service.configHash, service.name).toBe(configHash(join(stackConfigDir(), folder)));
      }
      expect(built.prometheus.service.configHash).not.toBe(configHash(join(stackConfigDir(), 'prometheus')));
    }
  });
});
