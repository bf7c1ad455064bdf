import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { stackConfigDir } from '../../functions/shared/stack-config.js';
import type { LgtmService } from '../../lib/lgtm/lgtm-service.js';
import { ObservabilityStack } from '../../lib/observability-stack.js';
import { cdkContext, unacknowledgedFindings } from './app-fixture.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is walked structurally
type Json = any;

interface Synthesized {
  readonly stack: ObservabilityStack;
  readonly template: { Resources: Record<string, Json>; Outputs: Record<string, Json> };
  readonly findings: readonly string[];
  readonly error?: string;
}

let outdir: string;
let cdkValidation: string | undefined;
let enabled: Synthesized;
let disabled: Synthesized;

/** The stack from a copy of the repository's stack-config with `sampleApp` set, with the AWS Solutions checks. */
function synthesize(sampleApp: Record<string, unknown>): Synthesized {
  const configDir = mkdtempSync(join(outdir, 'stack-config-'));
  cpSync(stackConfigDir(), configDir, { recursive: true });
  const toilless = parseYaml(readFileSync(join(configDir, 'toilless.yaml'), 'utf8'));
  toilless.observability = { ...toilless.observability, sampleApp };
  writeFileSync(join(configDir, 'toilless.yaml'), stringifyYaml(toilless));
  const dir = mkdtempSync(join(outdir, 'cdk-out-'));
  const app = new App({ outdir: dir, context: { ...cdkContext(), 'aws:cdk:bundling-stacks': [] } });
  const stack = new ObservabilityStack(app, 'Toilless-Observability', { stackConfigDir: configDir });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  let error: string | undefined;
  try {
    app.synth();
  } catch (caught) {
    error = (caught as Error).message;
  }
  const report = JSON.parse(readFileSync(join(dir, 'validation-report.json'), 'utf8'));
  return {
    stack,
    template: JSON.parse(readFileSync(join(dir, stack.templateFile), 'utf8')),
    findings: unacknowledgedFindings(report).map((finding) => finding.rule),
    ...(error === undefined ? {} : { error }),
  };
}

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'toilless-sample-app-stack-'));
  cdkValidation = process.env.CDK_VALIDATION;
  process.env.CDK_VALIDATION = 'false';
  enabled = synthesize({ enabled: true });
  disabled = synthesize({ enabled: false });
});

afterAll(() => {
  if (cdkValidation === undefined) delete process.env.CDK_VALIDATION;
  else process.env.CDK_VALIDATION = cdkValidation;
  rmSync(outdir, { recursive: true, force: true });
});

function ofType(synthesized: Synthesized, type: string): Json[] {
  return Object.values(synthesized.template.Resources).filter((resource) => resource.Type === type);
}

function groupIdOf(synthesized: Synthesized, group: { node: { defaultChild?: unknown } }): Json {
  return { 'Fn::GetAtt': [synthesized.stack.getLogicalId(group.node.defaultChild as never), 'GroupId'] };
}

/** Every service's CONFIG_SHA256, by its name in the namespace. */
function configHashes(synthesized: Synthesized): Record<string, string> {
  const { stack } = synthesized;
  const services: LgtmService[] = [
    stack.loki.service,
    stack.tempo.service,
    stack.prometheus.service,
    stack.alertmanager.service,
    stack.grafana.service,
    stack.collector.service,
    stack.blackbox.service,
  ];
  return Object.fromEntries(services.map((service) => [service.name, service.configHash]));
}

describe('Observability stack with the sample app', () => {
  it('passes the AWS Solutions checks with nothing left unacknowledged, enabled or not', () => {
    // Assess
    expect(enabled.error).toBeUndefined();
    expect(enabled.findings).toEqual([]);
    expect(disabled.error).toBeUndefined();
    expect(disabled.findings).toEqual([]);
  });

  it('runs the sample app as sample-app in the namespace only when toilless.yaml enables it', () => {
    // Assess
    const names = (synthesized: Synthesized) =>
      ofType(synthesized, 'AWS::ServiceDiscovery::Service').map((service) => service.Properties.Name);
    expect(names(enabled)).toContain('sample-app');
    expect(names(disabled)).not.toContain('sample-app');
    expect(ofType(enabled, 'AWS::ECS::Service')).toHaveLength(
      ofType(disabled, 'AWS::ECS::Service').length + 1,
    );
    expect(disabled.stack.sampleApp).toBeUndefined();
    expect(disabled.stack.gamedayClientSecurityGroup).toBeUndefined();
    expect(Object.keys(disabled.template.Outputs)).not.toContain('SampleAppUrl');
  });

  it('sends its traces and logs to the collector, and gives its URL inside the VPC as an output', () => {
    // Assess
    const outputs = enabled.template.Outputs;
    expect(outputs.SampleAppUrl.Value).toBe('http://sample-app.toilless.local:8000');
    expect(outputs.AlertmanagerUrl.Value).toBe('http://alertmanager.toilless.local:9093');
    expect(outputs.GamedayClientSecurityGroupId.Value).toEqual(
      groupIdOf(enabled, enabled.stack.gamedayClientSecurityGroup!),
    );
    const task = ofType(enabled, 'AWS::ECS::TaskDefinition').find((candidate) =>
      JSON.stringify(candidate).includes('"OTEL_SERVICE_NAME"'),
    );
    const environment = task.Properties.ContainerDefinitions[0].Environment;
    expect(environment).toContainEqual({
      Name: 'OTEL_EXPORTER_OTLP_ENDPOINT',
      Value: 'http://otel-collector.toilless.local:4318',
    });
  });

  it('is scraped by the sample-app job and probed on /healthz when enabled, and not listed at all when disabled', () => {
    // Prepare
    const scrapeJobs = (synthesized: Synthesized) =>
      (
        parseYaml(synthesized.stack.prometheus.deliveredConfig) as {
          scrape_configs: Array<{
            job_name: string;
            static_configs?: Array<{ targets: string[]; labels?: Json }>;
          }>;
        }
      ).scrape_configs;

    // Assess
    const job = scrapeJobs(enabled).find((candidate) => candidate.job_name === 'sample-app');
    // At its Cloud Map name: it has no Service Connect name, and tasks started before it resolve this one.
    expect(job?.static_configs).toEqual([
      { targets: ['sample-app.toilless.local:8000'], labels: { service: 'sample-app' } },
    ]);
    const probes = scrapeJobs(enabled).find((candidate) => candidate.job_name === 'probe-http');
    expect(probes?.static_configs).toContainEqual({
      targets: ['http://sample-app.toilless.local:8000/healthz'],
      labels: { service: 'sample-app' },
    });
    expect(scrapeJobs(disabled).map((candidate) => candidate.job_name)).not.toContain('sample-app');
    const disabledTargets = scrapeJobs(disabled).flatMap((candidate) =>
      (candidate.static_configs ?? []).flatMap((config) => config.targets),
    );
    expect(disabledTargets.filter((target) => target.includes('sample-app'))).toEqual([]);
    expect(disabledTargets).toContain('http://grafana.toilless.local:3000/api/health');
  });

  it("rolls Prometheus alone when the switch changes: no other service's config hash moves", () => {
    // Act
    const on = configHashes(enabled);
    const off = configHashes(disabled);

    // Assess
    const changed = Object.keys(on).filter((name) => on[name] !== off[name]);
    expect(changed).toEqual(['prometheus']);
  });

  it('lets only Prometheus, the blackbox exporter and game-day clients reach the sample app, on 8000', () => {
    // Prepare
    const { stack } = enabled;
    const sampleAppGroup = groupIdOf(enabled, stack.sampleApp!.securityGroup);
    const into = ofType(enabled, 'AWS::EC2::SecurityGroupIngress').filter(
      (rule) => JSON.stringify(rule.Properties.GroupId) === JSON.stringify(sampleAppGroup),
    );

    // Assess
    const sources = [
      groupIdOf(enabled, stack.prometheus.service.service.connections.securityGroups[0]!),
      groupIdOf(enabled, stack.blackbox.service.service.connections.securityGroups[0]!),
      groupIdOf(enabled, stack.gamedayClientSecurityGroup!),
    ];
    expect(into.map((rule) => rule.Properties.SourceSecurityGroupId)).toEqual(sources);
    for (const rule of into) {
      expect(rule.Properties).toMatchObject({ IpProtocol: 'tcp', FromPort: 8000, ToPort: 8000 });
      expect(rule.Properties.CidrIp).toBeUndefined();
    }
    const sampleAppGroupResource = enabled.template.Resources[sampleAppGroup['Fn::GetAtt'][0]];
    expect(sampleAppGroupResource.Properties.SecurityGroupIngress).toBeUndefined();
  });

  it('lets game-day clients reach Prometheus and Alertmanager on their ports, and nothing else of the stack', () => {
    // Prepare
    const { stack } = enabled;
    const clients = JSON.stringify(groupIdOf(enabled, stack.gamedayClientSecurityGroup!));
    const fromClients = ofType(enabled, 'AWS::EC2::SecurityGroupIngress').filter(
      (rule) => JSON.stringify(rule.Properties.SourceSecurityGroupId) === clients,
    );
    const groupOf = (service: LgtmService) =>
      JSON.stringify(groupIdOf(enabled, service.service.connections.securityGroups[0]!));

    // Assess
    const reached = fromClients
      .map((rule) => `${JSON.stringify(rule.Properties.GroupId)} ${rule.Properties.FromPort}`)
      .sort();
    expect(reached).toEqual(
      [
        `${JSON.stringify(groupIdOf(enabled, stack.sampleApp!.securityGroup))} 8000`,
        `${groupOf(stack.prometheus.service)} 9090`,
        `${groupOf(stack.alertmanager.service)} 9093`,
      ].sort(),
    );
    for (const rule of fromClients) expect(rule.Properties.ToPort).toBe(rule.Properties.FromPort);
  });
});
