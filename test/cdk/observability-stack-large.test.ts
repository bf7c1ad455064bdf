import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { stackConfigDir } from '../../functions/shared/stack-config.js';
import { loadStackVersions } from '../../functions/shared/versions.js';
import { LokiSimpleScalable } from '../../lib/lgtm/loki-simple-scalable.js';
import { TempoScalable } from '../../lib/lgtm/tempo-scalable.js';
import { ObservabilityStack } from '../../lib/observability-stack.js';
import { cdkContext } from './app-fixture.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is walked structurally
type Json = any;

let outdir: string;
let stack: ObservabilityStack;
let synthError: Error | undefined;
let resources: Record<string, Json>;
let cdkValidation: string | undefined;

beforeAll(() => {
  // Prepare: the repository's stack-config with the one value that moves a user to large.
  outdir = mkdtempSync(join(tmpdir(), 'toilless-observability-large-'));
  const configCopy = join(outdir, 'stack-config');
  cpSync(stackConfigDir(), configCopy, { recursive: true });
  const toillessPath = join(configCopy, 'toilless.yaml');
  const toilless = parseYaml(readFileSync(toillessPath, 'utf8'));
  toilless.observability = { ...toilless.observability, profile: 'large' };
  writeFileSync(toillessPath, stringifyYaml(toilless));
  cdkValidation = process.env.CDK_VALIDATION;
  process.env.CDK_VALIDATION = 'false';

  // Act
  const dir = mkdtempSync(join(outdir, 'cdk-out-'));
  const app = new App({ outdir: dir, context: { ...cdkContext(), 'aws:cdk:bundling-stacks': [] } });
  stack = new ObservabilityStack(app, 'Toilless-Observability', { stackConfigDir: configCopy });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  try {
    app.synth();
  } catch (error) {
    synthError = error as Error;
  }
  resources = JSON.parse(readFileSync(join(dir, stack.templateFile), 'utf8')).Resources;
});

afterAll(() => {
  if (cdkValidation === undefined) delete process.env.CDK_VALIDATION;
  else process.env.CDK_VALIDATION = cdkValidation;
  rmSync(outdir, { recursive: true, force: true });
});

function ofType(type: string): Json[] {
  return Object.values(resources).filter((resource) => resource.Type === type);
}

/** The main container of the task definition of the service registered as `name` in Cloud Map. */
function mainContainerOf(name: string): Json {
  const [id] = Object.entries(resources).find(
    ([, r]) => r.Type === 'AWS::ServiceDiscovery::Service' && r.Properties.Name === name,
  ) ?? [undefined];
  const service = ofType('AWS::ECS::Service').find((s) =>
    JSON.stringify(s.Properties.ServiceRegistries).includes(`"${id}"`),
  );
  const taskId = service.Properties.TaskDefinition.Ref;
  return resources[taskId].Properties.ContainerDefinitions.find((c: Json) => c.Name === 'Main');
}

function groupIdOf(construct: { connections: { securityGroups: { node: { defaultChild?: unknown } }[] } }) {
  const group = construct.connections.securityGroups[0];
  return { 'Fn::GetAtt': [stack.getLogicalId(group?.node.defaultChild as never), 'GroupId'] };
}

/** The ports the ingress rules open from `client` to `server`. */
function portsBetween(client: Json, server: Json): number[] {
  const from = JSON.stringify(groupIdOf(client));
  const to = JSON.stringify(groupIdOf(server));
  const ingress = ofType('AWS::EC2::SecurityGroupIngress').filter(
    (rule) =>
      JSON.stringify(rule.Properties.SourceSecurityGroupId) === from &&
      JSON.stringify(rule.Properties.GroupId) === to,
  );
  for (const rule of ingress) expect(rule.Properties.ToPort).toBe(rule.Properties.FromPort);
  return ingress.map((rule) => rule.Properties.FromPort).sort((a: number, b: number) => a - b);
}

describe('Observability stack, large profile', () => {
  it('passes the AWS Solutions checks with every finding acknowledged', () => {
    // Assess
    expect(synthError?.message).toBeUndefined();
  });

  it('runs Loki as write, read and backend services behind the loki gateway, and Tempo scaled out', () => {
    // Assess
    expect(stack.loki).toBeInstanceOf(LokiSimpleScalable);
    expect(stack.tempo).toBeInstanceOf(TempoScalable);
    expect(
      ofType('AWS::ServiceDiscovery::Service')
        .map((s) => s.Properties.Name)
        .sort(),
    ).toEqual([
      'alertmanager',
      'blackbox-exporter',
      'grafana',
      'loki',
      'loki-backend',
      'loki-read',
      'loki-write',
      'otel-collector',
      'prometheus',
      'tempo',
    ]);
    const desired = (name: string) =>
      ofType('AWS::ECS::Service').find((s) =>
        JSON.stringify(s.Properties.ServiceConnectConfiguration.Services ?? []).includes(`"${name}"`),
      )?.Properties.DesiredCount;
    expect(['loki', 'loki-write', 'loki-read', 'loki-backend', 'tempo'].map(desired)).toEqual([
      2, 3, 2, 2, 3,
    ]);
  });

  it('starts each Loki service from the shared file with its own target', () => {
    // Assess
    for (const target of ['write', 'read', 'backend']) {
      const main = mainContainerOf(`loki-${target}`);
      expect(main.Image).toBe('grafana/loki:3.4.6');
      expect(main.Command).toEqual([
        '-config.file=/etc/loki/loki-large.yaml',
        '-config.expand-env=true',
        `-target=${target}`,
      ]);
      expect(main.PortMappings.map((p: Json) => p.ContainerPort)).toEqual([3100, 9095, 7946]);
      const environment = Object.fromEntries(main.Environment.map((e: Json) => [e.Name, e.Value]));
      expect(environment.TOILLESS_NAMESPACE).toBe('toilless.local');
    }
    const gateway = mainContainerOf('loki');
    const { image, tag } = loadStackVersions()['loki-gateway'];
    expect(gateway.Image).toBe(`${image}:${tag}`);
    expect(gateway.Command).toEqual(['nginx', '-c', '/etc/loki/gateway-nginx.conf', '-g', 'daemon off;']);
  });

  it('starts Tempo as a scalable single binary from tempo-large.yaml', () => {
    // Assess
    const main = mainContainerOf('tempo');
    expect(main.Command).toEqual([
      '-config.file=/etc/tempo/tempo-large.yaml',
      '-config.expand-env=true',
      '-target=scalable-single-binary',
    ]);
    expect(main.PortMappings.map((p: Json) => p.ContainerPort)).toEqual([3200, 4317, 4318, 9095, 7946]);
  });

  it('keeps the members ports off Service Connect', () => {
    // Assess
    const offered = ofType('AWS::ECS::Service').flatMap((s) =>
      (s.Properties.ServiceConnectConfiguration.Services ?? []).map((entry: Json) => entry.PortName),
    );
    expect(offered.filter((name: string) => /-(7946|9095)$/.test(name))).toEqual([]);
    expect(offered).toEqual(expect.arrayContaining(['loki-write-3100', 'loki-read-3100', 'loki-3100']));
  });

  it('opens memberlist and gRPC between the Loki members only, and the gateway to write and read', () => {
    // Prepare
    const loki = stack.loki as LokiSimpleScalable;
    const { write, read, backend } = loki.paths;
    const gateway = loki.service;

    // Assess
    for (const server of [write, read, backend]) {
      for (const client of [write, read, backend]) {
        expect(portsBetween(client.service, server.service)).toEqual(
          server === backend && client === read ? [3100, 7946, 9095] : [7946, 9095],
        );
      }
    }
    expect(portsBetween(gateway.service, write.service)).toEqual([3100]);
    expect(portsBetween(gateway.service, read.service)).toEqual([3100]);
    expect(portsBetween(gateway.service, backend.service)).toEqual([]);
    // Everyone else reaches Loki through the gateway only.
    for (const other of [stack.grafana.service, stack.collector.service, stack.prometheus.service]) {
      expect(portsBetween(other.service, gateway.service)).toEqual([3100]);
      for (const member of [write, read, backend])
        expect(portsBetween(other.service, member.service)).toEqual([]);
    }
    const memberPorts = ofType('AWS::EC2::SecurityGroupIngress')
      .filter((rule) => [7946, 9095].includes(rule.Properties.FromPort))
      .concat(
        ofType('AWS::EC2::SecurityGroup').flatMap((g) =>
          (g.Properties.SecurityGroupIngress ?? []).filter((rule: Json) =>
            [7946, 9095].includes(rule.FromPort),
          ),
        ),
      );
    for (const rule of memberPorts) expect(rule.CidrIp ?? rule.Properties?.CidrIp).toBeUndefined();
  });

  it('opens memberlist and gRPC between the Tempo tasks only', () => {
    // Prepare
    const tempo = stack.tempo.service;

    // Assess
    expect(portsBetween(tempo.service, tempo.service)).toEqual([7946, 9095]);
    expect(portsBetween(stack.grafana.service.service, tempo.service)).toEqual([3200]);
    expect(portsBetween(stack.collector.service.service, tempo.service)).toEqual([4317]);
  });

  it('lets the read path only list and get objects, and only the backend delete them', () => {
    // Prepare
    const loki = stack.loki as LokiSimpleScalable;
    const bucketId = stack.getLogicalId(loki.storage.bucket.node.defaultChild as never);
    const objectActions = (path: 'write' | 'read' | 'backend'): string[] => {
      const roleId = stack.getLogicalId(loki.paths[path].taskDefinition.taskRole.node.defaultChild as never);
      const policy = ofType('AWS::IAM::Policy').find((p) =>
        JSON.stringify(p.Properties.Roles).includes(roleId),
      );
      return policy.Properties.PolicyDocument.Statement.filter((s: Json) =>
        JSON.stringify(s.Resource).includes(bucketId),
      )
        .flatMap((s: Json) => [s.Action].flat())
        .sort();
    };

    // Assess
    expect(objectActions('read')).toEqual(['s3:GetObject', 's3:ListBucket']);
    expect(objectActions('write')).toEqual(['s3:GetObject', 's3:ListBucket', 's3:PutObject']);
    expect(objectActions('backend')).toEqual([
      's3:DeleteObject',
      's3:GetObject',
      's3:ListBucket',
      's3:PutObject',
    ]);
  });

  it('scales the read path on CPU and keeps the workers endpoints', () => {
    // Assess
    const target = ofType('AWS::ApplicationAutoScaling::ScalableTarget').find((t) =>
      JSON.stringify(t.Properties.ResourceId).includes(
        stack.getLogicalId((stack.loki as LokiSimpleScalable).paths.read.service.node.defaultChild as never),
      ),
    );
    expect([target?.Properties.MinCapacity, target?.Properties.MaxCapacity]).toEqual([2, 6]);
    expect(stack.endpoints().lokiUrl).toBe('http://loki.toilless.local:3100');
    expect(stack.endpoints().tempoUrl).toBe('http://tempo.toilless.local:3200');
    // loki-large.yaml keeps 720h, tempo-large.yaml 336h; the buckets a week longer.
    expect(stack.loki.storage.expirationDays).toBe(37);
    expect(stack.tempo.storage.expirationDays).toBe(21);
  });
});
