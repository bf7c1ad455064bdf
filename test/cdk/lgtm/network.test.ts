import { afterEach, describe, expect, it } from 'vitest';
import { ObservabilityNetwork } from '../../../lib/lgtm/network.js';
import { ConstructTestStack } from '../app-fixture.js';
import { resourcesOf } from './lgtm-fixture.js';

let fixture: ConstructTestStack | undefined;

afterEach(() => {
  fixture?.dispose();
  fixture = undefined;
});

describe('Observability network', () => {
  it('has one NAT gateway, an S3 gateway endpoint and flow logs by default', () => {
    // Prepare
    fixture = new ConstructTestStack();

    // Act
    new ObservabilityNetwork(fixture.stack, 'Network');

    // Assess
    const types = Object.values(resourcesOf(fixture.stack)).map((r) => r.Type);
    expect(types.filter((t) => t === 'AWS::EC2::NatGateway')).toHaveLength(1);
    expect(types.filter((t) => t === 'AWS::EC2::FlowLog')).toHaveLength(1);
    const endpoint = Object.values(resourcesOf(fixture.stack)).find(
      (r) => r.Type === 'AWS::EC2::VPCEndpoint',
    );
    expect(endpoint.Properties.VpcEndpointType).toBe('Gateway');
    expect(JSON.stringify(endpoint.Properties.ServiceName)).toContain('.s3');
    expect(types).not.toContain('AWS::EC2::VPCEndpoint::Interface');
  });

  it('refuses shaping an existing VPC', () => {
    // Prepare
    fixture = new ConstructTestStack();

    // Act
    const act = () =>
      new ObservabilityNetwork(fixture!.stack, 'Network', { vpcId: 'vpc-0123456789abcdef0', natGateways: 2 });

    // Assess
    expect(act).toThrow(
      /maxAzs and natGateways shape a new VPC: leave them out when vpcId names an existing one/,
    );
  });

  it('refuses a new VPC without a NAT gateway', () => {
    // Prepare
    fixture = new ConstructTestStack();

    // Act and Assess
    expect(() => new ObservabilityNetwork(fixture!.stack, 'Network', { natGateways: 0 })).toThrow(
      /natGateways must be at least 1 \(got 0\): the tasks pull their images from Docker Hub/,
    );
  });
});
