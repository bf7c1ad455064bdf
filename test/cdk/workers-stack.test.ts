import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { App, CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doraMetricsManifest } from '../../functions/dora-metrics/manifest.js';
import { PROCESSOR_MANIFESTS, WEBHOOK_MANIFESTS } from '../../functions/manifests.js';
import { parseDurationMs } from '../../functions/shared/duration.js';
import { SECRET_NAMES } from '../../functions/shared/ports/secrets.js';
import { loadToillessConfig, stackConfigDir } from '../../functions/shared/stack-config.js';
import {
  type EndpointName,
  scheduledTask,
  type WorkerManifest,
} from '../../functions/shared/workers/manifest.js';
import { SECRET_CATALOGUE } from '../../functions/shared/workers/secret-catalogue.js';
import { weeklyReportManifest } from '../../functions/weekly-report/manifest.js';
import { buildApp } from '../../lib/app.js';
import type { EventProcessor } from '../../lib/workers/event-processor.js';
import type { WorkersStack } from '../../lib/workers-stack.js';
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
  ({ app, workers: stack } = buildApp({
    outdir,
    // Asset metadata, as the CLI sets it, says where each function's bundle is.
    context: { ...cdkContext(), 'aws:cdk:enable-asset-metadata': true },
  }));
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

function ruleOf(processor: EventProcessor): IConstruct {
  if (!processor.rule) throw new Error(`${processor.node.path} has no rule`);
  return processor.rule;
}

function functionEnvironment(fn: IConstruct): Record<string, Json> {
  return resources[logicalId(fn)].Properties.Environment.Variables;
}

function statementsOf(policyId: string): Json[] {
  return resources[policyId].Properties.PolicyDocument.Statement;
}

function processors(): ReadonlyArray<readonly [string, EventProcessor]> {
  return [
    ['incident-timeline', stack.incidentTimeline],
    ['dora-metrics', stack.doraMetrics],
  ];
}

const LGTM_VARIABLES = [
  'PROMETHEUS_URL',
  'PROMETHEUS_REMOTE_WRITE_URL',
  'LOKI_URL',
  'TEMPO_URL',
  'GRAFANA_URL',
];

function assetDirectoryOf(fn: IConstruct): string {
  return join(outdir, resources[logicalId(fn)].Metadata['aws:asset:path']);
}

function schedulerRoleId(): string {
  // The hourly recompute's: the weekly report has its own role.
  return resources[logicalId(stack.doraRecompute)].Properties.Target.RoleArn['Fn::GetAtt'][0];
}

/** The credentials secret of each endpoint whose service may be hosted (observability.external). */
const CREDENTIALS_OF_ENDPOINT: Partial<Record<EndpointName, string>> = {
  prometheusUrl: 'PROMETHEUS_AUTH',
  remoteWriteUrl: 'PROMETHEUS_AUTH',
  lokiUrl: 'LOKI_AUTH',
  tempoUrl: 'TEMPO_AUTH',
};

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
    // The token Alertmanager sends is the observability stack's: one value on both sides.
    expect(alertmanager.ALERTMANAGER_WEBHOOK_TOKEN_ARN).toMatchObject({
      'Fn::GetStackOutput': { StackName: 'Toilless-Observability' },
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
    const secrets = template.findResources('AWS::SecretsManager::Secret');
    // ALERTMANAGER_WEBHOOK_TOKEN is the observability stack's secret, shared with Alertmanager.
    expect(Object.keys(secrets)).toHaveLength(SECRET_NAMES.length - 1);
    expect(resources).not.toHaveProperty(logicalId(stack.secrets.ALERTMANAGER_WEBHOOK_TOKEN));
    for (const secret of Object.values<Json>(secrets))
      expect(secret.Properties).not.toHaveProperty('SecretString');
    for (const name of ['GITHUB_WEBHOOK_SECRET'] as const) {
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

  it('scopes the intake roles to their log group, their delivery records, claim-checked payloads, the bus and their own secrets', () => {
    // Prepare
    const bucket = logicalId(stack.store.bucket);
    const objects = (pattern: string) => ({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, `/${pattern}`]],
    });
    const listing = (patterns: readonly string[]) => ({
      Effect: 'Allow',
      Action: 's3:ListBucket',
      Resource: { 'Fn::GetAtt': [bucket, 'Arn'] },
      Condition: { StringLike: { 's3:prefix': patterns } },
    });
    // Payloads over the bus limit are created (and read back on a re-send), never deleted.
    const claimChecks = [
      { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: objects('claim-check/*') },
      listing(['claim-check/*']),
    ];
    const expected = [
      [
        stack.alertmanagerWebhook,
        functionEnvironment(stack.alertmanagerWebhook.function).ALERTMANAGER_WEBHOOK_TOKEN_ARN,
        [],
      ],
      [
        stack.githubWebhook,
        { Ref: logicalId(stack.secrets.GITHUB_WEBHOOK_SECRET) },
        [
          {
            Effect: 'Allow',
            Action: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'],
            Resource: objects('webhooks/github/*'),
          },
          listing(['webhooks/github/*']),
        ],
      ],
    ] as const;
    for (const [fn, secret, deliveryRecords] of expected) {
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
          ...deliveryRecords,
          ...claimChecks,
          {
            Effect: 'Allow',
            Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
            // Its own, and the remote-write credentials its metrics push would send to a hosted Prometheus.
            Resource: [secret, { Ref: logicalId(stack.secrets.PROMETHEUS_AUTH) }],
          },
          {
            Effect: 'Allow',
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Resource: { 'Fn::GetAtt': [logicalId(fn.logGroup), 'Arn'] },
          },
        ]),
      );
      const unscoped = statements.filter((statement: Json) => statement.Resource === '*');
      // X-Ray, and the network interfaces of the VPC it pushes its metrics from.
      expect(unscoped).toEqual([
        {
          Effect: 'Allow',
          Action: [
            'ec2:AssignPrivateIpAddresses',
            'ec2:CreateNetworkInterface',
            'ec2:DeleteNetworkInterface',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DescribeSubnets',
            'ec2:UnassignPrivateIpAddresses',
            'xray:PutTelemetryRecords',
            'xray:PutTraceSegments',
          ],
          Resource: '*',
        },
      ]);
      expect(statements).toHaveLength(6 + deliveryRecords.length);
    }
  });

  it('derives every rule, store grant, secret and schedule from the worker manifests', () => {
    // Prepare
    const objectsOf = (statement: Json): string[] =>
      [statement.Resource].flat().map((resource: Json) => resource['Fn::Join'][1][1].slice(1));
    const grantsOf = (manifest: WorkerManifest, fn: IConstruct & { role: IConstruct }) => {
      const statements = statementsOf(logicalId(fn.role.node.findChild('DefaultPolicy')));
      const withActions = (actions: string) =>
        statements
          .filter((statement: Json) => JSON.stringify([statement.Action].flat()) === actions)
          .flatMap(objectsOf)
          .sort();
      return {
        manifest: manifest.name,
        readWrite: withActions('["s3:DeleteObject","s3:GetObject","s3:PutObject"]'),
        read: withActions('["s3:GetObject"]'),
        write: withActions('["s3:GetObject","s3:PutObject"]'),
      };
    };
    const prefixes = (manifest: WorkerManifest) => ({
      manifest: manifest.name,
      readWrite: manifest.store.readWrite.map((prefix) => `${prefix}*`).sort(),
      read: (manifest.store.read ?? []).map((prefix) => `${prefix}*`).sort(),
      write: (manifest.store.write ?? []).map((prefix) => `${prefix}*`).sort(),
    });
    const secretArns = (fn: IConstruct) =>
      Object.keys(functionEnvironment(fn))
        .filter((name) => name.endsWith('_ARN'))
        .map((name) => name.slice(0, -'_ARN'.length))
        .sort();
    const schedules = Object.values<Json>(template.findResources('AWS::Scheduler::Schedule'));

    // Assess
    for (const manifest of WEBHOOK_MANIFESTS) {
      const fn = stack.intakes[manifest.name];
      if (!fn) throw new Error(`no intake for ${manifest.name}`);
      expect(grantsOf(manifest, fn)).toEqual(prefixes(manifest));
      const intakeCredentials = manifest.endpoints.flatMap(
        (endpoint) => CREDENTIALS_OF_ENDPOINT[endpoint] ?? [],
      );
      expect(secretArns(fn.function)).toEqual(
        [...new Set([...manifest.secrets, ...intakeCredentials])].sort(),
      );
      expect(resources[logicalId(fn.function)].Properties).toMatchObject({
        MemorySize: manifest.sizing.memoryMb,
        Timeout: manifest.sizing.timeoutSeconds,
      });
    }
    for (const manifest of PROCESSOR_MANIFESTS) {
      const processor = stack.processors[manifest.name];
      if (!processor) throw new Error(`no processor for ${manifest.name}`);
      expect(grantsOf(manifest, processor.worker)).toEqual(prefixes(manifest));
      const credentials = manifest.endpoints.flatMap((endpoint) => CREDENTIALS_OF_ENDPOINT[endpoint] ?? []);
      expect(secretArns(processor.worker.function)).toEqual(
        [...new Set([...manifest.secrets, ...credentials])].sort(),
      );
      if (manifest.consumes.length === 0) expect(processor.rule).toBeUndefined();
      else {
        expect(resources[logicalId(ruleOf(processor))].Properties.EventPattern['detail-type']).toEqual(
          manifest.consumes,
        );
      }
      const fnArn = { 'Fn::GetAtt': [logicalId(processor.worker.function), 'Arn'] };
      expect(
        schedules
          .filter((schedule) => JSON.stringify(schedule.Properties.Target.Arn) === JSON.stringify(fnArn))
          .map((schedule) => JSON.parse(schedule.Properties.Target.Input)),
      ).toEqual(manifest.schedules.map((schedule) => schedule.payload));
    }
    expect(schedules).toHaveLength(PROCESSOR_MANIFESTS.flatMap((manifest) => manifest.schedules).length);
  });

  it('attaches no AWS managed policy to the intake roles', () => {
    // Assess
    for (const fn of [stack.alertmanagerWebhook, stack.githubWebhook]) {
      expect(resources[logicalId(fn.role)].Properties).not.toHaveProperty('ManagedPolicyArns');
    }
  });

  it('outputs the webhook URLs, the bucket and bus names, the processors and their queues, and the secret ARNs', () => {
    // Assess
    const outputs = template.toJSON().Outputs;
    expect(Object.keys(outputs).sort()).toEqual(
      [
        'AlertmanagerWebhookUrl',
        'GitHubWebhookUrl',
        'StoreBucketName',
        'EventBusName',
        'IncidentTimelineFunctionName',
        'IncidentTimelineDeadLetterQueueUrl',
        'DoraMetricsFunctionName',
        'DoraMetricsDeadLetterQueueUrl',
        'WeeklyReportWorkerFunctionName',
        'WeeklyReportWorkerDeadLetterQueueUrl',
        ...Object.values(SECRET_CATALOGUE).map((secret) => `${secret.id}SecretArn`),
      ].sort(),
    );
    expect(JSON.stringify(outputs.AlertmanagerWebhookUrl.Value)).toContain('/webhooks/alertmanager');
    expect(JSON.stringify(outputs.GitHubWebhookUrl.Value)).toContain('/webhooks/github');
  });

  it('subscribes each processor to exactly its toilless detail-types', () => {
    // Prepare
    const rules = Object.values<Json>(template.findResources('AWS::Events::Rule'));
    const patternOf = (processor: EventProcessor) =>
      rules.find(
        (rule) => rule.Properties.Targets[0].Arn['Fn::GetAtt'][0] === logicalId(processor.worker.function),
      )?.Properties;

    // Assess
    expect(rules).toHaveLength(2);
    for (const rule of rules) {
      expect(rule.Properties.EventBusName).toEqual({ Ref: logicalId(stack.eventBus.bus) });
      expect(rule.Properties.Targets).toHaveLength(1);
    }
    expect(patternOf(stack.incidentTimeline)?.EventPattern).toEqual({
      source: ['toilless'],
      'detail-type': ['AlertNotification', 'DeploymentRecorded'],
    });
    expect(patternOf(stack.doraMetrics)?.EventPattern).toEqual({
      source: ['toilless'],
      'detail-type': [
        'GitHubDeployment',
        'GitHubDeploymentStatus',
        'GitHubWorkflowRun',
        'GitHubPush',
        'GitHubPullRequest',
        'IncidentOpened',
        'IncidentResolved',
      ],
    });
  });

  it('retries delivery to each processor 4 times within 2 hours, then dead-letters the event', () => {
    for (const [, processor] of processors()) {
      // Prepare
      const queueArn = { 'Fn::GetAtt': [logicalId(processor.deadLetterQueue), 'Arn'] };

      // Act
      const target = resources[logicalId(ruleOf(processor))].Properties.Targets[0];
      const fn = resources[logicalId(processor.worker.function)].Properties;

      // Assess
      expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 7200 });
      expect(target.DeadLetterConfig).toEqual({ Arn: queueArn });
      expect(fn.DeadLetterConfig).toEqual({ TargetArn: queueArn });
      expect(resources[logicalId(processor.deadLetterQueue)].Properties).toEqual({
        MessageRetentionPeriod: 1_209_600,
        SqsManagedSseEnabled: true,
      });
    }
  });

  it('invokes dora-metrics every hour with a payload its handler takes for a full recompute', () => {
    // Prepare
    const schedule = resources[logicalId(stack.doraRecompute)];

    // Act
    const payload = JSON.parse(schedule.Properties.Target.Input);

    // Assess
    expect(schedule.Properties).toMatchObject({
      ScheduleExpression: 'rate(1 hour)',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
    });
    expect(schedule.Properties.Target).toMatchObject({
      Arn: { 'Fn::GetAtt': [logicalId(stack.doraMetrics.worker.function), 'Arn'] },
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(stack.doraMetrics.deadLetterQueue), 'Arn'] } },
      RetryPolicy: { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 3600 },
    });
    expect(payload).toEqual(doraMetricsManifest.schedules[0]?.payload);
    expect(scheduledTask(doraMetricsManifest, payload)?.name).toBe('DoraRecompute');
  });

  it('lets the scheduler role invoke dora-metrics and dead-letter to its queue, and nothing else', () => {
    // Prepare
    const roleId = schedulerRoleId();
    const fnArn = { 'Fn::GetAtt': [logicalId(stack.doraMetrics.worker.function), 'Arn'] };

    // Act
    const policy = Object.values<Json>(template.findResources('AWS::IAM::Policy')).find((candidate) =>
      candidate.Properties.Roles.some((role: Json) => role.Ref === roleId),
    );

    // Assess
    expect(resources[roleId].Properties.AssumeRolePolicyDocument.Statement[0].Principal).toEqual({
      Service: 'scheduler.amazonaws.com',
    });
    expect(policy.Properties.PolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: [fnArn, { 'Fn::Join': ['', [fnArn, ':*']] }],
      },
      {
        Effect: 'Allow',
        Action: 'sqs:SendMessage',
        Resource: { 'Fn::GetAtt': [logicalId(stack.doraMetrics.deadLetterQueue), 'Arn'] },
      },
    ]);
  });

  it('sizes the incident timeline beyond its source budget and dora-metrics for the hourly recompute', () => {
    // Prepare
    const budgetSeconds = parseDurationMs(loadToillessConfig().incidents.sourceBudget) / 1000;
    const timeline = resources[logicalId(stack.incidentTimeline.worker.function)].Properties;
    const dora = resources[logicalId(stack.doraMetrics.worker.function)].Properties;

    // Assess
    expect(timeline).toMatchObject({ Timeout: 60, MemorySize: 1024, Runtime: 'nodejs22.x' });
    expect(timeline.Timeout - budgetSeconds).toBeGreaterThanOrEqual(40);
    // The smallest incidents.concurrency bound of the shipped toilless.yaml (loki and tempo: 4).
    expect(timeline.ReservedConcurrentExecutions).toBe(4);
    expect(dora).not.toHaveProperty('ReservedConcurrentExecutions');
    expect(dora).toMatchObject({ Timeout: 300, MemorySize: 1024, Runtime: 'nodejs22.x' });
  });

  it("grants each external service's credentials to exactly the processors that use its endpoint", () => {
    // Prepare
    const readers = (secret: 'PROMETHEUS_AUTH' | 'LOKI_AUTH' | 'TEMPO_AUTH') =>
      [...Object.values(stack.intakes), ...Object.values(stack.processors).map((p) => p?.worker)]
        .filter((fn) => fn !== undefined)
        .filter((fn) =>
          statementsOf(logicalId(fn.role.node.findChild('DefaultPolicy'))).some(
            (statement: Json) =>
              JSON.stringify(statement.Action) ===
                '["secretsmanager:DescribeSecret","secretsmanager:GetSecretValue"]' &&
              [statement.Resource]
                .flat()
                .some((resource: Json) => resource?.Ref === logicalId(stack.secrets[secret])),
          ),
        )
        .map((fn) => fn.node.path)
        .sort();
    const paths = (...fns: { node: { path: string } }[]) => fns.map((fn) => fn.node.path).sort();

    // Assess: every worker writes its metrics to Prometheus (dora-metrics its DORA series too) and the
    // report queries it; only the timeline reads all three.
    expect(readers('PROMETHEUS_AUTH')).toEqual(
      paths(
        stack.alertmanagerWebhook,
        stack.githubWebhook,
        stack.incidentTimeline.worker,
        stack.doraMetrics.worker,
        stack.weeklyReport.worker,
      ),
    );
    expect(readers('LOKI_AUTH')).toEqual(paths(stack.incidentTimeline.worker));
    expect(readers('TEMPO_AUTH')).toEqual(paths(stack.incidentTimeline.worker));
  });

  it('gives each processor the ARNs of its own secrets, the store, the bus and the bundled stack-config', () => {
    // Prepare
    const timeline = functionEnvironment(stack.incidentTimeline.worker.function);
    const dora = functionEnvironment(stack.doraMetrics.worker.function);

    // Assess
    expect(timeline.SLACK_BOT_TOKEN_ARN).toEqual({ Ref: logicalId(stack.secrets.SLACK_BOT_TOKEN) });
    expect(dora.GITHUB_TOKEN_ARN).toEqual({ Ref: logicalId(stack.secrets.GITHUB_TOKEN) });
    expect(dora.GRAFANA_TOKEN_ARN).toEqual({ Ref: logicalId(stack.secrets.GRAFANA_TOKEN) });
    expect(
      Object.keys(timeline)
        .filter((name) => name.endsWith('_ARN'))
        .sort(),
    ).toEqual(['LOKI_AUTH_ARN', 'PROMETHEUS_AUTH_ARN', 'SLACK_BOT_TOKEN_ARN', 'TEMPO_AUTH_ARN']);
    expect(
      Object.keys(dora)
        .filter((name) => name.endsWith('_ARN'))
        .sort(),
    ).toEqual(['GITHUB_TOKEN_ARN', 'GRAFANA_TOKEN_ARN', 'PROMETHEUS_AUTH_ARN']);
    for (const environment of [timeline, dora]) {
      expect(environment.TOILLESS_BUCKET).toEqual({ Ref: logicalId(stack.store.bucket) });
      expect(environment.TOILLESS_EVENT_BUS).toEqual({ Ref: logicalId(stack.eventBus.bus) });
      expect(environment.TOILLESS_STACK_CONFIG).toBe('/var/task/stack-config');
      for (const name of SECRET_NAMES) expect(environment).not.toHaveProperty(name);
    }
    for (const fn of [stack.alertmanagerWebhook.function, stack.githubWebhook.function]) {
      expect(functionEnvironment(fn)).not.toHaveProperty('TOILLESS_STACK_CONFIG');
    }
  });

  it('takes the Slack channel from toilless.yaml and the LGTM addresses from the observability stack', () => {
    // Prepare
    const timeline = functionEnvironment(stack.incidentTimeline.worker.function);
    const dora = functionEnvironment(stack.doraMetrics.worker.function);

    // Assess
    expect(timeline.SLACK_CHANNEL).toBe(loadToillessConfig().slack.channel);
    expect(timeline.PROMETHEUS_URL).toBe('http://prometheus.toilless.local:9090');
    expect(timeline.LOKI_URL).toBe('http://loki.toilless.local:3100');
    expect(dora.PROMETHEUS_REMOTE_WRITE_URL).toBe('http://prometheus.toilless.local:9090/api/v1/write');
    for (const name of LGTM_VARIABLES) {
      expect(typeof (timeline[name] ?? dora[name])).toBe('string');
    }
  });

  it('bundles toilless.yaml and slos.yaml with each processor, and nothing of stack-config with the intakes', () => {
    for (const [, processor] of processors()) {
      // Act
      const asset = assetDirectoryOf(processor.worker.function);

      // Assess
      expect(existsSync(join(asset, 'index.mjs'))).toBe(true);
      for (const file of ['toilless.yaml', 'slos.yaml']) {
        expect(readFileSync(join(asset, 'stack-config', file), 'utf8')).toBe(
          readFileSync(join(stackConfigDir(), file), 'utf8'),
        );
      }
    }
    for (const fn of [stack.alertmanagerWebhook.function, stack.githubWebhook.function]) {
      expect(existsSync(join(assetDirectoryOf(fn), 'stack-config'))).toBe(false);
    }
  });

  it('scopes the processor roles to their key prefixes, the bus, their dead-letter queue and their secrets', () => {
    // Prepare
    const bucketArn = { 'Fn::GetAtt': [logicalId(stack.store.bucket), 'Arn'] };
    const objects = (prefix: string) => ({ 'Fn::Join': ['', [bucketArn, `/${prefix}`]] });
    const expected: ReadonlyArray<readonly [EventProcessor, readonly string[], Json]> = [
      [
        stack.incidentTimeline,
        ['incidents/*', 'outbox/*'],
        [
          { Ref: logicalId(stack.secrets.LOKI_AUTH) },
          { Ref: logicalId(stack.secrets.PROMETHEUS_AUTH) },
          { Ref: logicalId(stack.secrets.SLACK_BOT_TOKEN) },
          { Ref: logicalId(stack.secrets.TEMPO_AUTH) },
        ],
      ],
      [
        stack.doraMetrics,
        ['deployments/*', 'changes/*', 'dora/*'],
        [
          { Ref: logicalId(stack.secrets.GITHUB_TOKEN) },
          { Ref: logicalId(stack.secrets.GRAFANA_TOKEN) },
          { Ref: logicalId(stack.secrets.PROMETHEUS_AUTH) },
        ],
      ],
    ];
    for (const [processor, prefixes, secrets] of expected) {
      // Act
      const statements = statementsOf(logicalId(processor.worker.role.node.findChild('DefaultPolicy')));

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
            Resource: [...prefixes].sort().map(objects),
          },
          {
            Effect: 'Allow',
            Action: 's3:ListBucket',
            Resource: bucketArn,
            Condition: { StringLike: { 's3:prefix': prefixes } },
          },
          // The payloads of events too large for the bus, which the intakes store: read only.
          { Effect: 'Allow', Action: 's3:GetObject', Resource: objects('claim-check/*') },
          {
            Effect: 'Allow',
            Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
            Resource: secrets,
          },
          {
            Effect: 'Allow',
            Action: 'sqs:SendMessage',
            Resource: { 'Fn::GetAtt': [logicalId(processor.deadLetterQueue), 'Arn'] },
          },
          {
            Effect: 'Allow',
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Resource: { 'Fn::GetAtt': [logicalId(processor.worker.logGroup), 'Arn'] },
          },
        ]),
      );
      // X-Ray, and the network interfaces of a function in the VPC: neither names a resource.
      expect(statements.filter((statement: Json) => statement.Resource === '*')).toEqual([
        {
          Effect: 'Allow',
          Action: [
            'ec2:AssignPrivateIpAddresses',
            'ec2:CreateNetworkInterface',
            'ec2:DeleteNetworkInterface',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DescribeSubnets',
            'ec2:UnassignPrivateIpAddresses',
            'xray:PutTelemetryRecords',
            'xray:PutTraceSegments',
          ],
          Resource: '*',
        },
      ]);
      expect(statements).toHaveLength(8);
    }
  });

  it('lets no function list the store outside the key prefixes it owns', () => {
    // Prepare
    const bucketArn = { 'Fn::GetAtt': [logicalId(stack.store.bucket), 'Arn'] };
    const listings = Object.values<Json>(template.findResources('AWS::IAM::Policy')).flatMap((policy) =>
      policy.Properties.PolicyDocument.Statement.filter((statement: Json) =>
        [statement.Action].flat().some((action: string) => action === 's3:ListBucket' || action === 's3:*'),
      ),
    );

    // Assess
    // One listing per grant that includes it: the read-write prefixes and the created ones of each worker.
    const grantsWithListing = [...WEBHOOK_MANIFESTS, ...PROCESSOR_MANIFESTS].flatMap((manifest) =>
      [manifest.store.readWrite, manifest.store.write ?? []].filter((prefixes) => prefixes.length > 0),
    );
    expect(listings).toHaveLength(grantsWithListing.length);
    for (const statement of listings) {
      expect(statement.Resource).toEqual(bucketArn);
      const prefixes: string[] = statement.Condition.StringLike['s3:prefix'];
      expect(prefixes.length).toBeGreaterThan(0);
      for (const prefix of prefixes) expect(prefix).toMatch(/^[a-z-]+\/([a-z-]+\/)*\*$/);
    }
  });

  it('runs the weekly report on x86_64 with its manifest sizing, from its schedule only', () => {
    // Prepare
    const fn = resources[logicalId(stack.weeklyReport.worker.function)].Properties;

    // Assess: the npm @sparticuz/chromium ships only the x86_64 Chromium
    expect(fn).toMatchObject({
      Architectures: ['x86_64'],
      Runtime: 'nodejs22.x',
      MemorySize: weeklyReportManifest.sizing.memoryMb,
      Timeout: weeklyReportManifest.sizing.timeoutSeconds,
    });
    expect(stack.weeklyReport.rule).toBeUndefined();
    expect(Object.keys(fn.Environment.Variables)).toEqual(
      expect.arrayContaining([
        'GRAFANA_TOKEN_ARN',
        'SLACK_BOT_TOKEN_ARN',
        'SLACK_CHANNEL',
        'TOILLESS_STACK_CONFIG',
      ]),
    );
  });

  it('invokes the weekly report Mondays 08:00 UTC by default, retrying a failed run for a day', () => {
    // Prepare
    const schedule = resources[logicalId(stack.weeklyReportSchedule)].Properties;

    // Assess: cron(0 8 ? * MON *) is toilless.yaml's "0 8 * * 1" in EventBridge's syntax
    expect(schedule).toMatchObject({
      ScheduleExpression: 'cron(0 8 ? * MON *)',
      ScheduleExpressionTimezone: 'UTC',
    });
    expect(schedule.Target).toMatchObject({
      Arn: { 'Fn::GetAtt': [logicalId(stack.weeklyReport.worker.function), 'Arn'] },
      RetryPolicy: { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 86_400 },
    });
    expect(scheduledTask(weeklyReportManifest, JSON.parse(schedule.Target.Input))?.name).toBe('WeeklyReport');
  });

  it('gives the weekly report the Prometheus and Grafana it queries and the remote-write for its metrics, no Loki or Tempo', () => {
    // Prepare
    const environment = functionEnvironment(stack.weeklyReport.worker.function);
    const group =
      resources[logicalId(stack.weeklyReport.worker.function)].Properties.VpcConfig.SecurityGroupIds[0][
        'Fn::GetAtt'
      ][0];
    const egressPorts = Object.values<Json>(resources)
      .filter((r) => r.Type === 'AWS::EC2::SecurityGroupEgress')
      .filter(
        (r) => JSON.stringify(r.Properties.GroupId) === JSON.stringify({ 'Fn::GetAtt': [group, 'GroupId'] }),
      )
      .map((r) => r.Properties.FromPort);

    // Assess
    expect(environment).toMatchObject({
      PROMETHEUS_URL: 'http://prometheus.toilless.local:9090',
      PROMETHEUS_REMOTE_WRITE_URL: 'http://prometheus.toilless.local:9090/api/v1/write',
      GRAFANA_URL: expect.anything(),
    });
    for (const name of ['LOKI_URL', 'TEMPO_URL', 'LOKI_AUTH_ARN', 'TEMPO_AUTH_ARN']) {
      expect(environment).not.toHaveProperty(name);
    }
    expect(egressPorts.sort()).toEqual([3000, 9090]);
  });

  it('installs @sparticuz/chromium beside the report bundle and copies in the fonts and the dashboards', () => {
    // Act
    const asset = assetDirectoryOf(stack.weeklyReport.worker.function);

    // Assess
    expect(existsSync(join(asset, 'node_modules', '@sparticuz', 'chromium', 'bin', 'chromium.br'))).toBe(
      true,
    );
    for (const font of ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf']) {
      expect(readFileSync(join(asset, 'fonts', font))).toEqual(
        readFileSync(join('node_modules', 'dejavu-fonts-ttf', 'ttf', font)),
      );
    }
    expect(existsSync(join(asset, 'stack-config', 'grafana', 'dashboards', 'toilless.json'))).toBe(true);
    // The other processors stay on arm64 with nothing beside their bundle.
    expect(existsSync(join(assetDirectoryOf(stack.doraMetrics.worker.function), 'node_modules'))).toBe(false);
  });

  it('runs each worker that uses the LGTM endpoints in the private subnets, reaching exactly their ports and HTTPS', () => {
    // Prepare
    const portOf = {
      prometheusUrl: 9090,
      remoteWriteUrl: 9090,
      lokiUrl: 3100,
      tempoUrl: 3200,
      grafanaUrl: 3000,
    };
    const ofType = (type: string) => Object.values<Json>(resources).filter((r) => r.Type === type);

    const manifests = [...WEBHOOK_MANIFESTS, ...PROCESSOR_MANIFESTS].filter((m) => m.endpoints.length > 0);
    expect(manifests.map((m) => m.name)).toEqual(
      expect.arrayContaining(['alertmanager-webhook', 'github-webhook']),
    );
    for (const manifest of manifests) {
      // Act
      const fn = (stack.intakes[manifest.name]?.function ??
        stack.processors[manifest.name]?.worker.function) as IConstruct;
      const vpcConfig = resources[logicalId(fn)].Properties.VpcConfig;
      const group = vpcConfig.SecurityGroupIds[0]['Fn::GetAtt'][0];
      const groupRef = JSON.stringify({ 'Fn::GetAtt': [group, 'GroupId'] });
      const egressPorts = ofType('AWS::EC2::SecurityGroupEgress')
        .filter((rule) => JSON.stringify(rule.Properties.GroupId) === groupRef)
        .map((rule) => [rule.Properties.FromPort, rule.Properties.ToPort]);
      const ingressPorts = ofType('AWS::EC2::SecurityGroupIngress')
        .filter((rule) => JSON.stringify(rule.Properties.SourceSecurityGroupId) === groupRef)
        .map((rule) => [rule.Properties.FromPort, rule.Properties.ToPort]);

      // Assess
      const ports = [...new Set(manifest.endpoints.map((endpoint) => portOf[endpoint]))].sort();
      expect(vpcConfig.SecurityGroupIds).toHaveLength(1);
      expect(JSON.stringify(vpcConfig.SubnetIds)).toMatch(/privateSubnet1.*privateSubnet2/);
      expect(JSON.stringify(vpcConfig.SubnetIds)).not.toMatch(/publicSubnet/);
      expect(egressPorts.sort()).toEqual(ports.map((port) => [port, port]));
      expect(ingressPorts.sort()).toEqual(ports.map((port) => [port, port]));
      expect(resources[group].Properties.SecurityGroupEgress).toEqual([
        {
          CidrIp: '0.0.0.0/0',
          Description: 'HTTPS: AWS APIs, Slack, GitHub',
          FromPort: 443,
          IpProtocol: 'tcp',
          ToPort: 443,
        },
      ]);
    }
  });

  it('lets the intakes reach Prometheus alone of the LGTM services, for their metrics', () => {
    for (const intake of [stack.alertmanagerWebhook, stack.githubWebhook]) {
      // Prepare
      const properties = resources[logicalId(intake.function)].Properties;
      const group = properties.VpcConfig.SecurityGroupIds[0]['Fn::GetAtt'][0];

      // Act
      const egress = Object.values<Json>(resources).filter(
        (r) =>
          r.Type === 'AWS::EC2::SecurityGroupEgress' &&
          JSON.stringify(r.Properties.GroupId) === JSON.stringify({ 'Fn::GetAtt': [group, 'GroupId'] }),
      );

      // Assess
      expect(egress).toHaveLength(1);
      expect(egress[0].Properties).toMatchObject({
        FromPort: 9090,
        ToPort: 9090,
        Description: 'to prometheus on 9090',
      });
      expect(JSON.stringify(egress[0].Properties.DestinationSecurityGroupId)).toContain('PrometheusService');
      expect(properties.Environment.Variables.PROMETHEUS_REMOTE_WRITE_URL).toBe(
        'http://prometheus.toilless.local:9090/api/v1/write',
      );
      for (const name of ['PROMETHEUS_URL', 'LOKI_URL', 'TEMPO_URL', 'GRAFANA_URL']) {
        expect(properties.Environment.Variables).not.toHaveProperty(name);
      }
    }
  });

  it("writes the webhook URL into Alertmanager's receiver secret, then restarts Alertmanager, allowed those two calls only", () => {
    // Prepare
    const receiver = stack.alertmanagerReceiver;
    if (!receiver) throw new Error('the app builds the observability stack: the receiver must be wired');
    const resourceOf = (call: IConstruct) => resources[logicalId(call.node.findChild('Resource'))];
    const policyOf = (call: IConstruct) =>
      statementsOf(logicalId(call.node.findChild('CustomResourcePolicy')));
    const write = resourceOf(receiver.writeUrl);
    const restart = resourceOf(receiver.restartAlertmanager);

    // Assess
    const writeCall = JSON.stringify(write.Properties.Create);
    expect(writeCall).toContain('putSecretValue');
    expect(writeCall).toContain('PublishOutputRefAlertmanagerReceiverUrl');
    expect(writeCall).toContain(logicalId(stack.webhooks.httpApi));
    expect(writeCall).toContain('/webhooks/alertmanager');
    expect(policyOf(receiver.writeUrl)).toEqual([
      {
        Effect: 'Allow',
        Action: 'secretsmanager:PutSecretValue',
        Resource: { 'Fn::GetStackOutput': expect.objectContaining({ StackName: 'Toilless-Observability' }) },
      },
    ]);
    expect(JSON.stringify(restart.Properties.Create)).toMatch(/forceNewDeployment\W+true/);
    expect(policyOf(receiver.restartAlertmanager)).toEqual([
      {
        Effect: 'Allow',
        Action: 'ecs:UpdateService',
        Resource: { 'Fn::GetStackOutput': expect.objectContaining({ StackName: 'Toilless-Observability' }) },
      },
    ]);
    // A new URL changes this property, so Alertmanager restarts with it; and only after it is written.
    expect(JSON.stringify(restart.Properties.ReceiverUrl)).toContain('/webhooks/alertmanager');
    expect(restart.DependsOn).toEqual(
      expect.arrayContaining([logicalId(receiver.writeUrl.node.findChild('Resource'))]),
    );
  });

  it('matches the snapshot, asset hashes aside', () => {
    // Assess
    expect(withoutAssetHashes(template.toJSON())).toMatchSnapshot();
  });
});
