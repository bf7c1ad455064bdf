import { fileURLToPath } from 'node:url';
import { Duration, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as servicediscovery from 'aws-cdk-lib/aws-servicediscovery';
import { Construct } from 'constructs';
import { type ComponentImage, imageReference } from '../../functions/shared/versions.js';
import { arm64FargateTask } from './arm64-task.js';

/** The name in the namespace; prometheus.yml's `sample-app` host. */
export const SAMPLE_APP_NAME = 'sample-app';
/** The port the app listens on, which the shipped scrape job and probe use. */
export const SAMPLE_APP_PORT = 8000;
/** The `node` user of the official Node.js images, which the Dockerfile's last stage runs as. */
export const SAMPLE_APP_USER = '1000:1000';
/** The Dockerfile, relative to the build context (the repository root). */
export const SAMPLE_APP_DOCKERFILE = 'examples/sample-app/Dockerfile';

/** The repository root: the Dockerfile installs from its package-lock.json. */
const REPOSITORY_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface SampleAppProps {
  /** The cluster the service runs in. */
  readonly cluster: ecs.ICluster;
  /** The VPC of the cluster: the tasks run in its private subnets. */
  readonly vpc: ec2.IVpc;
  /** The stack's namespace: the app is http://sample-app.<namespace>:8000 in Cloud Map DNS. */
  readonly namespace: servicediscovery.PrivateDnsNamespace;
  /** The Node.js image both stages of the Dockerfile build on (versions.yaml `toilless`). */
  readonly nodeImage: ComponentImage;
  /** Where traces and logs go: the collector's OTLP/HTTP base URL (OTEL_EXPORTER_OTLP_ENDPOINT). */
  readonly otlpHttpEndpoint: string;
  /** The build context holding examples/sample-app/Dockerfile and .dockerignore. @default - the repository root */
  readonly buildContext?: string;
  /** vCPU in CPU units. @default 256 */
  readonly cpu?: number;
  /** Memory in MiB. @default 512 */
  readonly memoryLimitMiB?: number;
  /** Tasks to run. @default 1 */
  readonly desiredCount?: number;
  /** How long the app's logs are kept. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The container health check: the image has no curl or wget, so Node.js itself asks /healthz (a hung
 * app fails it by the timeout).
 */
export function sampleAppHealthCheckCommand(port: number = SAMPLE_APP_PORT): string[] {
  return [
    'CMD',
    'node',
    '-e',
    `fetch('http://127.0.0.1:${port}/healthz',{signal:AbortSignal.timeout(4000)}).then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))`,
  ];
}

/**
 * The instrumented sample app (examples/sample-app) as a Fargate service on ARM64 in private subnets,
 * at http://sample-app.<namespace>:8000: the game day's target on AWS. Its image is built from
 * examples/sample-app/Dockerfile at deploy. It sends traces and logs to the collector over OTLP/HTTP
 * and lets in only the clients it is given (`allowFrom`), on its port; outbound it reaches the
 * collector and, on 443, ECR and CloudWatch Logs.
 */
export class SampleApp extends Construct {
  /** The ECS service. */
  readonly service: ecs.FargateService;
  /** Its task definition. */
  readonly taskDefinition: ecs.FargateTaskDefinition;
  /** The app's container. */
  readonly container: ecs.ContainerDefinition;
  /** The image, built from the Dockerfile for linux/arm64. */
  readonly image: ecrAssets.DockerImageAsset;
  /** The security group of the tasks. */
  readonly securityGroup: ec2.SecurityGroup;
  /** The app's log group. */
  readonly logGroup: logs.LogGroup;
  /** http://sample-app.<namespace>:8000, from anywhere in the VPC that the security group lets in. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: SampleAppProps) {
    super(scope, id);
    const cpu = props.cpu ?? 256;
    const memoryLimitMiB = props.memoryLimitMiB ?? 512;
    const desiredCount = props.desiredCount ?? 1;
    if (![256, 512, 1024].includes(cpu)) {
      throw new Error(
        `SampleApp: cpu ${cpu} is not a size for one Node.js thread on Fargate: use 256, 512 or 1024.`,
      );
    }
    if (memoryLimitMiB < cpu * 2 || memoryLimitMiB > cpu * 8) {
      throw new Error(
        `SampleApp: ${memoryLimitMiB} MiB does not fit ${cpu} CPU units on Fargate: use ${cpu * 2} to ${cpu * 8} MiB, or change cpu.`,
      );
    }
    if (!Number.isInteger(desiredCount) || desiredCount < 1) {
      throw new Error(`SampleApp: desiredCount ${desiredCount} is not a number of tasks: use 1 or more.`);
    }
    this.url = `http://${SAMPLE_APP_NAME}.${props.namespace.namespaceName}:${SAMPLE_APP_PORT}`;

    this.image = new ecrAssets.DockerImageAsset(this, 'Image', {
      directory: props.buildContext ?? REPOSITORY_ROOT,
      file: SAMPLE_APP_DOCKERFILE,
      platform: ecrAssets.Platform.LINUX_ARM64,
      buildArgs: { NODE_IMAGE: imageReference(props.nodeImage) },
    });
    ({ logGroup: this.logGroup, taskDefinition: this.taskDefinition } = arm64FargateTask(this, {
      cpu,
      memoryLimitMiB,
      logRetention: props.logRetention,
    }));
    this.container = this.taskDefinition.addContainer('Main', {
      image: ecs.ContainerImage.fromDockerImageAsset(this.image),
      essential: true,
      // The image's USER too; here as well, so the task never runs it as root whatever the image says.
      user: SAMPLE_APP_USER,
      readonlyRootFilesystem: true,
      environment: {
        HOST: '0.0.0.0',
        PORT: String(SAMPLE_APP_PORT),
        OTEL_SERVICE_NAME: SAMPLE_APP_NAME,
        OTEL_EXPORTER_OTLP_ENDPOINT: props.otlpHttpEndpoint,
      },
      portMappings: [
        {
          containerPort: SAMPLE_APP_PORT,
          name: `${SAMPLE_APP_NAME}-${SAMPLE_APP_PORT}`,
          protocol: ecs.Protocol.TCP,
        },
      ],
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: SAMPLE_APP_NAME }),
      healthCheck: {
        command: sampleAppHealthCheckCommand(),
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(15),
      },
      // The app lets requests in flight finish for up to 10 s on SIGTERM, then flushes its exporters.
      stopTimeout: Duration.seconds(15),
    });

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'The sample app: in from Prometheus, the blackbox exporter and game-day clients on 8000',
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      'ECR image pulls and CloudWatch Logs (AWS APIs, through the NAT gateway)',
    );
    this.securityGroup.addEgressRule(
      ec2.Peer.ipv4(props.vpc.vpcCidrBlock),
      ec2.Port.tcp(4318),
      'OTLP/HTTP to the collector',
    );

    this.service = new ecs.FargateService(this, 'Service', {
      cluster: props.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [this.securityGroup],
      assignPublicIp: false,
      circuitBreaker: { enable: true, rollback: true },
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      healthCheckGracePeriod: Duration.seconds(30),
      cloudMapOptions: {
        name: SAMPLE_APP_NAME,
        cloudMapNamespace: props.namespace,
        dnsRecordType: servicediscovery.DnsRecordType.A,
        dnsTtl: Duration.seconds(10),
        container: this.container,
        containerPort: SAMPLE_APP_PORT,
      },
      // No Service Connect: its proxy would take a share of the small task that /stress measures, and
      // its name would not resolve in tasks started before the app was enabled. Prometheus, the
      // blackbox exporter and game-day hosts reach it at its Cloud Map name.
    });
    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        "The environment holds no secret: the listen address, the port, the service name and the collector's address.",
    });
    Validations.of(this.taskDefinition.obtainExecutionRole()).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ecr:GetAuthorizationToken, to pull the image, takes no resource; the pull itself is granted on the CDK asset repository only.',
    });
  }

  /** Lets `client` reach the app on its port. */
  allowFrom(client: ec2.IConnectable, description: string): void {
    this.service.connections.allowFrom(client, ec2.Port.tcp(SAMPLE_APP_PORT), description);
  }
}
