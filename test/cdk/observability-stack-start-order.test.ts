import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackConfigDir } from '../../functions/shared/stack-config.js';
import type { LgtmService } from '../../lib/lgtm/lgtm-service.js';
import { configFiles } from '../../lib/lgtm/service-configs.js';
import { ObservabilityStack } from '../../lib/observability-stack.js';
import { cdkContext } from './app-fixture.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is walked structurally
type Json = any;

let outdir: string;
let small: ObservabilityStack;
let large: ObservabilityStack;

function synthesize(profile: 'small' | 'large'): ObservabilityStack {
  const app = new App({
    outdir: mkdtempSync(join(outdir, 'cdk-out-')),
    context: { ...cdkContext(), 'aws:cdk:bundling-stacks': [] },
  });
  const stack = new ObservabilityStack(app, 'Toilless-Observability', { profile });
  app.synth();
  return stack;
}

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'toilless-start-order-'));
  small = synthesize('small');
  large = synthesize('large');
});

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
});

function resourcesOf(stack: ObservabilityStack): Record<string, Json> {
  return Template.fromStack(stack).toJSON().Resources;
}

function idOf(stack: ObservabilityStack, service: LgtmService): string {
  return stack.getLogicalId(service.service.node.defaultChild as never);
}

/** The ECS services each ECS service is created after, by logical id. */
function startsAfter(stack: ObservabilityStack): Map<string, string[]> {
  const resources = resourcesOf(stack);
  const services = Object.keys(resources).filter((id) => resources[id].Type === 'AWS::ECS::Service');
  return new Map(
    services.map((id) => [
      id,
      ((resources[id].DependsOn ?? []) as string[]).filter((other) => services.includes(other)),
    ]),
  );
}

/** The small profile's services, with the stack-config folder each one's tasks get. */
function smallServices(): Array<[LgtmService, string]> {
  return [
    [small.prometheus.service, 'prometheus'],
    [small.alertmanager.service, 'alertmanager'],
    [small.loki.service, 'loki'],
    [small.tempo.service, 'tempo'],
    [small.grafana.service, 'grafana'],
    [small.collector.service, 'otel-collector'],
    [small.blackbox.service, 'blackbox'],
  ];
}

/** The Service Connect names (host:port) a service offers, from its template. */
function serviceConnectAddresses(stack: ObservabilityStack, service: LgtmService): string[] {
  const properties = resourcesOf(stack)[idOf(stack, service)].Properties;
  return (properties.ServiceConnectConfiguration?.Services ?? []).flatMap((offered: Json) =>
    (offered.ClientAliases ?? []).map((alias: Json) => `${alias.DnsName}:${alias.Port}`),
  );
}

/** A config file without its # comments (YAML, nginx), which name hosts only to explain. */
function withoutComments(text: string): string {
  return text.replace(/(^|\s)#.*$/gm, '$1');
}

describe('Observability stack start order', () => {
  it("creates every service after the services whose Service Connect names its task's files use", () => {
    // Prepare: the files each task gets (Prometheus's generated prometheus.yml in place of the shipped one).
    const order = startsAfter(small);
    const missing: string[] = [];

    // Act
    for (const [client, folder] of smallServices()) {
      const dir = join(stackConfigDir(), folder);
      // prometheus/tests/ holds promtool's fixtures, which the server never reads.
      const read = configFiles(dir).filter((file) => !file.startsWith('tests/'));
      const texts = read.map((file) =>
        withoutComments(
          client === small.prometheus.service && file === 'prometheus.yml'
            ? small.prometheus.deliveredConfig
            : readFileSync(join(dir, file), 'utf8'),
        ),
      );
      for (const [server] of smallServices().filter(([candidate]) => candidate !== client)) {
        const named = serviceConnectAddresses(small, server).some((address) =>
          texts.some((text) => new RegExp(`(?<![\\w.-])${address}(?!\\d)`).test(text)),
        );
        if (named && !order.get(idOf(small, client))?.includes(idOf(small, server))) {
          missing.push(`${client.name} after ${server.name}`);
        }
      }
    }

    // Assess
    expect(missing).toEqual([]);
    expect(order.get(idOf(small, small.grafana.service))).toHaveLength(4);
    expect(order.get(idOf(small, small.collector.service))).toHaveLength(3);
  });

  it('lets Prometheus, Alertmanager, Loki and the blackbox exporter start first, so the order has no cycle', () => {
    // Assess: they name no one by Service Connect, and CloudFormation refuses a cycle anyway.
    const order = startsAfter(small);
    for (const service of [small.prometheus, small.alertmanager, small.loki, small.blackbox]) {
      expect(order.get(idOf(small, service.service)), service.service.name).toEqual([]);
    }
    expect(order.get(idOf(small, small.tempo.service))).toEqual([idOf(small, small.prometheus.service)]);
  });

  it('starts the Loki gateway after the write and read paths, and its clients after the gateway (large)', () => {
    // Prepare
    const order = startsAfter(large);
    const loki = large.loki;
    if (!('paths' in loki)) throw new Error('the large profile runs Loki in simple scalable mode');
    const gateway = idOf(large, loki.service);

    // Assess: nginx stops at a name it cannot resolve when it starts.
    expect(order.get(gateway)?.sort()).toEqual(
      [idOf(large, loki.paths.write), idOf(large, loki.paths.read)].sort(),
    );
    expect(order.get(idOf(large, large.grafana.service))).toContain(gateway);
    expect(order.get(idOf(large, large.collector.service))).toContain(gateway);
    expect(order.get(idOf(large, large.tempo.service))).toEqual([idOf(large, large.prometheus.service)]);
  });
});
