import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { App, CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECRET_NAMES } from '../../functions/shared/secrets.js';
import { buildApp } from '../../lib/app.js';
import { WORKER_SECRETS, type WorkersStack } from '../../lib/workers-stack.js';
import { cdkContext, type NagFinding, unacknowledgedFindings, withoutAssetHashes } from './app-fixture.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is walked structurally
type Json = any;

let outdir: string;
let app: App;
let stack: WorkersStack;
let synthError: Error | undefined;
let template: Template;
let resources: Record<string, Json>;

beforeAll(() => {
  // Prepare: the same app `cdk synth` builds, with the context of cdk.json; bundling runs once here.
  outdir = mkdtempSync(join(tmpdir(), 'toilless-cdk-'));
  ({ app, workers: stack } = buildApp({ outdir, context: cdkContext() }));
  try {
    app.synth();
  } catch (error) {
    synthError = error as Error;
  }
  // The template is written before validation runs, so it is there even when the checks fail.
  template = Template.fromJSON(JSON.parse(readFileSync(join(outdir, stack.templateFile), 'utf8')));
  resources = template.toJSON().Resources;
});

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
});

function logicalId(construct: IConstruct): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnElement);
}

function functionEnvironment(fn: IConstruct): Record<string, Json> {
  return resources[logicalId(fn)].Properties.Environment.Variables;
}

function statementsOf(policyId: string): Json[] {
  return resources[policyId].Properties.PolicyDocument.Statement;
}

describe('Workers stack', () => {
  it('passes the AWS Solutions checks with every finding acknowledged', () => {
    // Assess: synth fails on an unacknowledged error; warnings are listed in the report only.
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8'));
    const findings: NagFinding[] = unacknowledgedFindings(report);
    expect(synthError?.message).toBeUndefined();
    expect(findings).toEqual([]);
  });

  it('runs both intake functions on nodejs22.x and arm64 with JSON logs and active tracing', () => {
    // Assess
    for (const fn of [stack.alertmanagerWebhook.function, stack.githubWebhook.function]) {
      const properties = resources[logicalId(fn)].Properties;
      expect(properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        Timeout: 10,
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'INFO' },
      });
      expect(properties.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
    }
  });

  it('gives each intake function the ARN of its own secret and never a secret value', () => {
    // Prepare
    const alertmanager = functionEnvironment(stack.alertmanagerWebhook.function);
    const github = functionEnvironment(stack.githubWebhook.function);

    // Assess
    expect(alertmanager.ALERTMANAGER_WEBHOOK_TOKEN_ARN).toEqual({
      Ref: logicalId(stack.secrets.ALERTMANAGER_WEBHOOK_TOKEN),
    });
    expect(github.GITHUB_WEBHOOK_SECRET_ARN).toEqual({ Ref: logicalId(stack.secrets.GITHUB_WEBHOOK_SECRET) });
    for (const environment of [alertmanager, github]) {
      expect(environment.TOILLESS_BUCKET).toEqual({ Ref: logicalId(stack.store.bucket) });
      expect(environment.TOILLESS_EVENT_BUS).toEqual({ Ref: logicalId(stack.eventBus.bus) });
      for (const name of SECRET_NAMES) expect(environment).not.toHaveProperty(name);
    }
    expect(alertmanager).not.toHaveProperty('GITHUB_WEBHOOK_SECRET_ARN');
    expect(github).not.toHaveProperty('ALERTMANAGER_WEBHOOK_TOKEN_ARN');
  });

  it('defines one secret per runtime secret name, generating only the webhook ones', () => {
    // Assess
    expect(Object.keys(WORKER_SECRETS).sort()).toEqual([...SECRET_NAMES].sort());
    const secrets = template.findResources('AWS::SecretsManager::Secret');
    expect(Object.keys(secrets)).toHaveLength(SECRET_NAMES.length);
    for (const secret of Object.values<Json>(secrets))
      expect(secret.Properties).not.toHaveProperty('SecretString');
    for (const name of ['ALERTMANAGER_WEBHOOK_TOKEN', 'GITHUB_WEBHOOK_SECRET'] as const) {
      expect(resources[logicalId(stack.secrets[name])].Properties.GenerateSecretString).toMatchObject({
        ExcludePunctuation: true,
      });
    }
    for (const name of ['SLACK_BOT_TOKEN', 'GITHUB_TOKEN', 'GRAFANA_TOKEN'] as const) {
      expect(resources[logicalId(stack.secrets[name])].Properties).not.toHaveProperty('GenerateSecretString');
    }
  });

  it('routes POST /webhooks/alertmanager and POST /webhooks/github to their functions with payload 2.0', () => {
    // Prepare
    const routes = Object.values<Json>(template.findResources('AWS::ApiGatewayV2::Route'));
    const functionBehind = (routeKey: string): string => {
      const route = routes.find((candidate) => candidate.Properties.RouteKey === routeKey);
      const integrationId = route.Properties.Target['Fn::Join'][1][1].Ref;
      const integration = resources[integrationId].Properties;
      expect(integration).toMatchObject({ IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
      return integration.IntegrationUri['Fn::GetAtt'][0];
    };

    // Assess
    expect(routes.map((route) => route.Properties.RouteKey).sort()).toEqual([
      'POST /webhooks/alertmanager',
      'POST /webhooks/github',
    ]);
    expect(functionBehind('POST /webhooks/alertmanager')).toBe(logicalId(stack.alertmanagerWebhook.function));
    expect(functionBehind('POST /webhooks/github')).toBe(logicalId(stack.githubWebhook.function));
  });

  it('logs webhook access as JSON and throttles the default stage', () => {
    // Assess
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [logicalId(stack.webhooks.accessLogGroup), 'Arn'] },
        Format: Match.stringLikeRegexp('"routeKey":"\\$context.routeKey"'),
      },
    });
  });

  it('archives the event bus for 30 days', () => {
    // Assess
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'toilless' });
    template.hasResourceProperties('AWS::Events::Archive', {
      SourceArn: { 'Fn::GetAtt': [logicalId(stack.eventBus.bus), 'Arn'] },
      RetentionDays: 30,
    });
  });

  it('keeps every bucket encrypted, private and TLS-only, and retains the store', () => {
    // Prepare
    const buckets = template.findResources('AWS::S3::Bucket');
    const policies = Object.values<Json>(template.findResources('AWS::S3::BucketPolicy'));

    // Assess
    expect(Object.keys(buckets)).toHaveLength(2);
    for (const [id, bucket] of Object.entries<Json>(buckets)) {
      expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
        { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
      ]);
      expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(bucket.DeletionPolicy).toBe('Retain');
      const policy = policies.find((candidate) => candidate.Properties.Bucket.Ref === id);
      expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 's3:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    }
  });

  it('versions the store, logs its access and expires old versions and delivery records after 30 days', () => {
    // Assess
    const store = resources[logicalId(stack.store.bucket)].Properties;
    expect(store.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(store.LoggingConfiguration.DestinationBucketName).toEqual({
      Ref: logicalId(stack.store.accessLogsBucket),
    });
    expect(store.LifecycleConfiguration.Rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 30 }, Status: 'Enabled' }),
        expect.objectContaining({ Prefix: 'webhooks/', ExpirationInDays: 30, Status: 'Enabled' }),
      ]),
    );
  });

  it('scopes the intake roles to their log group, their delivery records, the bus and their own secret', () => {
    // Prepare
    const bucket = logicalId(stack.store.bucket);
    for (const [fn, secret, source] of [
      [stack.alertmanagerWebhook, stack.secrets.ALERTMANAGER_WEBHOOK_TOKEN, 'alertmanager'],
      [stack.githubWebhook, stack.secrets.GITHUB_WEBHOOK_SECRET, 'github'],
    ] as const) {
      const policyId = logicalId(fn.role.node.findChild('DefaultPolicy'));

      // Act
      const statements = statementsOf(policyId);

      // Assess
      expect(statements).toEqual(
        expect.arrayContaining([
          {
            Effect: 'Allow',
            Action: 'events:PutEvents',
            Resource: { 'Fn::GetAtt': [logicalId(stack.eventBus.bus), 'Arn'] },
          },
          {
            Effect: 'Allow',
            Action: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'],
            Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, `/webhooks/${source}/*`]] },
          },
          { Effect: 'Allow', Action: 's3:ListBucket', Resource: { 'Fn::GetAtt': [bucket, 'Arn'] } },
          {
            Effect: 'Allow',
            Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
            Resource: { Ref: logicalId(secret) },
          },
          {
            Effect: 'Allow',
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Resource: { 'Fn::GetAtt': [logicalId(fn.logGroup), 'Arn'] },
          },
        ]),
      );
      const unscoped = statements.filter((statement: Json) => statement.Resource === '*');
      expect(unscoped).toEqual([
        { Effect: 'Allow', Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Resource: '*' },
      ]);
      expect(statements).toHaveLength(6);
    }
  });

  it('attaches no AWS managed policy to the intake roles', () => {
    // Assess
    for (const role of Object.values<Json>(template.findResources('AWS::IAM::Role'))) {
      expect(role.Properties).not.toHaveProperty('ManagedPolicyArns');
    }
  });

  it('outputs the webhook URLs, the bucket and bus names and the secret ARNs', () => {
    // Assess
    const outputs = template.toJSON().Outputs;
    expect(Object.keys(outputs).sort()).toEqual(
      [
        'AlertmanagerWebhookUrl',
        'GitHubWebhookUrl',
        'StoreBucketName',
        'EventBusName',
        ...Object.values(WORKER_SECRETS).map((secret) => `${secret.id}SecretArn`),
      ].sort(),
    );
    expect(JSON.stringify(outputs.AlertmanagerWebhookUrl.Value)).toContain('/webhooks/alertmanager');
    expect(JSON.stringify(outputs.GitHubWebhookUrl.Value)).toContain('/webhooks/github');
  });

  it('matches the snapshot, asset hashes aside', () => {
    // Assess
    expect(withoutAssetHashes(template.toJSON())).toMatchSnapshot();
  });
});
