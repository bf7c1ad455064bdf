import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { App } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import { imageReference } from '../../../functions/shared/versions.js';
import {
  SAMPLE_APP_DOCKERFILE,
  SampleApp,
  type SampleAppProps,
  sampleAppHealthCheckCommand,
} from '../../../lib/lgtm/sample-app.js';
import { configFiles } from '../../../lib/lgtm/service-configs.js';
import { ConstructTestStack } from '../app-fixture.js';
import {
  containerNamed,
  containersOf,
  environmentOf,
  type Json,
  lgtmTestBase,
  resourcesOf,
  snapshotOf,
} from './lgtm-fixture.js';
import { freePort } from './real-binary.js';

const REPOSITORY_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const run = promisify(execFile);

let fixture: ConstructTestStack | undefined;
let scratch: string | undefined;
let app: ChildProcess | undefined;
let receiver: Server | undefined;

afterEach(async () => {
  if (app && app.exitCode === null && app.signalCode === null) {
    app.kill('SIGKILL');
    await once(app, 'exit');
  }
  app = undefined;
  receiver?.close();
  receiver = undefined;
  fixture?.dispose();
  fixture = undefined;
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
});

function sampleAppStack(
  props: Partial<Pick<SampleAppProps, 'cpu' | 'memoryLimitMiB' | 'desiredCount'>> = {},
) {
  fixture = new ConstructTestStack();
  const base = lgtmTestBase(fixture.stack);
  const sampleApp = new SampleApp(fixture.stack, 'SampleApp', {
    cluster: base.cluster,
    vpc: base.vpc,
    namespace: base.namespace,
    nodeImage: base.versions.toilless,
    otlpHttpEndpoint: 'http://otel-collector.toilless.local:4318',
    ...props,
  });
  return { sampleApp, base, fixture };
}

function ofType(resources: Record<string, Json>, type: string): Json[] {
  return Object.values(resources).filter((resource) => resource.Type === type);
}

interface DockerImageSource {
  /** The staged build context, as an absolute path. */
  readonly directory: string;
  readonly dockerFile: string;
  readonly dockerBuildArgs: Record<string, string>;
  readonly platform: string;
}

/** The one image of the assets manifest the CDK CLI builds from: its staged context and build settings. */
function dockerImageSource(test: ConstructTestStack): DockerImageSource {
  const assembly = (test.stack.node.root as App).synth();
  const manifest = JSON.parse(
    readFileSync(join(assembly.directory, `${test.stack.artifactId}.assets.json`), 'utf8'),
  );
  const images = Object.values(manifest.dockerImages) as Array<{ source: DockerImageSource }>;
  expect(images).toHaveLength(1);
  const source = images[0]!.source;
  return { ...source, directory: join(assembly.directory, source.directory) };
}

/** The Dockerfile's stages: the instructions after each FROM, comments and blank lines left out. */
function dockerfileStages(text: string): string[][] {
  const instructions = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const stages: string[][] = [];
  for (const instruction of instructions) {
    if (instruction.startsWith('FROM ')) stages.push([instruction]);
    else stages.at(-1)?.push(instruction);
  }
  return stages;
}

describe('Sample app on ECS', () => {
  it('matches the snapshot', () => {
    // Prepare and Act
    const { fixture } = sampleAppStack();

    // Assess
    expect(snapshotOf(fixture.stack)).toMatchSnapshot();
  });

  it('runs its image on ARM64 as a non-root user, read-only, with the collector as its OTLP endpoint', () => {
    // Prepare and Act
    const { fixture } = sampleAppStack();

    // Assess
    const resources = resourcesOf(fixture.stack);
    const [task] = ofType(resources, 'AWS::ECS::TaskDefinition');
    expect(task.Properties).toMatchObject({
      Cpu: '256',
      Memory: '512',
      RequiresCompatibilities: ['FARGATE'],
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
    });
    const main = containerNamed(containersOf(fixture.stack, 'SampleApp'), 'Main');
    expect(main.User).toBe('1000:1000');
    expect(main.ReadonlyRootFilesystem).toBe(true);
    expect(environmentOf(main)).toEqual({
      HOST: '0.0.0.0',
      PORT: '8000',
      OTEL_SERVICE_NAME: 'sample-app',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector.toilless.local:4318',
    });
    expect(main.PortMappings).toEqual([{ ContainerPort: 8000, Name: 'sample-app-8000', Protocol: 'tcp' }]);
    expect(main.HealthCheck.Command).toEqual(sampleAppHealthCheckCommand(8000));
    expect(JSON.stringify(main.Image)).toContain('container-assets');
    expect(main.Secrets).toBeUndefined();
  });

  it('runs in private subnets under its Cloud Map name, rolling back a failed deployment', () => {
    // Prepare and Act
    const { fixture, base } = sampleAppStack({ desiredCount: 2 });

    // Assess
    const resources = resourcesOf(fixture.stack);
    const [service] = ofType(resources, 'AWS::ECS::Service');
    const network = service.Properties.NetworkConfiguration.AwsvpcConfiguration;
    expect(network.AssignPublicIp).toBe('DISABLED');
    const privateSubnets = base.vpc.privateSubnets.map((subnet) => fixture.stack.resolve(subnet.subnetId));
    expect(network.Subnets).toEqual(privateSubnets);
    expect(service.Properties.DesiredCount).toBe(2);
    expect(service.Properties.DeploymentConfiguration.DeploymentCircuitBreaker).toEqual({
      Enable: true,
      Rollback: true,
    });
    // No Service Connect proxy shares the task that /stress measures.
    expect(service.Properties.ServiceConnectConfiguration).toBeUndefined();
    expect(service.Properties.ServiceRegistries).toHaveLength(1);
    expect(ofType(resources, 'AWS::ServiceDiscovery::Service').map((s) => s.Properties.Name)).toEqual([
      'sample-app',
    ]);
    expect(
      ofType(resources, 'AWS::Logs::LogGroup').map((group) => group.Properties.RetentionInDays),
    ).toContain(30);
  });

  it('lets in only the clients it is given, on 8000, and out only to AWS APIs on 443 and the collector', () => {
    // Prepare
    const { sampleApp, fixture, base } = sampleAppStack();
    const prometheus = new ec2.SecurityGroup(fixture.stack, 'Prometheus', { vpc: base.vpc });

    // Act
    sampleApp.allowFrom(prometheus, 'from prometheus (scrape)');

    // Assess
    const resources = resourcesOf(fixture.stack);
    const group = resources[fixture.stack.getLogicalId(sampleApp.securityGroup.node.defaultChild as never)];
    expect(group.Properties.SecurityGroupIngress).toBeUndefined();
    expect(group.Properties.SecurityGroupEgress).toEqual([
      expect.objectContaining({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443, IpProtocol: 'tcp' }),
      expect.objectContaining({
        CidrIp: fixture.stack.resolve(base.vpc.vpcCidrBlock),
        FromPort: 4318,
        ToPort: 4318,
        IpProtocol: 'tcp',
      }),
    ]);
    const ingress = ofType(resources, 'AWS::EC2::SecurityGroupIngress');
    expect(ingress.map((rule) => rule.Properties)).toEqual([
      expect.objectContaining({
        FromPort: 8000,
        ToPort: 8000,
        IpProtocol: 'tcp',
        SourceSecurityGroupId: fixture.stack.resolve(prometheus.securityGroupId),
      }),
    ]);
  });

  it('refuses a size Fargate does not offer for one Node.js thread, saying what to use', () => {
    // Act and Assess
    expect(() => sampleAppStack({ cpu: 2048, memoryLimitMiB: 4096 })).toThrow(/use 256, 512 or 1024/);
    expect(() => sampleAppStack({ memoryLimitMiB: 4096 })).toThrow(
      /4096 MiB does not fit 256 CPU units on Fargate: use 512 to 2048 MiB/,
    );
    expect(() => sampleAppStack({ desiredCount: 0 })).toThrow(/desiredCount 0 is not a number of tasks/);
  });
});

describe('Sample app image', () => {
  const dockerfile = readFileSync(join(REPOSITORY_ROOT, SAMPLE_APP_DOCKERFILE), 'utf8');
  const stages = dockerfileStages(dockerfile);
  const runtime = stages.at(-1) ?? [];

  it('builds on the Node.js image versions.yaml names, for linux/arm64, and runs as the image user node', () => {
    // Prepare and Act
    const { base } = sampleAppStack();

    // Assess: the Dockerfile's default is the image the CDK passes.
    const nodeImage = imageReference(base.versions.toilless);
    expect(dockerfile).toMatch(new RegExp(`^ARG NODE_IMAGE=${nodeImage.replace(/\./g, '\\.')}$`, 'm'));
    const source = dockerImageSource(fixture as ConstructTestStack);
    expect(source.dockerBuildArgs).toEqual({ NODE_IMAGE: nodeImage });
    expect(source.platform).toBe('linux/arm64');
    expect(source.dockerFile).toBe(SAMPLE_APP_DOCKERFILE);
    expect(stages.map((stage) => stage[0])).toEqual([
      `FROM --platform=$BUILDPLATFORM \${NODE_IMAGE} AS bundle`,
      `FROM \${NODE_IMAGE}`,
    ]);
    expect(runtime).toContain('USER node');
    expect(runtime.at(-1)).toBe('CMD ["node", "sample-app.mjs"]');
    // The bundle step installs from the lockfile, exactly.
    expect(stages[0]).toContain('RUN npm ci --include=dev --ignore-scripts --no-audit --no-fund');
  });

  it('sends Docker only the files the build uses', () => {
    // Prepare and Act: CDK stages the build context at synth as `docker build` would see it.
    const { fixture } = sampleAppStack();
    const staged = dockerImageSource(fixture).directory;

    // Assess
    expect(configFiles(staged)).toEqual([
      '.dockerignore',
      '.npmrc',
      'examples/sample-app/Dockerfile',
      'examples/sample-app/bundle.mjs',
      'examples/sample-app/config.ts',
      'examples/sample-app/main.ts',
      'examples/sample-app/metrics.ts',
      'examples/sample-app/parameters.ts',
      'examples/sample-app/routes.ts',
      'examples/sample-app/server.ts',
      'examples/sample-app/telemetry.ts',
      'package-lock.json',
      'package.json',
      'tsconfig.json',
    ]);
  });

  it("bundles from the staged context with the Dockerfile's own command into one file that serves /healthz and /metrics and exports traces", async () => {
    // Prepare: the staged context with the dependencies `npm ci` would install, and an OTLP receiver.
    const { fixture } = sampleAppStack();
    const staged = dockerImageSource(fixture).directory;
    symlinkSync(join(REPOSITORY_ROOT, 'node_modules'), join(staged, 'node_modules'));
    const bundleStep = stages[0]?.find((line) => line.startsWith('RUN node examples/sample-app/bundle.mjs '));
    const outfile = bundleStep?.split(' ').at(-1) as string;
    expect(runtime).toContain(`COPY --from=bundle /build/${outfile} ./sample-app.mjs`);
    const exported: string[] = [];
    receiver = createServer((request, response) => {
      exported.push(`${request.method} ${request.url}`);
      request.resume();
      request.on('end', () => response.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    const receiverPort = (receiver.address() as { port: number }).port;

    // Act: the bundle step, then the bundle alone in an empty folder, as the last stage runs it.
    await run('sh', ['-c', (bundleStep as string).slice('RUN '.length)], { cwd: staged });
    scratch = mkdtempSync(join(tmpdir(), 'toilless-sample-app-image-'));
    mkdirSync(join(scratch, 'app'));
    copyFileSync(join(staged, outfile), join(scratch, 'app', 'sample-app.mjs'));
    const port = await freePort();
    app = spawn('node', ['sample-app.mjs'], {
      cwd: join(scratch, 'app'),
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: String(port),
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiverPort}`,
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    app.stdout?.on('data', (chunk) => {
      output += chunk;
    });
    app.stderr?.on('data', (chunk) => {
      output += chunk;
    });
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 20_000;
    let healthy = false;
    while (!healthy && Date.now() < deadline && app.exitCode === null) {
      healthy = await fetch(`${base}/healthz`).then(
        (response) => response.ok,
        () => false,
      );
      if (!healthy) await new Promise((resolve) => setTimeout(resolve, 200));
    }

    // Assess
    expect(healthy, output).toBe(true);
    expect((await fetch(`${base}/products`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('http_request_duration_seconds_bucket{le="0.5",method="GET",route="/products"');
    expect(metrics).toContain('process_cpu_seconds_total');
    // The task definition's health check passes against it.
    const [, command, ...args] = sampleAppHealthCheckCommand(port);
    await expect(run(command as string, args)).resolves.toBeDefined();
    const exportDeadline = Date.now() + 10_000;
    while (!exported.includes('POST /v1/traces') && Date.now() < exportDeadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(exported, output).toContain('POST /v1/traces');
    app.kill('SIGTERM');
    const [code] = (await once(app, 'exit')) as [number | null];
    expect(code, output).toBe(0);
  }, 60_000);

  it('answers the health check with a failure when nothing listens', async () => {
    // Prepare
    const port = await freePort();
    const [, command, ...args] = sampleAppHealthCheckCommand(port);

    // Act and Assess
    await expect(run(command as string, args)).rejects.toMatchObject({ code: 1 });
  });
});
