import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { describe, expect, it } from 'vitest';
import { OtelCollector } from '../../../lib/lgtm/otel-collector.js';
import {
  containerNamed,
  containersOf,
  itMatchesTheSnapshot,
  resourcesOf,
  useLgtmTestStacks,
} from './lgtm-fixture.js';

const stacks = useLgtmTestStacks();

function collectorStack(capacity: { minCapacity?: number; maxCapacity?: number } = {}) {
  const {
    built: collector,
    fixture,
    base,
  } = stacks.build(
    (stack, base) =>
      new OtelCollector(stack, 'Collector', { ...base, image: base.versions['otel-collector'], ...capacity }),
  );
  return { collector, fixture, base };
}

describe('OpenTelemetry Collector', () => {
  itMatchesTheSnapshot(() => collectorStack());

  it('takes OTLP over gRPC and HTTP from applications in the VPC, each port a Service Connect alias', () => {
    // Prepare
    const { collector, fixture } = collectorStack();

    // Act
    collector.allowApplications(ec2.Peer.ipv4('10.0.0.0/16'));

    // Assess
    const resources = Object.values(resourcesOf(fixture.stack));
    const group = resources.find(
      (r) => r.Type === 'AWS::EC2::SecurityGroup' && r.Properties.GroupDescription.includes('Collector'),
    );
    expect(
      group.Properties.SecurityGroupIngress.map((rule: { FromPort: number; CidrIp: string }) => [
        rule.FromPort,
        rule.CidrIp,
      ]),
    ).toEqual([
      [4317, '10.0.0.0/16'],
      [4318, '10.0.0.0/16'],
    ]);
    const service = resources.find((r) => r.Type === 'AWS::ECS::Service');
    expect(
      service.Properties.ServiceConnectConfiguration.Services.map(
        (s: { ClientAliases: unknown }) => s.ClientAliases,
      ),
    ).toEqual([
      [{ DnsName: 'otel-collector', Port: 4317 }],
      [{ DnsName: 'otel-collector', Port: 4318 }],
      [{ DnsName: 'otel-collector', Port: 8888 }],
    ]);
    expect(containerNamed(containersOf(fixture.stack, 'Collector'), 'Main').Command).toEqual([
      '--config=/etc/otelcol-contrib/config.yaml',
    ]);
    expect(collector.otlpGrpcEndpoint).toBe('http://otel-collector.toilless.local:4317');
  });

  it('scales between its capacities on CPU', () => {
    // Prepare and Act
    const { fixture } = collectorStack({ minCapacity: 2, maxCapacity: 4 });

    // Assess
    const resources = Object.values(resourcesOf(fixture.stack));
    expect(
      resources.find((r) => r.Type === 'AWS::ApplicationAutoScaling::ScalableTarget').Properties,
    ).toMatchObject({
      MinCapacity: 2,
      MaxCapacity: 4,
    });
    expect(resources.find((r) => r.Type === 'AWS::ECS::Service').Properties.DesiredCount).toBe(2);
  });

  it('refuses a maximum below the minimum', () => {
    // Act and Assess
    expect(() => collectorStack({ minCapacity: 3, maxCapacity: 2 })).toThrow(
      /capacity 3-2 is not a range: minCapacity must be at least 1 and at most maxCapacity/,
    );
  });
});
