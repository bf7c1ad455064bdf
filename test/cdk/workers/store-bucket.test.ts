import { RemovalPolicy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { asIBucket } from '../../../lib/cdk-interfaces.js';
import { StoreBucket } from '../../../lib/workers/store-bucket.js';
import { ConstructTestStack } from '../app-fixture.js';

let fixture: ConstructTestStack | undefined;

afterEach(() => {
  fixture?.dispose();
  fixture = undefined;
});

function logicalIdOf(construct: { node: { defaultChild?: unknown } }): string {
  return fixture!.stack.getLogicalId(construct.node.defaultChild as never);
}

describe('Store bucket', () => {
  it('grants object access and listing under key patterns only, acknowledged so that the AWS Solutions checks pass', () => {
    // Prepare
    fixture = new ConstructTestStack({ awsSolutionsChecks: true });
    const store = new StoreBucket(fixture.stack, 'Store');
    const role = new iam.Role(fixture.stack, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });

    // Act
    store.grantObjectReadWrite(role, ['webhooks/*', 'outbox/slack/*']);

    // Assess
    const template = Template.fromStack(fixture.stack);
    const bucketArn = { 'Fn::GetAtt': [logicalIdOf(store.bucket), 'Arn'] };
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'],
            Resource: [
              { 'Fn::Join': ['', [bucketArn, '/outbox/slack/*']] },
              { 'Fn::Join': ['', [bucketArn, '/webhooks/*']] },
            ],
          },
          {
            Effect: 'Allow',
            Action: 's3:ListBucket',
            Resource: bucketArn,
            Condition: { StringLike: { 's3:prefix': ['webhooks/*', 'outbox/slack/*'] } },
          },
        ],
      },
    });
  });

  it('grants read-only object access under a key pattern, acknowledged so that the AWS Solutions checks pass', () => {
    // Prepare
    fixture = new ConstructTestStack({ awsSolutionsChecks: true });
    const store = new StoreBucket(fixture.stack, 'Store');
    const role = new iam.Role(fixture.stack, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });

    // Act
    store.grantObjectRead(role, 'claim-check/*');

    // Assess
    const bucketArn = { 'Fn::GetAtt': [logicalIdOf(store.bucket), 'Arn'] };
    Template.fromStack(fixture.stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: 's3:GetObject',
            Resource: { 'Fn::Join': ['', [bucketArn, '/claim-check/*']] },
          },
        ],
      },
    });
  });

  it.each([
    ['the whole bucket', ['*']],
    ['a pattern that is not a prefix', ['incidents/*/timeline.json']],
    ['no pattern at all', []],
  ])('refuses a grant over %s', (_case, keyPatterns) => {
    // Prepare
    fixture = new ConstructTestStack();
    const store = new StoreBucket(fixture.stack, 'Store');
    const role = new iam.Role(fixture.stack, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });

    // Act
    const grant = () => store.grantObjectReadWrite(role, keyPatterns);

    // Assess
    expect(grant).toThrow(/name|prefix/);
  });

  it('sends server access logs to a bucket it is given instead of creating one', () => {
    // Prepare
    fixture = new ConstructTestStack();
    const logs = asIBucket(new s3.Bucket(fixture.stack, 'SharedLogs'));

    // Act
    const store = new StoreBucket(fixture.stack, 'Store', {
      accessLogsBucket: logs,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // Assess
    const template = Template.fromStack(fixture.stack);
    template.resourceCountIs('AWS::S3::Bucket', 2);
    expect(store.accessLogsBucket).toBe(logs);
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Delete',
      Properties: { LoggingConfiguration: { DestinationBucketName: { Ref: logicalIdOf(logs) } } },
    });
  });

  it('keeps delivery records and old versions for the days it is given', () => {
    // Prepare
    fixture = new ConstructTestStack();

    // Act
    new StoreBucket(fixture.stack, 'Store', {
      deliveryRecordExpirationDays: 7,
      noncurrentVersionExpirationDays: 90,
    });

    // Assess
    const buckets = Object.values(Template.fromStack(fixture.stack).findResources('AWS::S3::Bucket'));
    const rules: unknown[] = buckets.flatMap(
      (bucket) => bucket.Properties.LifecycleConfiguration?.Rules ?? [],
    );
    expect(rules).toContainEqual(expect.objectContaining({ Prefix: 'webhooks/', ExpirationInDays: 7 }));
    expect(rules).toContainEqual(expect.objectContaining({ Prefix: 'claim-check/', ExpirationInDays: 7 }));
    expect(rules).toContainEqual(
      expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 90 } }),
    );
  });

  it('refuses an access log expiration for a logs bucket it does not own', () => {
    // Prepare
    fixture = new ConstructTestStack();
    const logs = asIBucket(new s3.Bucket(fixture.stack, 'SharedLogs'));

    // Act
    const act = () =>
      new StoreBucket(fixture!.stack, 'Store', { accessLogsBucket: logs, accessLogsExpirationDays: 30 });

    // Assess
    expect(act).toThrow(/set the expiration on the accessLogsBucket you pass instead/);
  });

  it('refuses a retention that is not a whole number of days', () => {
    // Prepare
    fixture = new ConstructTestStack();

    // Act
    const act = () => new StoreBucket(fixture!.stack, 'Store', { deliveryRecordExpirationDays: 0.5 });

    // Assess
    expect(act).toThrow(/deliveryRecordExpirationDays 0.5 is not a whole number of days/);
  });

  it('adds no expiration for incidents, deployments or reports unless a retention is given', () => {
    // Prepare
    fixture = new ConstructTestStack();

    // Act
    const store = new StoreBucket(fixture.stack, 'Store', { retentionDays: { reports: 90 } });

    // Assess
    const rules = Template.fromStack(fixture.stack).toJSON().Resources[logicalIdOf(store.bucket)].Properties
      .LifecycleConfiguration.Rules as { Id: string; Prefix?: string; ExpirationInDays?: number }[];
    expect(
      rules.filter(
        (rule) => rule.Id.startsWith('Expire') && !['webhooks/', 'claim-check/'].includes(rule.Prefix ?? ''),
      ),
    ).toEqual([
      expect.objectContaining({ Id: 'ExpireNoncurrentVersions' }),
      { Id: 'ExpireReports', Prefix: 'reports/', ExpirationInDays: 90, Status: 'Enabled' },
    ]);
  });

  it('refuses a retention that is not a whole number of days, naming it', () => {
    // Prepare
    fixture = new ConstructTestStack();

    // Act and Assess
    expect(() => new StoreBucket(fixture!.stack, 'Store', { retentionDays: { incidents: 0 } })).toThrow(
      'StoreBucket: retentionDays.incidents 0 is not a whole number of days: use an integer of at least 1.',
    );
  });
});
