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
    },
  },
};

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
      // 2 × 0.40
      'Secrets Manager': 0.8,
      // 20000 × 2 s × 1 GB × 0.0000133334 = 0.533336, plus 0.02 × 0.20 = 0.004
      Lambda: 0.54,
      // 20000 / 1e6 × 1.00
      EventBridge: 0.02,
    });
    // 23.64 + 5.2 + 33.3 + 22.27 + 1.5 + 1.7 + 2.5 + 0.8 + 0.54 + 0.02
    expect(estimate.total).toBe(91.47);
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

  beforeAll(() => {
    process.env.CDK_VALIDATION = 'false';
    templates = synthesizedTemplates(stackConfigDir());
  }, 120_000);

  afterAll(() => {
    if (saved === undefined) delete process.env.CDK_VALIDATION;
    else process.env.CDK_VALIDATION = saved;
  });

  it('stays within $150 a month at 5 GB of logs and 1 GB of traces a day, from the synthesized stacks', () => {
    // Act
    const estimate = estimateMonthlyCost(templates, TABLE, { logsGbPerDay: 5, tracesGbPerDay: 1 });

    // Assess: seven ARM64 tasks, 3 × (0.5 vCPU, 1 GB) + 4 × (0.25 vCPU, 0.5 GB) = 2.5 vCPU, 5 GB.
    const monthly = Object.fromEntries(estimate.items.map((item) => [item.item, item.monthly]));
    expect(monthly['Fargate ARM64 vCPU']).toBe(59.09); // 2.5 × 730 × 0.03238 = 59.0935
    expect(monthly['Fargate ARM64 memory']).toBe(12.99); // 5 × 730 × 0.00356 = 12.994
    expect(monthly['NAT gateway']).toBe(33.3); // one NAT gateway
    expect(monthly['S3 Loki storage']).toBe(1.7); // loki.yaml keeps 30 days; the bucket expires at 37
    expect(monthly['S3 Tempo storage']).toBe(0.24); // 1 × 0.5 × 21 days = 10.5 GB × 0.023 = 0.2415
    expect(monthly).not.toHaveProperty('Load balancer'); // Grafana stays inside the VPC by default
    expect(estimate.total).toBeLessThanOrEqual(150);
  });
});

describe('toilless cost with the sample app', () => {
  let scratch: string;
  let templates: Record<string, Template>;
  const saved = process.env.CDK_VALIDATION;

  beforeAll(() => {
    // Prepare: the repository's stack-config with observability.sampleApp enabled at its default size.
    process.env.CDK_VALIDATION = 'false';
    scratch = mkdtempSync(join(tmpdir(), 'toilless-cost-sample-app-'));
    cpSync(stackConfigDir(), scratch, { recursive: true });
    const file = join(scratch, 'toilless.yaml');
    const toilless = parseYaml(readFileSync(file, 'utf8'));
    toilless.observability = { ...toilless.observability, sampleApp: { enabled: true } };
    writeFileSync(file, stringifyYaml(toilless));
    templates = synthesizedTemplates(scratch);
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
