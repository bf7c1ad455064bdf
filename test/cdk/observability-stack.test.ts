import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { stackConfigDir } from '../../functions/shared/stack-config.js';
import { ObservabilityStack, UNWIRED_RECEIVER_URL } from '../../lib/observability-stack.js';
import { cdkContext, unacknowledgedFindings, withoutAssetHashes } from './app-fixture.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is walked structurally
type Json = any;

let outdir: string;
let configCopy: string;
let stack: ObservabilityStack;
let synthError: Error | undefined;
let resources: Record<string, Json>;
let cdkValidation: string | undefined;

function synthesize(configDir: string): { stack: ObservabilityStack; error?: Error; dir: string } {
  const dir = mkdtempSync(join(outdir, 'cdk-out-'));
  const app = new App({ outdir: dir, context: { ...cdkContext(), 'aws:cdk:bundling-stacks': [] } });
  const built = new ObservabilityStack(app, 'Toilless-Observability', { stackConfigDir: configDir });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  try {
    app.synth();
    return { stack: built, dir };
  } catch (error) {
    return { stack: built, error: error as Error, dir };
  }
}

beforeAll(() => {
  // Prepare: the repository's stack-config, with an HTTPS domain for Grafana.
  outdir = mkdtempSync(join(tmpdir(), 'toilless-observability-'));
  configCopy = join(outdir, 'stack-config');
  cpSync(stackConfigDir(), configCopy, { recursive: true });
  const toilless = parseYaml(readFileSync(join(configCopy, 'toilless.yaml'), 'utf8'));
  toilless.observability = {
    grafana: {
      domainName: 'grafana.example.com',
      certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/0f0e0d0c-0b0a-0908-0706-050403020100',
      oidc: {
        name: 'Cognito',
        clientId: 'grafana-client',
        authUrl: 'https://auth.example.com/oauth2/authorize',
        tokenUrl: 'https://auth.example.com/oauth2/token',
        apiUrl: 'https://auth.example.com/oauth2/userInfo',
      },
    },
    prometheus: {
      retention: '30d',
      ec2Nodes: [{ name: 'web', tags: { role: ['web'] }, region: 'eu-west-1' }],
    },
    probes: { https: [{ url: 'https://shop.example.com/healthz', service: 'shop' }] },
  };
  writeFileSync(join(configCopy, 'toilless.yaml'), stringifyYaml(toilless));
  cdkValidation = process.env.CDK_VALIDATION;
  process.env.CDK_VALIDATION = 'false';
  const result = synthesize(configCopy);
  stack = result.stack;
  synthError = result.error;
  resources = JSON.parse(readFileSync(join(result.dir, stack.templateFile), 'utf8')).Resources;
});

afterAll(() => {
  if (cdkValidation === undefined) delete process.env.CDK_VALIDATION;
  else process.env.CDK_VALIDATION = cdkValidation;
  rmSync(outdir, { recursive: true, force: true });
});

function ofType(type: string): Json[] {
  return Object.values(resources).filter((resource) => resource.Type === type);
}

function idOf(construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as never);
}

describe('Observability stack', () => {
  it('passes the AWS Solutions checks with every finding acknowledged', () => {
    // Assess
    expect(synthError?.message).toBeUndefined();
  });

  it('matches the snapshot', () => {
    // Assess
    expect(withoutAssetHashes(Template.fromStack(stack).toJSON())).toMatchSnapshot();
  });

  it('runs the seven services, each under its name in the namespace', () => {
    // Assess
    expect(
      ofType('AWS::ServiceDiscovery::Service')
        .map((s) => s.Properties.Name)
        .sort(),
    ).toEqual([
      'alertmanager',
      'blackbox-exporter',
      'grafana',
      'loki',
      'otel-collector',
      'prometheus',
      'tempo',
    ]);
    expect(ofType('AWS::ServiceDiscovery::PrivateDnsNamespace')[0].Properties.Name).toBe('toilless.local');
  });

  it('takes each image from versions.yaml', () => {
    // Assess
    const images = ofType('AWS::ECS::TaskDefinition').flatMap((task) =>
      task.Properties.ContainerDefinitions.filter((c: Json) => c.Name === 'Main').map((c: Json) => c.Image),
    );
    expect(images.sort()).toEqual([
      'grafana/grafana:12.4.5',
      'grafana/loki:3.4.6',
      'grafana/tempo:2.7.2',
      'otel/opentelemetry-collector-contrib:0.123.0',
      'prom/alertmanager:v0.28.1',
      'prom/blackbox-exporter:v0.26.0',
      'prom/prometheus:v3.5.0',
    ]);
  });

  it('reads Prometheus retention from toilless.yaml and bucket lifecycles from the Loki and Tempo configs', () => {
    // Assess
    expect(JSON.stringify(ofType('AWS::ECS::TaskDefinition'))).toContain('--storage.tsdb.retention.time=30d');
    // loki.yaml keeps 720h (30 days), tempo.yaml 336h (14 days); the buckets a week longer.
    expect(stack.loki.storage.expirationDays).toBe(37);
    expect(stack.tempo.storage.expirationDays).toBe(21);
  });

  it('lets Grafana reach Prometheus, Loki, Tempo and Alertmanager on their ports only', () => {
    // Prepare
    const grafanaGroup = stack.grafana.service.service.connections.securityGroups[0]!;
    const fromGrafana = ofType('AWS::EC2::SecurityGroupIngress').filter(
      (rule) =>
        JSON.stringify(rule.Properties.SourceSecurityGroupId) ===
        JSON.stringify({ 'Fn::GetAtt': [idOf(grafanaGroup), 'GroupId'] }),
    );

    // Assess
    expect(fromGrafana.map((rule) => rule.Properties.FromPort).sort()).toEqual([
      2049, 3100, 3200, 9090, 9093,
    ]);
    for (const rule of fromGrafana) expect(rule.Properties.ToPort).toBe(rule.Properties.FromPort);
  });

  it('has no IAM statement with a wildcard action', () => {
    // Assess: the CDK's own bucket-deployment handler is acknowledged separately.
    const statements = ofType('AWS::IAM::Policy')
      .filter((policy) => !JSON.stringify(policy.Properties.Roles).includes('CustomCDKBucketDeployment'))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement);
    const actions = statements.flatMap((s: Json) => [s.Action].flat());
    expect(actions.filter((action: string) => action.includes('*'))).toEqual([]);
  });

  it('exposes Grafana on HTTPS only, and gives the outputs an operator needs', () => {
    // Assess
    expect(ofType('AWS::ElasticLoadBalancingV2::Listener').map((l) => l.Properties.Protocol)).toEqual([
      'HTTPS',
    ]);
    const outputs = Template.fromStack(stack).toJSON().Outputs;
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining([
        'GrafanaUrl',
        'OtlpGrpcEndpoint',
        'OtlpHttpEndpoint',
        'LokiBucket',
        'TempoBucket',
        'SlackWebhookUrlSecret',
        'AlertmanagerReceiverUrlSecret',
        'GrafanaOidcClientSecret',
        'ConfigBucket',
      ]),
    );
    expect(outputs.GrafanaUrl.Value).toBe('https://grafana.example.com');
  });

  it("starts Alertmanager's toilless receiver at an address that never resolves, until the workers write theirs", () => {
    // Assess
    const secret = resources[idOf(stack.alertmanagerReceiverUrl)];
    expect(secret.Properties.SecretString).toBe(UNWIRED_RECEIVER_URL);
    expect(new URL(UNWIRED_RECEIVER_URL).hostname.endsWith('.invalid')).toBe(true);
  });

  it('gives the workers endpoints at the services Cloud Map names', () => {
    // Assess
    expect(stack.endpoints()).toEqual({
      prometheusUrl: 'http://prometheus.toilless.local:9090',
      remoteWriteUrl: 'http://prometheus.toilless.local:9090/api/v1/write',
      lokiUrl: 'http://loki.toilless.local:3100',
      tempoUrl: 'http://tempo.toilless.local:3200',
      grafanaUrl: 'http://grafana.toilless.local:3000',
    });
  });

  it('leaves Container Insights off by default, saying so to the AWS Solutions checks', () => {
    // Assess: written out as disabled, so an account-wide default cannot turn it on.
    expect(ofType('AWS::ECS::Cluster')[0].Properties.ClusterSettings).toEqual([
      { Name: 'containerInsights', Value: 'disabled' },
    ]);
    expect(acknowledgedRules(stack.cluster)).toEqual({
      ECS4: expect.stringContaining('observability.containerInsights'),
    });
  });

  it('fails synth on an unacknowledged finding', () => {
    // Prepare
    const dir = mkdtempSync(join(outdir, 'nag-'));
    const app = new App({ outdir: dir, context: { ...cdkContext(), 'aws:cdk:bundling-stacks': [] } });
    const unchecked = new ObservabilityStack(app, 'Unchecked', { stackConfigDir: configCopy });
    unchecked.loki.service.taskDefinition.taskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:*'], resources: ['*'] }),
    );
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

    // Act
    let message = '';
    try {
      app.synth();
    } catch (error) {
      message = (error as Error).message;
    }

    // Assess
    expect(message).toContain('AwsSolutions-IAM5[Action::s3:*]');
    const report = JSON.parse(readFileSync(join(dir, 'validation-report.json'), 'utf8'));
    expect(unacknowledgedFindings(report).map((f) => f.rule)).toEqual(
      expect.arrayContaining([expect.stringMatching(/IAM5/)]),
    );
  });
});

describe('Container Insights setting', () => {
  /** The stack built (not synthesized) from the repository's stack-config with one observability setting. */
  function stackWith(containerInsights: boolean): ObservabilityStack {
    const dir = mkdtempSync(join(outdir, 'insights-'));
    cpSync(stackConfigDir(), dir, { recursive: true });
    const toilless = parseYaml(readFileSync(join(dir, 'toilless.yaml'), 'utf8'));
    toilless.observability = { ...toilless.observability, containerInsights };
    writeFileSync(join(dir, 'toilless.yaml'), stringifyYaml(toilless));
    const app = new App({ outdir: dir, context: { ...cdkContext(), 'aws:cdk:bundling-stacks': [] } });
    return new ObservabilityStack(app, 'Toilless-Observability', { stackConfigDir: dir });
  }

  function clusterSettings(built: ObservabilityStack): unknown {
    const cluster = built.cluster.node.defaultChild as ecs.CfnCluster;
    return built.resolve(cluster.clusterSettings);
  }

  it('turns Container Insights on when toilless.yaml asks, with nothing acknowledged', () => {
    // Act
    const built = stackWith(true);

    // Assess
    expect(clusterSettings(built)).toEqual([{ name: 'containerInsights', value: 'enabled' }]);
    expect(acknowledgedRules(built.cluster)).toEqual({});
  });

  it('keeps it off when toilless.yaml says false, acknowledging AwsSolutions-ECS4 with the reason', () => {
    // Act
    const built = stackWith(false);

    // Assess
    expect(clusterSettings(built)).toEqual([{ name: 'containerInsights', value: 'disabled' }]);
    expect(acknowledgedRules(built.cluster)).toEqual({
      ECS4: expect.stringMatching(/Container Insights is off .*free per-service CPU and memory metrics/),
    });
  });
});

/** The AWS Solutions rules acknowledged on a construct itself, by rule (ECS4), with their reasons. */
function acknowledgedRules(construct: IConstruct): Record<string, string> {
  const rules: Record<string, string> = {};
  for (const entry of construct.node.metadata) {
    if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
    for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
      const rule = /AwsSolutions\W+(\w+)$/.exec(id)?.[1];
      if (rule) rules[rule] = reason;
    }
  }
  return rules;
}
