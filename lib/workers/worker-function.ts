import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { stackConfigDir } from '../../functions/shared/stack-config.js';

/** The repository root: bundling reads package-lock.json, tsconfig.json and functions/ from here. */
export const REPOSITORY_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** ESM output has no `require`; bundled CommonJS dependencies call it, so the bundle recreates it. */
export const REQUIRE_BANNER =
  "import { createRequire as __toillessCreateRequire } from 'node:module';" +
  'const require = __toillessCreateRequire(import.meta.url);';

/**
 * esbuild's arguments for a worker's bundle: one ES module per output file for node22, minified, with
 * source maps (no sources). Code splitting puts what the worker imports dynamically (the AWS SDK
 * clients, Slack, Octokit) into chunks/ next to index.mjs: a cold start reads and compiles index.mjs and
 * the chunks it imports statically, and a chunk only when a path first needs it. Every output is .mjs so
 * that Node loads each chunk as ESM without a package.json. `module` before `main` takes the AWS SDK's
 * ES module build (its packages have no exports map), which esbuild can tree-shake and whose credential
 * providers other than the environment's become chunks too.
 */
export function workerBundleArgs(
  entry: string,
  outputDir: string,
  external: readonly string[] = [],
): string[] {
  return [
    '--bundle',
    entry,
    '--platform=node',
    '--format=esm',
    '--target=node22',
    `--outdir=${outputDir}`,
    '--splitting',
    '--entry-names=index',
    '--chunk-names=chunks/[name]-[hash]',
    '--out-extension:.js=.mjs',
    '--main-fields=module,main',
    '--minify',
    '--sourcemap',
    '--sources-content=false',
    `--banner:js=${REQUIRE_BANNER}`,
    '--log-level=warning',
    // Modules installed beside the bundle (nodeModules) stay imports, as in NodejsFunction's own build.
    ...external.map((name) => `--external:${name}`),
  ];
}

/** The environment's NODE_OPTIONS on Lambda: stack traces point into functions/*.ts instead of the bundle. */
export const WORKER_NODE_OPTIONS = '--enable-source-maps';

/** Where the bundled stack-config files are on Lambda: the asset is unpacked into /var/task. */
export const BUNDLED_STACK_CONFIG_DIR = '/var/task/stack-config';

const ENVIRONMENT_NAME = /^[A-Z][A-Z0-9_]*$/;
const STACK_CONFIG_FILE = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;
const WORKER_NAME = /^[a-z][a-z0-9-]*$/;

export interface WorkerFunctionProps {
  /** The worker's folder under functions/; its handler.ts exports `handler`. */
  readonly worker: string;
  /** What the function does, shown in the Lambda console. @default - "toilless <worker>" */
  readonly description?: string;
  /** Memory in MiB (128 to 10240); CPU scales with it. @default 512 */
  readonly memorySize?: number;
  /** How long one invocation may run (1 s to 15 min). @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** Plain environment variables; secret values never go here, use `secrets`. @default - none */
  readonly environment?: Readonly<Record<string, string>>;
  /** Secrets the function reads, by variable name: it gets `<NAME>_ARN` and read access, never the value. @default - none */
  readonly secrets?: Readonly<Record<string, secretsmanager.ISecret>>;
  /** Lowest level of application logs that Lambda keeps; the code's LOG_LEVEL follows it. @default lambda.ApplicationLogLevel.INFO */
  readonly logLevel?: lambda.ApplicationLogLevel;
  /** How long the function's log group keeps logs. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Concurrent executions reserved for (and capping) this function. @default - unreserved, shares the account pool */
  readonly reservedConcurrentExecutions?: number;
  /** Where asynchronous invocations (EventBridge rules) go after their retries fail. @default - none, failed events are dropped */
  readonly deadLetterQueue?: sqs.IQueue;
  /** Retries of a failed asynchronous invocation (0 to 2). @default 2 */
  readonly retryAttempts?: number;
  /**
   * Files the worker reads from stack-config at run time, relative to it (e.g. "toilless.yaml"): they are
   * copied into the bundle under stack-config/ and TOILLESS_STACK_CONFIG points there. @default - none
   */
  readonly stackConfigFiles?: readonly string[];
  /** The stack-config directory the files are copied from. @default - stackConfigDir(): the repository's stack-config, or TOILLESS_STACK_CONFIG */
  readonly stackConfigDir?: string;
  /** The instruction set; a package with native binaries for one of them decides. @default lambda.Architecture.ARM_64 */
  readonly architecture?: lambda.Architecture;
  /**
   * Packages installed into the bundle's node_modules (from package-lock.json) instead of bundled by
   * esbuild: packages that ship binaries or read their own files (e.g. @sparticuz/chromium). @default - none
   */
  readonly nodeModules?: readonly string[];
  /** Files or directories of the repository copied into the bundle, e.g. fonts. @default - none */
  readonly bundledFiles?: readonly { readonly from: string; readonly to: string }[];
  /** Run in a VPC's private subnets (to reach services there). @default - outside any VPC */
  readonly network?: WorkerNetwork;
}

/** Where a worker runs inside a VPC. */
export interface WorkerNetwork {
  /** The VPC; the function runs in its private subnets with egress. */
  readonly vpc: ec2.IVpc;
  /** The function's security group: what it may reach. */
  readonly securityGroup: ec2.ISecurityGroup;
}

/** What Lambda needs to attach a function to a VPC (the actions of AWSLambdaVPCAccessExecutionRole). */
const VPC_ATTACHMENT_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
];

/**
 * A toilless worker on Lambda: functions/<worker>/handler.ts bundled with local esbuild into one
 * minified ESM file for nodejs22.x on arm64, with JSON logs in its own log group and X-Ray tracing.
 */
export class WorkerFunction extends Construct {
  /** The Lambda function; event sources, rules and integrations attach here. */
  readonly function: NodejsFunction;
  /** The function's execution role. */
  readonly role: iam.Role;
  /** The log group the function writes to. */
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: WorkerFunctionProps) {
    super(scope, id);
    const entry = workerEntry(props.worker);
    const stackConfig = stackConfigSources(props);
    const environment = workerEnvironment(props, stackConfig.files.length > 0);
    const bundledFiles = checkedBundledFiles(props);
    validateSizing(props);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });
    // An own role instead of AWSLambdaBasicExecutionRole: it may write to this log group only.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the toilless ${props.worker} worker`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      description: props.description ?? `toilless ${props.worker}`,
      entry,
      handler: 'handler',
      projectRoot: REPOSITORY_ROOT,
      depsLockFilePath: join(REPOSITORY_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: props.architecture ?? lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(30),
      role: this.role,
      environment,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: props.logLevel ?? lambda.ApplicationLogLevel.INFO,
      tracing: lambda.Tracing.ACTIVE,
      ...(props.network
        ? {
            vpc: props.network.vpc,
            vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
            securityGroups: [props.network.securityGroup],
          }
        : {}),
      ...(props.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      ...(props.deadLetterQueue ? { deadLetterQueue: props.deadLetterQueue } : {}),
      ...(props.retryAttempts === undefined ? {} : { retryAttempts: props.retryAttempts }),
      bundling: {
        // NodejsFunction's own build (one file) is replaced after it by splitBundleCommand's build, which
        // reports esbuild's warnings; the sizes NodejsFunction would print are those of the discarded file.
        logLevel: LogLevel.ERROR,
        format: OutputFormat.ESM,
        mainFields: ['module', 'main'],
        target: 'node22',
        banner: REQUIRE_BANNER,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // The SDK version we pin and test ships in the bundle, not the one the runtime happens to carry;
        // code splitting keeps it out of the import until a path uses a client.
        bundleAwsSDK: true,
        externalModules: [],
        ...(props.nodeModules?.length ? { nodeModules: [...props.nodeModules] } : {}),
        forceDockerBundling: false,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir: string, outputDir: string) => [
            splitBundleCommand(props.worker, inputDir, outputDir, props.nodeModules ?? []),
            ...copyStackConfigCommands(stackConfig, inputDir, outputDir),
            ...copyBundledFilesCommands(bundledFiles, inputDir, outputDir),
          ],
        },
      },
    });

    for (const secret of Object.values(props.secrets ?? {})) secret.grantRead(this.role);
    if (props.network) {
      this.role.addToPolicy(new iam.PolicyStatement({ actions: VPC_ATTACHMENT_ACTIONS, resources: ['*'] }));
    }

    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'nodejs22.x on purpose: the workers also run locally and in CI on Node 20/22 and are tested there; move to a newer runtime together with the machines.',
    });
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: props.network
        ? 'X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords) and the network interfaces Lambda manages in the VPC (ec2:*NetworkInterface*, ec2:DescribeSubnets, ec2:*PrivateIpAddresses) support no resource-level permissions that name them before they exist.'
        : 'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions.',
    });
  }
}

function workerEntry(worker: string): string {
  if (!WORKER_NAME.test(worker)) {
    throw new Error(
      `WorkerFunction: worker "${worker}" is not a folder name under functions/: use lower-case letters, digits and dashes.`,
    );
  }
  const entry = join(REPOSITORY_ROOT, 'functions', worker, 'handler.ts');
  if (!existsSync(entry)) {
    throw new Error(
      `WorkerFunction: ${relative(REPOSITORY_ROOT, entry)} does not exist: create it (exporting \`handler\`) or fix the worker name.`,
    );
  }
  return entry;
}

interface StackConfigSources {
  /** The directory the files are copied from (absolute). */
  readonly dir: string;
  /** Paths relative to dir, without duplicates. */
  readonly files: readonly string[];
}

function stackConfigSources(props: WorkerFunctionProps): StackConfigSources {
  const dir = props.stackConfigDir ?? stackConfigDir();
  const files = [...new Set(props.stackConfigFiles ?? [])];
  for (const file of files) {
    if (!STACK_CONFIG_FILE.test(file) || file.split('/').some((segment) => segment === '..')) {
      throw new Error(
        `WorkerFunction ${props.worker}: stack-config file "${file}" is not a path inside stack-config: use a relative path such as "toilless.yaml".`,
      );
    }
    if (!existsSync(join(dir, file))) {
      throw new Error(
        `WorkerFunction ${props.worker}: stack-config file ${join(dir, file)} does not exist: create it or remove "${file}" from stackConfigFiles.`,
      );
    }
  }
  return { dir, files };
}

/**
 * Shell commands that copy the stack-config files into the bundle. A directory inside the project is
 * addressed through inputDir, so the same commands work when bundling falls back to Docker.
 */
function copyStackConfigCommands(sources: StackConfigSources, inputDir: string, outputDir: string): string[] {
  const fromProject = relative(REPOSITORY_ROOT, sources.dir);
  const insideProject =
    fromProject !== '..' && !fromProject.startsWith(`..${sep}`) && !isAbsolute(fromProject);
  const sourceDir = insideProject ? join(inputDir, fromProject) : sources.dir;
  return sources.files.map((file) => {
    const target = join(outputDir, 'stack-config', ...file.split('/'));
    // -R: an entry may be a directory (grafana/dashboards).
    return `mkdir -p ${shellQuote(dirname(target))} && cp -R ${shellQuote(join(sourceDir, ...file.split('/')))} ${shellQuote(target)}`;
  });
}

function checkedBundledFiles(
  props: WorkerFunctionProps,
): readonly { readonly from: string; readonly to: string }[] {
  const files = props.bundledFiles ?? [];
  for (const { from, to } of files) {
    for (const path of [from, to]) {
      if (!STACK_CONFIG_FILE.test(path) || path.split('/').some((segment) => segment === '..')) {
        throw new Error(
          `WorkerFunction ${props.worker}: bundled file path "${path}" is not a relative path inside the repository or bundle: use a path such as "node_modules/dejavu-fonts-ttf/ttf/DejaVuSans.ttf".`,
        );
      }
    }
    if (!existsSync(join(REPOSITORY_ROOT, from))) {
      throw new Error(
        `WorkerFunction ${props.worker}: bundled file ${join(REPOSITORY_ROOT, from)} does not exist: install the package it comes from or fix the path.`,
      );
    }
  }
  return files;
}

/** Shell commands that copy repository files into the bundle, through inputDir as the stack-config copy does. */
function copyBundledFilesCommands(
  files: readonly { readonly from: string; readonly to: string }[],
  inputDir: string,
  outputDir: string,
): string[] {
  return files.map(({ from, to }) => {
    const target = join(outputDir, ...to.split('/'));
    return `mkdir -p ${shellQuote(dirname(target))} && cp -R ${shellQuote(join(inputDir, ...from.split('/')))} ${shellQuote(target)}`;
  });
}

/**
 * The shell command that builds the worker's bundle with code splitting, which NodejsFunction cannot
 * do (it gives esbuild an outfile; splitting needs an outdir): it overwrites NodejsFunction's index.mjs.
 * Locally it runs the project's esbuild, the one NodejsFunction runs; in Docker the image's.
 */
function splitBundleCommand(
  worker: string,
  inputDir: string,
  outputDir: string,
  external: readonly string[],
): string {
  const local = resolve(inputDir) === resolve(REPOSITORY_ROOT);
  const esbuild = local ? join(REPOSITORY_ROOT, 'node_modules', '.bin', 'esbuild') : 'esbuild';
  const entry = join(inputDir, 'functions', worker, 'handler.ts');
  return [esbuild, ...workerBundleArgs(entry, outputDir, external)].map(shellQuote).join(' ');
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}

function workerEnvironment(props: WorkerFunctionProps, bundlesStackConfig: boolean): Record<string, string> {
  const plain = props.environment ?? {};
  const secretNames = Object.keys(props.secrets ?? {});
  for (const name of [...Object.keys(plain), ...secretNames]) {
    if (!ENVIRONMENT_NAME.test(name)) {
      throw new Error(
        `WorkerFunction ${props.worker}: "${name}" is not a valid variable name: use upper-case letters, digits and underscores.`,
      );
    }
  }
  for (const name of secretNames) {
    const clash = [name, `${name}_ARN`].find((key) => key in plain);
    if (clash) {
      throw new Error(
        `WorkerFunction ${props.worker}: ${clash} is set in both environment and secrets: remove it from environment, the secret provides ${name}_ARN.`,
      );
    }
  }
  if ('TOILLESS_STACK_CONFIG' in plain) {
    throw new Error(
      `WorkerFunction ${props.worker}: TOILLESS_STACK_CONFIG is set by the bundle: remove it from environment and list the files in stackConfigFiles instead.`,
    );
  }
  if ('LOG_LEVEL' in plain) {
    throw new Error(
      `WorkerFunction ${props.worker}: LOG_LEVEL is derived from logLevel: remove it from environment and set logLevel instead.`,
    );
  }
  const level = (props.logLevel ?? lambda.ApplicationLogLevel.INFO).toLowerCase();
  const secretArns = Object.fromEntries(
    Object.entries(props.secrets ?? {}).map(([name, secret]) => [`${name}_ARN`, secret.secretArn]),
  );
  return {
    ...plain,
    ...secretArns,
    ...(bundlesStackConfig ? { TOILLESS_STACK_CONFIG: BUNDLED_STACK_CONFIG_DIR } : {}),
    LOG_LEVEL: level,
    NODE_OPTIONS: WORKER_NODE_OPTIONS,
  };
}

function validateSizing(props: WorkerFunctionProps): void {
  const { memorySize, timeout, reservedConcurrentExecutions, retryAttempts, worker } = props;
  if (
    memorySize !== undefined &&
    (!Number.isInteger(memorySize) || memorySize < 128 || memorySize > 10_240)
  ) {
    throw new Error(
      `WorkerFunction ${worker}: memorySize ${memorySize} is outside Lambda's 128-10240 MiB: pick a whole number in that range.`,
    );
  }
  if (timeout !== undefined && (timeout.toSeconds() < 1 || timeout.toSeconds() > 900)) {
    throw new Error(
      `WorkerFunction ${worker}: timeout ${timeout.toHumanString()} is outside Lambda's 1 s to 15 min: pick a value in that range.`,
    );
  }
  if (
    reservedConcurrentExecutions !== undefined &&
    (!Number.isInteger(reservedConcurrentExecutions) || reservedConcurrentExecutions < 1)
  ) {
    throw new Error(
      `WorkerFunction ${worker}: reservedConcurrentExecutions ${reservedConcurrentExecutions} would stop the function: reserve at least 1, or leave it unset.`,
    );
  }
  if (
    retryAttempts !== undefined &&
    (!Number.isInteger(retryAttempts) || retryAttempts < 0 || retryAttempts > 2)
  ) {
    throw new Error(
      `WorkerFunction ${worker}: retryAttempts ${retryAttempts} is outside Lambda's 0-2: pick 0, 1 or 2.`,
    );
  }
}
