import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { synthesizedTemplates } from '../../../bin/commands/cost.js';
import {
  estimateMonthlyCost,
  formatEstimate,
  parsePriceTable,
  type Template,
} from '../../../bin/commands/cost-estimate.js';
import { stackConfigDir } from '../../../functions/shared/stack-config.js';

const TABLE = parsePriceTable(readFileSync(join(stackConfigDir(), 'prices.yaml'), 'utf8'));

/** A small hand-made footprint whose figures are worked out below by hand. */
const FOOTPRINT: Record<string, Template> = {
  Lgtm: {
    Resources: {
      Big: { Type: 'AWS::ECS::TaskDefinition', Properties: { Cpu: '512', Memory: '1024' } },
      Small: { Type: 'AWS::ECS::TaskDefinition', Properties: { Cpu: '256', Memory: '512' } },
      Loki: { Type: 'AWS::ECS::Service', Properties: { TaskDefinition: { Ref: 'Big' }, DesiredCount: 1 } },
      Collector: {
        Type: 'AWS::ECS::Service',
        Properties: { TaskDefinition: { Ref: 'Small' }, DesiredCount: 2 },
      },
      Cluster: {
        Type: 'AWS::ECS::Cluster',
        Properties: { ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }] },
      },
      Nat: { Type: 'AWS::EC2::NatGateway' },
      Alb: { Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer' },
      Files: { Type: 'AWS::EFS::FileSystem' },
      S3Gateway: { Type: 'AWS::EC2::VPCEndpoint', Properties: { VpcEndpointType: 'Gateway' } },
      LokiBucket: {
        Type: 'AWS::S3::Bucket',
        Properties: { LifecycleConfiguration: { Rules: [{ Id: 'Abort' }, { ExpirationInDays: 37 }] } },
      },
      Token: { Type: 'AWS::SecretsManager::Secret' },
    },
    Outputs: { LokiBucket: { Value: { Ref: 'LokiBucket' } } },
  },
  Workers: {
    Resources: {
      Password: { Type: 'AWS::SecretsManager::Secret' },
      Fn: { Type: 'AWS::Lambda::Function', Properties: { MemorySize: 1024 } },
      Bus: { Type: 'AWS::Events::EventBus' },
      Webhooks: { Type: 'AWS::ApiGatewayV2::Api' },
    },
  },
};

/** The templates with every ECS cluster's Container Insights setting replaced, as toilless.yaml would set it. */
function withContainerInsights(
  templates: Record<string, Template>,
  value: 'enabled' | 'disabled',
): Record<string, Template> {
  return Object.fromEntries(
    Object.entries(templates).map(([name, template]) => [
      name,
      {
        ...template,
        Resources: Object.fromEntries(
          Object.entries(template.Resources ?? {}).map(([id, resource]) => [
            id,
            resource.Type === 'AWS::ECS::Cluster'
              ? {
                  ...resource,
                  Properties: {
                    ...resource.Properties,
                    ClusterSettings: [{ Name: 'containerInsights', Value: value }],
                  },
                }
              : resource,
          ]),
        ),
      },
    ]),
  );
}

describe('toilless cost', () => {
  it('itemises a footprint at the list prices, as worked out by hand', () => {
    // Act
    const estimate = estimateMonthlyCost(FOOTPRINT, TABLE, { logsGbPerDay: 5, tracesGbPerDay: 1 });

    // Assess: by hand, with 730 hours a month and the prices of prices.yaml.
    const monthly = Object.fromEntries(estimate.items.map((item) => [item.item, item.monthly]));
    expect(monthly).toEqual({
      // 0.5 + 2 × 0.25 = 1 vCPU; 1 × 730 × 0.03238 = 23.6374
      'Fargate ARM64 vCPU': 23.64,
      // 1 + 2 × 0.5 = 2 GB; 2 × 730 × 0.00356 = 5.1976
      'Fargate ARM64 memory': 5.2,
      // 730 × 0.045 = 32.85, plus 10 GB × 0.045 = 0.45
      'NAT gateway': 33.3,
      // 730 × (0.0225 + 0.008) = 22.265
      'Load balancer': 22.27,
      // 5 GB × 0.30
      EFS: 1.5,
      // 5 GB/day × 0.4 × 37 days = 74 GB × 0.023 = 1.702 (no Tempo bucket here, so no Tempo line)
      'S3 Loki storage': 1.7,
      // 5 GB × 0.50
      'CloudWatch Logs': 2.5,
      // 1 cluster × 12 + 2 services × 15 + 2 task families × 10 = 62 metrics × 0.30 = 18.60,
      // plus 3 tasks × 0.09 GB × 0.50 = 0.135: 18.735
      'Container Insights': 18.74,
      // 2 × 0.40
      'Secrets Manager': 0.8,
      // 20000 × 2 s × 1 GB × 0.0000133334 = 0.533336, plus 0.02 × 0.20 = 0.004
      Lambda: 0.54,
      // 1000 requests/day (prices.yaml) × 730 / 24 days = 30,416.7 requests / 1e6 × 1.00 = 0.0304
      'API Gateway': 0.03,
      // 20000 / 1e6 × 1.00
      EventBridge: 0.02,
    });
    // 23.64 + 5.2 + 33.3 + 22.27 + 1.5 + 1.7 + 2.5 + 18.74 + 0.8 + 0.54 + 0.03 + 0.02
    expect(estimate.total).toBe(110.24);
    expect(formatEstimate(estimate, { logsGbPerDay: 5, tracesGbPerDay: 1 })).toContain('total');
  });

  it('scales storage with the ingest rate and nothing else', () => {
    // Act
    const modest = estimateMonthlyCost(FOOTPRINT, TABLE, { logsGbPerDay: 5, tracesGbPerDay: 1 });
    const heavy = estimateMonthlyCost(FOOTPRINT, TABLE, { logsGbPerDay: 50, tracesGbPerDay: 1 });

    // Assess: 50 × 0.4 × 37 = 740 GB × 0.023 = 17.02
    const loki = (estimate: typeof modest) =>
      estimate.items.find((item) => item.item === 'S3 Loki storage')?.monthly;
    expect(loki(heavy)).toBe(17.02);
    expect(round(heavy.total - modest.total)).toBe(round(17.02 - 1.7));
  });

  it('counts Container Insights only on a cluster that turns it on', () => {
    // Act
    const estimate = estimateMonthlyCost(withContainerInsights(FOOTPRINT, 'disabled'), TABLE, {
      logsGbPerDay: 5,
      tracesGbPerDay: 1,
    });

    // Assess: the items above but Container Insights:
    // 23.64 + 5.2 + 33.3 + 22.27 + 1.5 + 1.7 + 2.5 + 0.8 + 0.54 + 0.03 + 0.02
    expect(estimate.items.map((item) => item.item)).not.toContain('Container Insights');
    expect(estimate.total).toBe(91.5);
  });

  it('prices API Gateway from the webhook request rate given', () => {
    // Act
    const estimate = estimateMonthlyCost(FOOTPRINT, TABLE, {
      logsGbPerDay: 5,
      tracesGbPerDay: 1,
      webhookRequestsPerDay: 50_000,
    });

    // Assess: 50,000 × 730 / 24 = 1,520,833 requests × $1.00 per million = 1.5208
    expect(estimate.items.find((item) => item.item === 'API Gateway')?.monthly).toBe(1.52);
  });

  it('refuses a price table with a missing price, naming it', () => {
    // Act and Assess
    expect(() =>
      parsePriceTable('region: us-east-1\ntakenOn: 2026-12-01\nprices: {}\nassumptions: {}\n'),
    ).toThrow(/fargateArm64VcpuHour/);
  });
});

describe('toilless cost of the default footprint', () => {
  let templates: Record<string, Template>;
  const saved = process.env.CDK_VALIDATION;

  beforeAll(async () => {
    process.env.CDK_VALIDATION = 'false';
    templates = await synthesizedTemplates(stackConfigDir());
  }, 120_000);

  afterAll(() => {
    if (saved === undefined) delete process.env.CDK_VALIDATION;
    else process.env.CDK_VALIDATION = saved;
  });

  it('estimates the default footprint at 5 GB of logs and 1 GB of traces a day, from the synthesized stacks', () => {
    // Act
    const estimate = estimateMonthlyCost(templates, TABLE, { logsGbPerDay: 5, tracesGbPerDay: 1 });

    // Assess: seven ARM64 tasks, 3 × (0.5 vCPU, 1 GB) + 4 × (0.25 vCPU, 0.5 GB) = 2.5 vCPU, 5 GB.
    const monthly = Object.fromEntries(estimate.items.map((item) => [item.item, item.monthly]));
    expect(monthly).toEqual({
      'Fargate ARM64 vCPU': 59.09, // 2.5 × 730 × 0.03238 = 59.0935
      'Fargate ARM64 memory': 12.99, // 5 × 730 × 0.00356 = 12.994
      'NAT gateway': 33.3, // one NAT gateway: 730 × 0.045 + 10 GB × 0.045
      EFS: 1.5, // 5 GB × 0.30
      'S3 Loki storage': 1.7, // loki.yaml keeps 30 days; the bucket expires at 37: 74 GB × 0.023
      'S3 Tempo storage': 0.24, // 1 × 0.5 × 21 days = 10.5 GB × 0.023 = 0.2415
      'CloudWatch Logs': 2.5, // 5 GB × 0.50
      'Secrets Manager': 4.4, // 11 secrets of both stacks × 0.40
      Lambda: 0.41, // 20000 × 2 s × 0.77 GB × 0.0000133334 = 0.4107, plus 0.02 × 0.20 = 0.004
      'API Gateway': 0.03, // 1000 webhook requests a day
      EventBridge: 0.02, // 20000 / 1e6 × 1.00
    });
    // No load balancer (Grafana stays inside the VPC) and no Container Insights (toilless.yaml
    // observability.containerInsights is off by default):
    // 59.09 + 12.99 + 33.3 + 1.5 + 1.7 + 0.24 + 2.5 + 4.4 + 0.41 + 0.03 + 0.02, within the $150 target
    // (README, "Monthly cost").
    expect(estimate.total).toBe(116.18);
    expect(estimate.total).toBeLessThanOrEqual(150);
  });

  it('adds Container Insights to the default footprint when its cluster turns it on', () => {
    // Act
    const estimate = estimateMonthlyCost(withContainerInsights(templates, 'enabled'), TABLE, {
      logsGbPerDay: 5,
      tracesGbPerDay: 1,
    });

    // Assess: 12 + 7 services × 15 + 7 task families × 10 = 187 metrics × 0.30 = 56.10, plus 7 tasks ×
    // 0.09 GB × 0.50 = 0.315: 56.415. The total, 116.18 + 56.42, is over the $150 target.
    const monthly = Object.fromEntries(estimate.items.map((item) => [item.item, item.monthly]));
    expect(monthly['Container Insights']).toBe(56.42);
    expect(estimate.total).toBe(172.6);
  });
});

describe('toilless cost with the sample app', () => {
  let scratch: string;
  let templates: Record<string, Template>;
  const saved = process.env.CDK_VALIDATION;

  beforeAll(async () => {
    // Prepare: the repository's stack-config with observability.sampleApp enabled at its default size.
    process.env.CDK_VALIDATION = 'false';
    scratch = mkdtempSync(join(tmpdir(), 'toilless-cost-sample-app-'));
    cpSync(stackConfigDir(), scratch, { recursive: true });
    const file = join(scratch, 'toilless.yaml');
    const toilless = parseYaml(readFileSync(file, 'utf8'));
    toilless.observability = { ...toilless.observability, sampleApp: { enabled: true } };
    writeFileSync(file, stringifyYaml(toilless));
    templates = await synthesizedTemplates(scratch);
  }, 120_000);

  afterAll(() => {
    if (saved === undefined) delete process.env.CDK_VALIDATION;
    else process.env.CDK_VALIDATION = saved;
    rmSync(scratch, { recursive: true, force: true });
  });

  it('counts its task from the synthesized template: 0.25 vCPU and 0.5 GB more', () => {
    // Act
    const estimate = estimateMonthlyCost(templates, TABLE, { logsGbPerDay: 5, tracesGbPerDay: 1 });

    // Assess: eight tasks, the default seven and the sample app's (0.25 vCPU, 0.5 GB).
    const monthly = Object.fromEntries(estimate.items.map((item) => [item.item, item.monthly]));
    expect(monthly['Fargate ARM64 vCPU']).toBe(65); // 2.75 × 730 × 0.03238 = 65.0029
    expect(monthly['Fargate ARM64 memory']).toBe(14.29); // 5.5 × 730 × 0.00356 = 14.2934
  });
});

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
