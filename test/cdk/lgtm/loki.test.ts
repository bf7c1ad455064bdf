import { describe, expect, it } from 'vitest';
import { Loki } from '../../../lib/lgtm/loki.js';
import {
  bucketServiceProps,
  containerNamed,
  containersOf,
  environmentOf,
  itMatchesTheSnapshot,
  resourcesOf,
  useLgtmTestStacks,
} from './lgtm-fixture.js';

const stacks = useLgtmTestStacks();

const lokiStack = (retentionDays = 30) =>
  stacks.build((stack, base) => new Loki(stack, 'Loki', bucketServiceProps(base, 'loki', retentionDays)));

describe('Loki', () => {
  itMatchesTheSnapshot(() => lokiStack());

  it('runs the single binary on S3 with the bucket and region expanded from the environment', () => {
    // Prepare and Act
    const { built: loki, fixture } = lokiStack();

    // Assess
    const main = containerNamed(containersOf(fixture.stack, 'Loki'), 'Main');
    expect(main.Image).toBe('grafana/loki:3.4.6');
    expect(main.Command).toEqual([
      '-config.file=/etc/loki/loki.yaml',
      '-config.expand-env=true',
      '-target=all',
    ]);
    expect(main.PortMappings).toEqual([{ ContainerPort: 3100, Name: 'loki-3100', Protocol: 'tcp' }]);
    const environment = environmentOf(main);
    expect(environment.LOKI_S3_BUCKET).toEqual({
      Ref: fixture.stack.getLogicalId(loki.storage.bucket.node.defaultChild as never),
    });
    expect(environment.AWS_REGION).toEqual({ Ref: 'AWS::Region' });
    // LOKI_STORAGE unset: loki.yaml falls back to s3, never to a local disk.
    expect(environment).not.toHaveProperty('LOKI_STORAGE');
    expect(loki.url).toBe('http://loki.toilless.local:3100');
  });

  it('grants exactly list, get, put and delete on its own bucket', () => {
    // Prepare and Act
    const { built: loki, fixture } = lokiStack();

    // Assess
    const bucketId = fixture.stack.getLogicalId(loki.storage.bucket.node.defaultChild as never);
    const taskRoleId = fixture.stack.getLogicalId(
      loki.service.taskDefinition.taskRole.node.defaultChild as never,
    );
    const policy = Object.values(resourcesOf(fixture.stack)).find(
      (r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(taskRoleId),
    );
    const onBucket = policy.Properties.PolicyDocument.Statement.filter((s: { Resource: unknown }) =>
      JSON.stringify(s.Resource).includes(bucketId),
    );
    expect(onBucket).toEqual([
      { Effect: 'Allow', Action: 's3:ListBucket', Resource: { 'Fn::GetAtt': [bucketId, 'Arn'] } },
      {
        Effect: 'Allow',
        Action: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'],
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/*']] },
      },
    ]);
  });

  it('keeps the bucket a week longer than Loki keeps logs', () => {
    // Prepare and Act
    const { built: loki } = lokiStack();

    // Assess
    expect(loki.storage.expirationDays).toBe(37);
  });

  it('refuses a retention under a day', () => {
    // Act and Assess
    expect(() => lokiStack(0)).toThrow(
      /retentionDays must be a whole number of days of at least 1 \(got 0\)/,
    );
  });
});
