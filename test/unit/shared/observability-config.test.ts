import { describe, expect, it } from 'vitest';
import { parseToillessConfig } from '../../../functions/shared/stack-config.js';
import { logRetentionFor } from '../../../lib/observability-stack.js';

describe('toilless.yaml observability', () => {
  it('defaults to a new VPC, the toilless.local namespace, the small profile, 15 days of metrics, no Container Insights and Grafana inside the VPC', () => {
    // Act
    const { observability } = parseToillessConfig('{}');

    // Assess
    expect(observability).toEqual({
      enabled: true,
      namespace: 'toilless.local',
      profile: 'small',
      logRetentionDays: 30,
      containerInsights: false,
      prometheus: { retention: '15d', ec2Nodes: [] },
      grafana: {},
      probes: { http: [], https: [] },
      sampleApp: { enabled: false, cpu: 256, memoryMiB: 512, desiredCount: 1 },
    });
  });

  it('runs the sample app when enabled, with memory twice its CPU units unless given', () => {
    // Act
    const sized = parseToillessConfig('observability:\n  sampleApp: { enabled: true, cpu: 512 }\n');
    const given = parseToillessConfig('observability:\n  sampleApp: { enabled: true, memoryMiB: 1024 }\n');

    // Assess
    expect(sized.observability.sampleApp).toEqual({
      enabled: true,
      cpu: 512,
      memoryMiB: 1024,
      desiredCount: 1,
    });
    expect(given.observability.sampleApp.memoryMiB).toBe(1024);
  });

  it('refuses a sample app size Fargate does not offer, saying what it allows', () => {
    // Act and Assess
    expect(() => parseToillessConfig('observability:\n  sampleApp: { cpu: 300 }\n')).toThrow(
      /observability\.sampleApp\.cpu: expected 256, 512 or 1024 CPU units/,
    );
    expect(() => parseToillessConfig('observability:\n  sampleApp: { memoryMiB: 4096 }\n')).toThrow(
      /observability\.sampleApp\.memoryMiB: expected 512 to 2048 MiB: what Fargate allows with 256 CPU units/,
    );
    expect(() => parseToillessConfig('observability:\n  sampleApp: { desiredCount: 0 }\n')).toThrow(
      /observability\.sampleApp\.desiredCount/,
    );
  });

  it('refuses a domain without a certificate, saying both or neither', () => {
    // Act
    const act = () =>
      parseToillessConfig('observability:\n  grafana:\n    domainName: grafana.example.com\n');

    // Assess
    expect(act).toThrow(/set both domainName and certificateArn for an HTTPS load balancer, or neither/);
  });

  it('refuses a VPC id that is not one, and a retention under an hour', () => {
    // Act and Assess
    expect(() => parseToillessConfig('observability:\n  vpcId: my-vpc\n')).toThrow(
      /expected a VPC id such as vpc-0123456789abcdef0/,
    );
    expect(() => parseToillessConfig('observability:\n  prometheus:\n    retention: 10m\n')).toThrow(
      /expected at least 1h/,
    );
  });

  it('takes EC2 node groups with node_exporter on 9100 by default, and probe targets by protocol', () => {
    // Act
    const { observability } = parseToillessConfig(
      [
        'observability:',
        '  prometheus:',
        '    ec2Nodes: [{ name: web, tags: { role: [web, api] } }]',
        '  probes:',
        '    https: [{ url: "https://shop.example.com/healthz", service: shop }]',
      ].join('\n'),
    );

    // Assess
    expect(observability.prometheus.ec2Nodes).toEqual([
      { name: 'web', tags: { role: ['web', 'api'] }, port: 9100 },
    ]);
    expect(observability.probes.https).toEqual([
      { url: 'https://shop.example.com/healthz', service: 'shop' },
    ]);
  });

  it('refuses an EC2 node group without tags, and a plain-HTTP URL among the HTTPS probes', () => {
    // Act and Assess
    expect(() =>
      parseToillessConfig('observability:\n  prometheus:\n    ec2Nodes: [{ name: web, tags: {} }]\n'),
    ).toThrow(/name at least one tag/);
    expect(() =>
      parseToillessConfig(
        'observability:\n  probes:\n    https: [{ url: "http://shop.example.com", service: shop }]\n',
      ),
    ).toThrow(/expected a URL such as https:\/\/example.com\/healthz/);
  });

  it('takes large as the one value that moves Loki and Tempo to their distributed modes, and refuses other sizes', () => {
    // Act and Assess
    expect(parseToillessConfig('observability:\n  profile: large\n').observability.profile).toBe('large');
    expect(() => parseToillessConfig('observability:\n  profile: medium\n')).toThrow(/profile/);
  });

  it('rounds a log retention up to the next one CloudWatch offers', () => {
    // Act and Assess
    expect(logRetentionFor(30)).toBe(30);
    expect(logRetentionFor(31)).toBe(60);
    expect(logRetentionFor(4)).toBe(5);
  });
});
