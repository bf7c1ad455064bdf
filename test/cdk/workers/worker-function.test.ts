import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { asISecret, asIVpc } from '../../../lib/cdk-interfaces.js';
import { WorkerFunction, type WorkerFunctionProps } from '../../../lib/workers/worker-function.js';
import { EventBridgeTestServer } from '../../support/eventbridge-server.js';
import { closeServer, listenOnLoopback, originOf, readBody } from '../../support/http-test-server.js';
import { ConstructTestStack } from '../app-fixture.js';

let fixture: ConstructTestStack;
let bundled: ConstructTestStack | undefined;
let stackConfig: string | undefined;

beforeEach(() => {
  fixture = new ConstructTestStack();
});

afterEach(() => {
  fixture.dispose();
  bundled?.dispose();
  bundled = undefined;
  if (stackConfig) rmSync(stackConfig, { recursive: true, force: true });
  stackConfig = undefined;
});

/** A stack-config directory outside the project, with a quote in its path and a nested file. */
function operatorStackConfig(): string {
  stackConfig = mkdtempSync(join(tmpdir(), "toilless-operator's-stack-config-"));
  mkdirSync(join(stackConfig, 'alertmanager'));
  writeFileSync(join(stackConfig, 'toilless.yaml'), 'slack:\n  channel: "#ops"\n');
  writeFileSync(join(stackConfig, 'slos.yaml'), 'services: {}\n');
  writeFileSync(join(stackConfig, 'alertmanager', 'alertmanager.yml'), 'route:\n  receiver: toilless\n');
  return stackConfig;
}

const run = promisify(execFile);

const TOKEN_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:toilless/alertmanager-webhook-token';

/** An Alertmanager notification as the intake accepts it, from the fixtures. */
function alertmanagerPayload(): unknown {
  const fixture = new URL('../../fixtures/alertmanager/firing-fastburnrate.json', import.meta.url);
  return JSON.parse(readFileSync(fixture, 'utf8')).body;
}

/** The ES module files of a bundled asset, index.mjs and its chunks. */
function javascriptFiles(asset: string): string[] {
  return readdirSync(asset, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.mjs'))
    .map((file) => join(asset, file));
}

/** A module file and the files it imports statically (`import ... from "./x.mjs"`), transitively; not import(). */
function staticImportClosure(entry: string): string[] {
  const seen = new Set<string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(/\bimport\s*(?:[\w${}\s,*]+?\s*from\s*)?"(\.{1,2}\/[^"]+)"/g)) {
      pending.push(resolve(dirname(file), match[1] as string));
    }
  }
  return [...seen];
}

function logicalIdOf(construct: { node: { defaultChild?: unknown } }): string {
  return fixture.stack.getLogicalId(construct.node.defaultChild as never);
}

describe('Worker function', () => {
  it("runs in the VPC's private subnets with the given security group, and may manage only its network interfaces besides", () => {
    // Prepare
    const vpc = asIVpc(new ec2.Vpc(fixture.stack, 'Vpc', { maxAzs: 2, natGateways: 1 }));
    const securityGroup = new ec2.SecurityGroup(fixture.stack, 'Group', { vpc, allowAllOutbound: false });

    // Act
    const inside = new WorkerFunction(fixture.stack, 'Inside', {
      worker: 'alertmanager-webhook',
      network: { vpc, securityGroup },
    });
    const outside = new WorkerFunction(fixture.stack, 'Outside', { worker: 'alertmanager-webhook' });

    // Assess
    const resources = Template.fromStack(fixture.stack).toJSON().Resources;
    const vpcConfig = resources[logicalIdOf(inside.function)].Properties.VpcConfig;
    expect(vpcConfig.SecurityGroupIds).toEqual([{ 'Fn::GetAtt': [logicalIdOf(securityGroup), 'GroupId'] }]);
    expect(vpcConfig.SubnetIds).toEqual(
      vpc.privateSubnets.map((subnet) => ({
        Ref: fixture.stack.getLogicalId(subnet.node.defaultChild as never),
      })),
    );
    expect(resources[logicalIdOf(outside.function)].Properties).not.toHaveProperty('VpcConfig');
    const statementsOf = (worker: WorkerFunction) =>
      resources[logicalIdOf(worker.role.node.findChild('DefaultPolicy') as never)].Properties.PolicyDocument
        .Statement;
    const unscoped = (worker: WorkerFunction) =>
      statementsOf(worker).filter((statement: { Resource: unknown }) => statement.Resource === '*');
    expect(
      unscoped(inside)
        .flatMap((statement: { Action: string[] }) => statement.Action)
        .sort(),
    ).toEqual([
      'ec2:AssignPrivateIpAddresses',
      'ec2:CreateNetworkInterface',
      'ec2:DeleteNetworkInterface',
      'ec2:DescribeNetworkInterfaces',
      'ec2:DescribeSubnets',
      'ec2:UnassignPrivateIpAddresses',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
    expect(JSON.stringify(unscoped(outside))).not.toContain('ec2:');
    expect(resources[logicalIdOf(inside.role)].Properties).not.toHaveProperty('ManagedPolicyArns');
  });

  it('hands each secret over as <NAME>_ARN with read access, and never its value', () => {
    // Prepare
    const secret = asISecret(new secretsmanager.Secret(fixture.stack, 'Token'));

    // Act
    const worker = new WorkerFunction(fixture.stack, 'Worker', {
      worker: 'alertmanager-webhook',
      environment: { SLACK_CHANNEL: '#incidents' },
      secrets: { SLACK_BOT_TOKEN: secret },
    });

    // Assess
    const template = Template.fromStack(fixture.stack);
    const variables =
      template.toJSON().Resources[logicalIdOf(worker.function)].Properties.Environment.Variables;
    expect(variables).toEqual({
      SLACK_CHANNEL: '#incidents',
      SLACK_BOT_TOKEN_ARN: { Ref: logicalIdOf(secret) },
      LOG_LEVEL: 'info',
      NODE_OPTIONS: '--enable-source-maps',
    });
    const statements =
      template.toJSON().Resources[logicalIdOf(worker.role.node.findChild('DefaultPolicy'))].Properties
        .PolicyDocument.Statement;
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
      Resource: { Ref: logicalIdOf(secret) },
    });
  });

  it('sends failed asynchronous invocations to the dead-letter queue after the retries asked for', () => {
    // Prepare
    const queue = new sqs.Queue(fixture.stack, 'Dlq');

    // Act
    const worker = new WorkerFunction(fixture.stack, 'Worker', {
      worker: 'github-webhook',
      deadLetterQueue: queue,
      retryAttempts: 1,
      reservedConcurrentExecutions: 5,
    });

    // Assess
    const template = Template.fromStack(fixture.stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [logicalIdOf(queue), 'Arn'] } },
      ReservedConcurrentExecutions: 5,
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalIdOf(worker.function) },
      MaximumRetryAttempts: 1,
    });
    const statements =
      template.toJSON().Resources[logicalIdOf(worker.role.node.findChild('DefaultPolicy'))].Properties
        .PolicyDocument.Statement;
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: 'sqs:SendMessage',
      Resource: { 'Fn::GetAtt': [logicalIdOf(queue), 'Arn'] },
    });
  });

  it('keeps LOG_LEVEL and the Lambda application log level the same', () => {
    // Act
    new WorkerFunction(fixture.stack, 'Worker', {
      worker: 'github-webhook',
      logLevel: lambda.ApplicationLogLevel.DEBUG,
    });

    // Assess
    Template.fromStack(fixture.stack).hasResourceProperties('AWS::Lambda::Function', {
      LoggingConfig: { ApplicationLogLevel: 'DEBUG', LogFormat: 'JSON' },
      Environment: { Variables: { LOG_LEVEL: 'debug' } },
    });
  });

  it('keeps its logs for a month in its own log group by default', () => {
    // Act
    const worker = new WorkerFunction(fixture.stack, 'Worker', { worker: 'github-webhook' });

    // Assess
    const template = Template.fromStack(fixture.stack);
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    template.hasResourceProperties('AWS::Lambda::Function', {
      LoggingConfig: { LogGroup: { Ref: logicalIdOf(worker.logGroup) } },
    });
  });

  it('points TOILLESS_STACK_CONFIG at the bundled stack-config when it bundles files, and only then', () => {
    // Act
    const reader = new WorkerFunction(fixture.stack, 'Reader', {
      worker: 'github-webhook',
      stackConfigFiles: ['toilless.yaml'],
    });
    const other = new WorkerFunction(fixture.stack, 'Other', { worker: 'github-webhook' });

    // Assess
    const resources = Template.fromStack(fixture.stack).toJSON().Resources;
    expect(resources[logicalIdOf(reader.function)].Properties.Environment.Variables).toMatchObject({
      TOILLESS_STACK_CONFIG: '/var/task/stack-config',
    });
    expect(resources[logicalIdOf(other.function)].Properties.Environment.Variables).not.toHaveProperty(
      'TOILLESS_STACK_CONFIG',
    );
  });

  it('copies the stack-config files it lists into the bundle, keeping their folders', () => {
    // Prepare
    const dir = operatorStackConfig();
    bundled = new ConstructTestStack({ bundling: true });

    // Act
    const worker = new WorkerFunction(bundled.stack, 'Worker', {
      worker: 'github-webhook',
      stackConfigDir: dir,
      stackConfigFiles: ['toilless.yaml', 'alertmanager/alertmanager.yml'],
    });
    const asset = bundled.assetDirectoryOf(
      bundled.stack.getLogicalId(worker.function.node.defaultChild as never),
    );

    // Assess
    expect(existsSync(join(asset, 'index.mjs'))).toBe(true);
    expect(readFileSync(join(asset, 'stack-config', 'toilless.yaml'), 'utf8')).toBe(
      readFileSync(join(dir, 'toilless.yaml'), 'utf8'),
    );
    expect(readFileSync(join(asset, 'stack-config', 'alertmanager', 'alertmanager.yml'), 'utf8')).toBe(
      'route:\n  receiver: toilless\n',
    );
    expect(existsSync(join(asset, 'stack-config', 'slos.yaml'))).toBe(false);
  });

  it('refuses a bundled file that is not in the repository, naming it', () => {
    // Act
    const act = () =>
      new WorkerFunction(fixture.stack, 'Worker', {
        worker: 'github-webhook',
        bundledFiles: [{ from: 'node_modules/no-such-fonts/ttf/Sans.ttf', to: 'fonts/Sans.ttf' }],
      });

    // Assess
    expect(act).toThrow(
      /no-such-fonts\/ttf\/Sans\.ttf does not exist: install the package it comes from or fix the path/,
    );
    expect(
      () =>
        new WorkerFunction(fixture.stack, 'Other', {
          worker: 'github-webhook',
          bundledFiles: [{ from: 'package.json', to: '../outside' }],
        }),
    ).toThrow(/bundled file path "\.\.\/outside" is not a relative path inside the repository or bundle/);
  });

  it('refuses a stack-config file that is not in the directory, naming the file', () => {
    // Prepare
    const dir = operatorStackConfig();

    // Act
    const act = () =>
      new WorkerFunction(fixture.stack, 'Worker', {
        worker: 'github-webhook',
        stackConfigDir: dir,
        stackConfigFiles: ['toilless.yaml', 'grafana/dashboards.yaml'],
      });

    // Assess
    expect(act).toThrow(
      /grafana\/dashboards\.yaml does not exist: create it or remove "grafana\/dashboards\.yaml" from stackConfigFiles/,
    );
  });

  const refusals: ReadonlyArray<[string, Omit<WorkerFunctionProps, 'worker'> & { worker?: string }, RegExp]> =
    [
      ['a worker name that is not a folder name', { worker: '../lib' }, /not a folder name under functions/],
      [
        'a worker without functions/<worker>/handler.ts',
        { worker: 'no-such-worker' },
        /functions\/no-such-worker\/handler\.ts does not exist/,
      ],
      [
        'a secret that is also a plain variable',
        { environment: { SLACK_BOT_TOKEN: 'xoxb-1' }, secrets: { SLACK_BOT_TOKEN: 'secret' as never } },
        /SLACK_BOT_TOKEN is set in both environment and secrets: remove it from environment/,
      ],
      [
        'a plain <NAME>_ARN next to the secret it belongs to',
        { environment: { SLACK_BOT_TOKEN_ARN: 'arn' }, secrets: { SLACK_BOT_TOKEN: 'secret' as never } },
        /SLACK_BOT_TOKEN_ARN is set in both environment and secrets/,
      ],
      ['LOG_LEVEL in the environment', { environment: { LOG_LEVEL: 'debug' } }, /set logLevel instead/],
      [
        'a lower-case variable name',
        { environment: { slackChannel: '#x' } },
        /"slackChannel" is not a valid variable name/,
      ],
      [
        'memory beyond 10240 MiB',
        { memorySize: 20_000 },
        /memorySize 20000 is outside Lambda's 128-10240 MiB/,
      ],
      [
        'a timeout beyond 15 minutes',
        { timeout: Duration.minutes(20) },
        /timeout 20 minutes is outside Lambda's 1 s to 15 min/,
      ],
      [
        'a reserved concurrency of 0',
        { reservedConcurrentExecutions: 0 },
        /would stop the function: reserve at least 1/,
      ],
      ['three retries', { retryAttempts: 3 }, /retryAttempts 3 is outside Lambda's 0-2/],
      [
        'a stack-config file outside stack-config',
        { stackConfigFiles: ['../package.json'] },
        /"\.\.\/package\.json" is not a path inside stack-config/,
      ],
      [
        'an absolute stack-config file',
        { stackConfigFiles: ['/etc/passwd'] },
        /"\/etc\/passwd" is not a path inside stack-config/,
      ],
      [
        'TOILLESS_STACK_CONFIG in the environment',
        { environment: { TOILLESS_STACK_CONFIG: '/opt/config' } },
        /TOILLESS_STACK_CONFIG is set by the bundle: remove it from environment and list the files in stackConfigFiles/,
      ],
    ];

  it.each(refusals)('refuses %s with a sentence saying what to change', (_case, props, message) => {
    // Act
    const act = () => new WorkerFunction(fixture.stack, 'Worker', { worker: 'github-webhook', ...props });

    // Assess
    expect(act).toThrow(message);
  });
});

describe('Worker function bundle', () => {
  let stack: ConstructTestStack;
  let asset: string;

  beforeAll(() => {
    stack = new ConstructTestStack({ bundling: true });
    const worker = new WorkerFunction(stack.stack, 'Worker', { worker: 'alertmanager-webhook' });
    asset = stack.assetDirectoryOf(stack.stack.getLogicalId(worker.function.node.defaultChild as never));
  });

  afterAll(() => {
    stack.dispose();
  });

  it('keeps the AWS SDK clients out of what its import loads: they are chunks, loaded on first use', async () => {
    // Act
    const imported = staticImportClosure(join(asset, 'index.mjs'));
    const files = javascriptFiles(asset);

    // Assess: each client's operation is in the asset, in a chunk the handler's import does not load.
    for (const operation of ['"GetSecretValue"', '"PutObject"', '"PutEvents"']) {
      expect(imported.some((file) => readFileSync(file, 'utf8').includes(operation))).toBe(false);
      expect(files.some((file) => readFileSync(file, 'utf8').includes(operation))).toBe(true);
    }
    expect(files.length).toBeGreaterThan(imported.length);
    // Plain Node loads every file, so each chunk a path imports later resolves as an ES module.
    const script = files.map((file) => `await import(${JSON.stringify(pathToFileURL(file).href)});`).join('');
    const { stdout } = await run(
      process.execPath,
      ['--input-type=module', '-e', `${script}console.log('loaded')`],
      { env: { PATH: process.env.PATH ?? '', AWS_REGION: 'eu-west-1' } },
    );
    expect(stdout.trim()).toBe('loaded');
  });

  it('answers a delivery in plain Node: the token from Secrets Manager, the notification to EventBridge', async () => {
    // Prepare: EventBridge and Secrets Manager on loopback, reached through the SDK's endpoint variables.
    const eventBridge = await EventBridgeTestServer.start({ buses: ['toilless-test'] });
    const secretReads: string[] = [];
    const secretsManager = createServer((request, response) => {
      readBody(request).then((body) => {
        secretReads.push(`${request.headers['x-amz-target']} ${JSON.parse(body.toString('utf8')).SecretId}`);
        response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        response.end(JSON.stringify({ ARN: TOKEN_ARN, Name: 'token', SecretString: 'bundle-token' }));
      }, response.destroy.bind(response));
    });
    await listenOnLoopback(secretsManager);
    const delivery = {
      version: '2.0',
      requestContext: { http: { method: 'POST' } },
      headers: { authorization: 'Bearer bundle-token', 'content-type': 'application/json' },
      body: JSON.stringify(alertmanagerPayload()),
      isBase64Encoded: false,
    };
    const script =
      `const { handler } = await import(${JSON.stringify(pathToFileURL(join(asset, 'index.mjs')).href)});` +
      `const result = await handler(${JSON.stringify(delivery)});` +
      "process.stdout.write('RESULT ' + JSON.stringify(result));";

    try {
      // Act
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
        env: {
          PATH: process.env.PATH ?? '',
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'AKIATOILLESSTEST0000',
          AWS_SECRET_ACCESS_KEY: 'toilless-test-secret-key',
          AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.endpoint,
          AWS_ENDPOINT_URL_SECRETS_MANAGER: originOf(secretsManager),
          TOILLESS_BUCKET: 'toilless-test',
          TOILLESS_EVENT_BUS: 'toilless-test',
          ALERTMANAGER_WEBHOOK_TOKEN_ARN: TOKEN_ARN,
          LOG_LEVEL: 'silent',
        },
      });

      // Assess
      const result = JSON.parse(stdout.slice(stdout.indexOf('RESULT ') + 'RESULT '.length));
      expect(result.statusCode, result.body).toBe(200);
      expect(secretReads).toEqual([`secretsmanager.GetSecretValue ${TOKEN_ARN}`]);
      expect(eventBridge.accepted.map((entry) => [entry.DetailType, entry.EventBusName])).toEqual([
        ['AlertNotification', 'toilless-test'],
      ]);
      expect(JSON.parse(eventBridge.accepted[0]?.Detail ?? '{}').id).toBe(JSON.parse(result.body).eventId);
    } finally {
      await eventBridge.close();
      await closeServer(secretsManager);
    }
  });
});
