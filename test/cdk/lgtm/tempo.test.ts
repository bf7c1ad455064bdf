import { describe, expect, it } from 'vitest';
import { Tempo } from '../../../lib/lgtm/tempo.js';
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

const tempoStack = (retentionDays = 14) =>
  stacks.build((stack, base) => new Tempo(stack, 'Tempo', bucketServiceProps(base, 'tempo', retentionDays)));

describe('Tempo', () => {
  itMatchesTheSnapshot(() => tempoStack());

  it('listens for queries and for OTLP from the collector, with its bucket expanded from the environment', () => {
    // Prepare and Act
    const { built: tempo, fixture } = tempoStack();

    // Assess
    const main = containerNamed(containersOf(fixture.stack, 'Tempo'), 'Main');
    expect(main.PortMappings.map((p: { ContainerPort: number }) => p.ContainerPort)).toEqual([
      3200, 4317, 4318,
    ]);
    expect(main.Command).toEqual(['-config.file=/etc/tempo/tempo.yaml', '-config.expand-env=true']);
    expect(environmentOf(main).TEMPO_S3_BUCKET).toEqual({
      Ref: fixture.stack.getLogicalId(tempo.storage.bucket.node.defaultChild as never),
    });
    expect(tempo.url).toBe('http://tempo.toilless.local:3200');
  });

  it('grants the object tagging Tempo needs besides list, get, put and delete, on its own bucket', () => {
    // Prepare and Act
    const { built: tempo, fixture } = tempoStack();

    // Assess
    const bucketId = fixture.stack.getLogicalId(tempo.storage.bucket.node.defaultChild as never);
    const statements = Object.values(resourcesOf(fixture.stack))
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((r) => r.Properties.PolicyDocument.Statement)
      .filter((s) => JSON.stringify(s.Resource).includes(bucketId));
    expect(statements.map((s) => s.Action)).toEqual([
      's3:ListBucket',
      ['s3:DeleteObject', 's3:GetObject', 's3:GetObjectTagging', 's3:PutObject', 's3:PutObjectTagging'],
    ]);
  });

  it('expires objects after the retention plus a week and aborts incomplete uploads after a day', () => {
    // Prepare and Act
    const { built: tempo, fixture } = tempoStack(14);

    // Assess
    const bucket = resourcesOf(fixture.stack)[
      fixture.stack.getLogicalId(tempo.storage.bucket.node.defaultChild as never)
    ];
    expect(bucket.Properties.LifecycleConfiguration.Rules).toEqual([
      { Id: 'ExpireAfterRetention', ExpirationInDays: 21, Status: 'Enabled' },
      {
        Id: 'AbortIncompleteUploads',
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
        Status: 'Enabled',
      },
    ]);
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
  });

  it('refuses a fractional retention', () => {
    // Act and Assess
    expect(() => tempoStack(1.5)).toThrow(/TelemetryBucket: retentionDays must be a whole number/);
  });
});
