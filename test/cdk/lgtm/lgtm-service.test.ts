import { describe, expect, it } from 'vitest';
import { LgtmService, type LgtmServiceProps } from '../../../lib/lgtm/lgtm-service.js';
import {
  containerNamed,
  containersOf,
  environmentOf,
  resourcesOf,
  useLgtmTestStacks,
} from './lgtm-fixture.js';

const stacks = useLgtmTestStacks();

function serviceStack(overrides: Partial<LgtmServiceProps> = {}) {
  const {
    built: service,
    fixture,
    base,
  } = stacks.build(
    (stack, base) =>
      new LgtmService(stack, 'Svc', {
        cluster: base.cluster,
        namespace: base.namespace,
        configs: base.configs,
        image: base.versions.loki,
        name: 'loki',
        configFolder: 'loki',
        configMountPath: '/etc/loki',
        ports: [{ port: 3100 }],
        ...overrides,
      }),
  );
  return { service, fixture, base };
}

describe('LGTM service', () => {
  it('starts the main container only after the init container synced its folder, mounted read-only', () => {
    // Prepare and Act
    const { service, fixture, base } = serviceStack();

    // Assess
    const containers = containersOf(fixture.stack, 'Svc');
    const sync = containerNamed(containers, 'ConfigSync');
    const main = containerNamed(containers, 'Main');
    expect(sync).toMatchObject({
      Essential: false,
      // versions.yaml names the init container's image with the others.
      Image: `${base.versions['config-sync'].image}:${base.versions['config-sync'].tag}`,
    });
    expect(sync.Command[0]).toContain(
      'aws s3 sync --delete --no-progress "s3://$CONFIG_BUCKET/$CONFIG_PREFIX/" /config/',
    );
    expect(environmentOf(sync).CONFIG_PREFIX).toBe('loki');
    expect(main.DependsOn).toEqual([{ ContainerName: 'ConfigSync', Condition: 'SUCCESS' }]);
    expect(main.MountPoints).toEqual([
      { ContainerPath: '/etc/loki', ReadOnly: true, SourceVolume: 'config' },
    ]);
    expect(environmentOf(main).CONFIG_SHA256).toBe(service.configHash);
    expect(service.configHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('runs on ARM64 in private subnets, without a public address, rolling back a failed deployment', () => {
    // Prepare and Act
    const { fixture } = serviceStack();

    // Assess
    const resources = Object.values(resourcesOf(fixture.stack));
    const task = resources.find((r) => r.Type === 'AWS::ECS::TaskDefinition');
    expect(task.Properties.RuntimePlatform).toEqual({
      CpuArchitecture: 'ARM64',
      OperatingSystemFamily: 'LINUX',
    });
    const service = resources.find((r) => r.Type === 'AWS::ECS::Service');
    expect(service.Properties.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp).toBe('DISABLED');
    expect(JSON.stringify(service.Properties.NetworkConfiguration.AwsvpcConfiguration.Subnets)).toMatch(
      /PrivateSubnet/,
    );
    expect(service.Properties.DeploymentConfiguration.DeploymentCircuitBreaker).toEqual({
      Enable: true,
      Rollback: true,
    });
  });

  it('is <name>.<namespace> in Cloud Map and <name> through Service Connect', () => {
    // Prepare and Act
    const { service, fixture } = serviceStack();

    // Assess
    const resources = Object.values(resourcesOf(fixture.stack));
    const discovery = resources.find((r) => r.Type === 'AWS::ServiceDiscovery::Service');
    expect(discovery.Properties).toMatchObject({
      Name: 'loki',
      DnsConfig: { DnsRecords: [{ Type: 'A', TTL: 10 }] },
    });
    const ecsService = resources.find((r) => r.Type === 'AWS::ECS::Service');
    expect(ecsService.Properties.ServiceConnectConfiguration.Services).toEqual([
      { PortName: 'loki-3100', ClientAliases: [{ DnsName: 'loki', Port: 3100 }] },
    ]);
    expect(service.url()).toBe('http://loki.toilless.local:3100');
  });

  it.each([
    [{ name: 'Loki_1' }, /the name must be a lower-case DNS label/],
    [{ ports: [] }, /give at least one port/],
    [{ ports: [{ port: 70000 }] }, /port 70000 is not a TCP port/],
    [{ cpu: 300 }, /cpu 300 is not a Fargate size: use 256, 512, 1024, 2048 or 4096/],
    [
      { cpu: 1024, memoryLimitMiB: 1024 },
      /1024 MiB does not fit 1024 CPU units on Fargate: use 2048 to 8192 MiB/,
    ],
    [
      { singleWriter: true, desiredCount: 2 },
      /singleWriter keeps its state for one task: desiredCount must be 1 \(it is 2\)/,
    ],
    [
      { secretFiles: { '/etc/passwd': undefined as never } },
      /secret file "\/etc\/passwd" must be a relative path/,
    ],
  ])('refuses invalid props %#, saying what to change', (overrides, message) => {
    // Act and Assess
    expect(() => serviceStack(overrides as Partial<LgtmServiceProps>)).toThrow(message);
  });
});
