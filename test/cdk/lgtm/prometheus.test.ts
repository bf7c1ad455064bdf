import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stackConfigDir } from '../../../functions/shared/stack-config.js';
import { Prometheus } from '../../../lib/lgtm/prometheus.js';
import type { PrometheusAdditions } from '../../../lib/lgtm/prometheus-config.js';
import {
  containerNamed,
  containersOf,
  environmentOf,
  itMatchesTheSnapshot,
  resourcesOf,
  useLgtmTestStacks,
} from './lgtm-fixture.js';
import { withRunningContainer } from './real-binary.js';

const stacks = useLgtmTestStacks();

const ADDITIONS: PrometheusAdditions = {
  probes: { https: [{ target: 'https://shop.example.com/healthz', service: 'shop' }] },
  ec2Nodes: [{ name: 'web', tags: { role: ['web'] }, port: 9100, region: 'eu-west-1' }],
};

function prometheusStack(retention?: string, additions?: PrometheusAdditions) {
  const { built: prometheus, fixture } = stacks.build(
    (stack, base) =>
      new Prometheus(stack, 'Prometheus', {
        ...base,
        image: base.versions.prometheus,
        ...(retention ? { retention } : {}),
        ...(additions ? { additions } : {}),
      }),
  );
  return { prometheus, fixture };
}

/**
 * The shipped prometheus/ folder where the task's config volume would be, with `prometheusYml` as its
 * prometheus.yml when given, checked by promtool; then the real binary started with the task's command.
 */
async function withRunningPrometheus(
  built: ReturnType<typeof prometheusStack>,
  prometheusYml: string | undefined,
  use: (origin: string, config: string) => Promise<void>,
): Promise<void> {
  const command: string[] = containerNamed(containersOf(built.fixture.stack, 'Prometheus'), 'Main').Command;
  const scratch = stacks.scratch('toilless-prometheus-');
  const config = join(scratch, 'etc-prometheus');
  cpSync(join(stackConfigDir(), 'prometheus'), config, { recursive: true });
  if (prometheusYml !== undefined) writeFileSync(join(config, 'prometheus.yml'), prometheusYml);
  mkdirSync(join(scratch, 'data'));
  execFileSync('promtool', ['check', 'config', join(config, 'prometheus.yml')]);
  await withRunningContainer(
    {
      binary: 'prometheus',
      command,
      paths: { '/etc/prometheus': config, '/prometheus': join(scratch, 'data') },
      readyPath: '/-/ready',
    },
    (origin) => use(origin, config),
  );
}

describe('Prometheus', () => {
  itMatchesTheSnapshot(() => prometheusStack());

  it('keeps its TSDB on EFS as the image user, with one task that stops before the next starts', () => {
    // Prepare and Act
    const { fixture } = prometheusStack('30d');

    // Assess
    const resources = Object.values(resourcesOf(fixture.stack));
    const accessPoint = resources.find((r) => r.Type === 'AWS::EFS::AccessPoint');
    expect(accessPoint.Properties).toMatchObject({
      PosixUser: { Uid: '65534', Gid: '65534' },
      RootDirectory: { Path: '/prometheus', CreationInfo: { OwnerUid: '65534', OwnerGid: '65534' } },
    });
    const service = resources.find((r) => r.Type === 'AWS::ECS::Service');
    expect(service.Properties.DesiredCount).toBe(1);
    expect(service.Properties.DeploymentConfiguration).toMatchObject({
      MinimumHealthyPercent: 0,
      MaximumPercent: 100,
    });
    const main = containerNamed(containersOf(fixture.stack, 'Prometheus'), 'Main');
    expect(main.MountPoints).toContainEqual({
      ContainerPath: '/prometheus',
      ReadOnly: false,
      SourceVolume: 'state',
    });
    expect(main.Command).toContain('--storage.tsdb.retention.time=30d');
    expect(main.Command).toContain('--web.enable-remote-write-receiver');
  });

  it('refuses a retention that is not a duration, or under an hour', () => {
    // Act and Assess
    expect(() => prometheusStack('two weeks')).toThrow(/retention "two weeks" is not a duration/);
    expect(() => prometheusStack('30m')).toThrow(/retention "30m" is under an hour/);
  });

  it('may discover EC2 instances when asked, reading instances and zones only', () => {
    // Prepare and Act
    const plain = prometheusStack();
    const plainStatements = JSON.stringify(resourcesOf(plain.fixture.stack));
    const { fixture } = prometheusStack(undefined, ADDITIONS);

    // Assess
    const policies = Object.values(resourcesOf(fixture.stack)).filter((r) => r.Type === 'AWS::IAM::Policy');
    const statements = policies.flatMap((policy) => policy.Properties.PolicyDocument.Statement);
    expect(statements.filter((statement) => statement.Resource === '*')).toEqual([
      { Effect: 'Allow', Action: ['ec2:DescribeAvailabilityZones', 'ec2:DescribeInstances'], Resource: '*' },
    ]);
    expect(plainStatements).not.toContain('ec2:Describe');
  });

  it('rolls when, and only when, the toilless.yaml additions change its prometheus.yml', () => {
    // Prepare
    const hashOf = (additions?: PrometheusAdditions) => {
      const { fixture: built } = prometheusStack(undefined, additions);
      const hash = environmentOf(
        containerNamed(containersOf(built.stack, 'Prometheus'), 'Main'),
      ).CONFIG_SHA256;
      built.dispose();
      return hash;
    };

    // Act
    const shipped = hashOf();
    const none = hashOf({ probes: { http: [] }, ec2Nodes: [] });
    const added = hashOf(ADDITIONS);
    const addedAgain = hashOf(ADDITIONS);
    const other = hashOf({ ...ADDITIONS, ec2Nodes: [] });

    // Assess
    expect(none).toBe(shipped);
    expect(added).not.toBe(shipped);
    expect(addedAgain).toBe(added);
    expect(other).not.toBe(added);
  });

  it('starts for real with the EC2 discovery and probe targets of toilless.yaml in its generated prometheus.yml', async () => {
    // Prepare
    const built = prometheusStack(undefined, ADDITIONS);

    // Act: started with the generated prometheus.yml, and ready
    await withRunningPrometheus(built, built.prometheus.deliveredConfig, async (origin) => {
      // Assess: the added probe target and the EC2 job configured.
      const loaded = (await (await fetch(`${origin}/api/v1/status/config`)).json()) as {
        data: { yaml: string };
      };
      expect(loaded.data.yaml).toContain('https://shop.example.com/healthz');
      expect(loaded.data.yaml).toContain('job_name: node-ec2-web');
      expect(loaded.data.yaml).toContain('region: eu-west-1');
    });
  }, 30_000);

  it('starts for real with the arguments and files the task definition gives it, and becomes ready', async () => {
    // Prepare: the delivered folder and the EFS directory, mapped to local folders.
    const built = prometheusStack();

    // Act: started with the shipped prometheus.yml, and ready
    await withRunningPrometheus(built, undefined, async (origin, config) => {
      // Assess: the shipped file is what is delivered, and its rules are loaded.
      expect(built.prometheus.deliveredConfig).toBe(readFileSync(join(config, 'prometheus.yml'), 'utf8'));
      const rules = (await (await fetch(`${origin}/api/v1/rules`)).json()) as {
        data: { groups: unknown[] };
      };
      expect(rules.data.groups.length).toBeGreaterThan(0);
    });
  }, 30_000);
});
