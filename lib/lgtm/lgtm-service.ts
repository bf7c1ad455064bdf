import { Duration, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as efs from 'aws-cdk-lib/aws-efs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as servicediscovery from 'aws-cdk-lib/aws-servicediscovery';
import { Construct } from 'constructs';
import { type ComponentImage, imageReference, loadStackVersions } from '../../functions/shared/versions.js';
import { arm64FargateTask } from './arm64-task.js';
import type { ServiceConfigs } from './service-configs.js';

/** Where the init container writes the config; the main container mounts the same volume read-only. */
const SYNC_DIR = '/config';

/** Fargate's CPU units and the memory (MiB) each allows. */
const FARGATE_MEMORY: Readonly<Record<number, readonly [number, number]>> = {
  256: [512, 2048],
  512: [1024, 4096],
  1024: [2048, 8192],
  2048: [4096, 16384],
  4096: [8192, 30720],
};

const SERVICE_NAME = /^[a-z][a-z0-9-]{0,30}$/;
const SECRET_FILE = /^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/;

/** A URL in a synced file that the init container replaces with the value of a secret. */
export interface UrlSubstitution {
  /** The file, relative to the service's folder (e.g. "alertmanager.yml"). */
  readonly file: string;
  /** The URL written in the file (e.g. the docker compose address of the workers' webhook). */
  readonly placeholder: string;
  /** The secret holding the URL to put in its place. */
  readonly secret: ecs.Secret;
}

/** What a substituted URL may hold: no quote, space, `&`, `|` or backslash reaches sed or the YAML. */
const SUBSTITUTED_URL = '^https?://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~/-]*)?$';

/** A port the service listens on. */
export interface ServicePort {
  /** The container port, also the port clients use. */
  readonly port: number;
  /**
   * Offer the port under the service's short name through Service Connect. Ports only the members of a
   * cluster use (memberlist, gRPC between them) are reached at task addresses instead. @default true
   */
  readonly serviceConnect?: boolean;
}

/** State that outlives a task: an EFS access point mounted into the main container. */
export interface PersistentState {
  /** The file system of the stack's state. */
  readonly fileSystem: efs.IFileSystem;
  /** The service's access point (its own directory and POSIX user). */
  readonly accessPoint: efs.IAccessPoint;
  /** Where the main container sees it. */
  readonly containerPath: string;
}

export interface LgtmServiceProps {
  /** The cluster the service runs in. */
  readonly cluster: ecs.ICluster;
  /** The private DNS namespace: the service is http://<name>.<namespace>:<port>, and <name>:<port> through Service Connect. */
  readonly namespace: servicediscovery.PrivateDnsNamespace;
  /** The service's name in the namespace, the same host name the stack-config files use (e.g. "loki"). */
  readonly name: string;
  /** Image and tag, from stack-config/versions.yaml. */
  readonly image: ComponentImage;
  /** The stack-config bucket; the init container syncs `configFolder` from it. */
  readonly configs: ServiceConfigs;
  /** The folder under stack-config this service reads. */
  readonly configFolder: string;
  /** Files built at synth that join (or replace files of) the folder, by relative path. @default - none */
  readonly generatedConfigFiles?: Readonly<Record<string, string>>;
  /** Where the main container sees the synced folder (read-only). */
  readonly configMountPath: string;
  /** Ports the service listens on; the first is its main one. */
  readonly ports: readonly ServicePort[];
  /** The main container's command (arguments to the image's entry point). @default - the image's */
  readonly command?: readonly string[];
  /** Plain environment variables; never secret values (use `secrets`). @default - none */
  readonly environment?: Readonly<Record<string, string>>;
  /** Secrets the main container gets as variables, resolved by ECS at start. @default - none */
  readonly secrets?: Readonly<Record<string, ecs.Secret>>;
  /**
   * Secrets the init container writes as files under the config folder (path relative to it), for
   * services that read credentials from files (Alertmanager). @default - none
   */
  readonly secretFiles?: Readonly<Record<string, ecs.Secret>>;
  /**
   * Addresses known only once another stack is deployed (the workers' webhook URL): the init container
   * replaces a placeholder URL in a synced file with a secret's value, so the file in stack-config stays
   * the one docker compose uses. @default - none
   */
  readonly urlSubstitutions?: readonly UrlSubstitution[];
  /** vCPU in CPU units (256 = 0.25 vCPU). @default 256 */
  readonly cpu?: number;
  /** Memory in MiB; must fit the CPU (Fargate's table). @default 512 */
  readonly memoryLimitMiB?: number;
  /** Tasks to run. @default 1 */
  readonly desiredCount?: number;
  /**
   * Only one task may hold the state at a time (a lock file on EFS, SQLite): a deployment stops the old
   * task before it starts the new one. @default false
   */
  readonly singleWriter?: boolean;
  /** State on EFS. @default - none: the service keeps nothing across tasks (or keeps it in S3) */
  readonly state?: PersistentState;
  /** The main container's health check. @default - none (images without a shell) */
  readonly healthCheck?: ecs.HealthCheck;
  /** How long the task may start before its health counts. @default Duration.seconds(60) */
  readonly healthCheckGracePeriod?: Duration;
  /** How long the service's log group keeps logs. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** The subnets the tasks run in. @default - the private subnets with egress */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** The image of the init container. @default - versions.yaml `config-sync` of the configs' stack-config */
  readonly configSyncImage?: ComponentImage;
}

/**
 * One part of the LGTM stack as a Fargate service on ARM64 in private subnets: an init container syncs
 * its stack-config folder from S3 into the task before the main container starts, the folder's hash is
 * in the task definition (a changed file rolls this service only), Cloud Map gives it a DNS name for
 * clients outside ECS and Service Connect the short name the config files use, and a failed deployment
 * rolls back.
 */
export class LgtmService extends Construct {
  /** The ECS service. */
  readonly service: ecs.FargateService;
  /** Its task definition. */
  readonly taskDefinition: ecs.FargateTaskDefinition;
  /** The service's own container. */
  readonly container: ecs.ContainerDefinition;
  /** The container that syncs the config before `container` starts. */
  readonly configSync: ecs.ContainerDefinition;
  /** The log group of both containers. */
  readonly logGroup: logs.LogGroup;
  /** The name in the namespace. */
  readonly name: string;
  /** configHash of the service's folder, as set in CONFIG_SHA256. */
  readonly configHash: string;
  private readonly namespaceName: string;

  constructor(scope: Construct, id: string, props: LgtmServiceProps) {
    super(scope, id);
    validateServiceProps(props);
    const cpu = props.cpu ?? 256;
    const memoryLimitMiB = props.memoryLimitMiB ?? 512;
    this.name = props.name;
    this.namespaceName = props.namespace.namespaceName;
    const deployed = props.configs.deploy(props.configFolder, props.generatedConfigFiles ?? {});
    this.configHash = deployed.hash;

    ({ logGroup: this.logGroup, taskDefinition: this.taskDefinition } = arm64FargateTask(this, {
      cpu,
      memoryLimitMiB,
      logRetention: props.logRetention,
    }));
    this.taskDefinition.addVolume({ name: 'config' });

    this.configSync = this.taskDefinition.addContainer('ConfigSync', {
      image: ecs.ContainerImage.fromRegistry(
        imageReference(
          props.configSyncImage ?? loadStackVersions(props.configs.stackConfigDir)['config-sync'],
        ),
      ),
      essential: false,
      entryPoint: ['/bin/sh', '-c'],
      command: [configSyncScript(Object.keys(props.secretFiles ?? {}), props.urlSubstitutions ?? [])],
      environment: {
        CONFIG_BUCKET: props.configs.bucket.bucketName,
        CONFIG_PREFIX: props.configFolder,
      },
      secrets: Object.fromEntries([
        ...Object.values(props.secretFiles ?? {}).map((secret, index) => [`SECRET_FILE_${index}`, secret]),
        ...(props.urlSubstitutions ?? []).map(({ secret }, index) => [`SUBSTITUTE_URL_${index}`, secret]),
      ]),
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: `${props.name}-config-sync` }),
      memoryReservationMiB: 64,
    });
    this.configSync.addMountPoints({ sourceVolume: 'config', containerPath: SYNC_DIR, readOnly: false });
    props.configs.grantRead(this.taskDefinition.taskRole, props.configFolder);

    this.container = this.taskDefinition.addContainer('Main', {
      image: ecs.ContainerImage.fromRegistry(imageReference(props.image)),
      essential: true,
      ...(props.command ? { command: [...props.command] } : {}),
      environment: { ...props.environment, CONFIG_SHA256: deployed.hash },
      ...(props.secrets ? { secrets: { ...props.secrets } } : {}),
      portMappings: props.ports.map(({ port }) => ({
        containerPort: port,
        name: `${props.name}-${port}`,
        protocol: ecs.Protocol.TCP,
      })),
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: props.name }),
      ...(props.healthCheck ? { healthCheck: props.healthCheck } : {}),
      // Tempo's query frontend can hang on SIGTERM; ECS kills after this.
      stopTimeout: Duration.seconds(30),
    });
    this.container.addMountPoints({
      sourceVolume: 'config',
      containerPath: props.configMountPath,
      readOnly: true,
    });
    this.container.addContainerDependencies({
      container: this.configSync,
      condition: ecs.ContainerDependencyCondition.SUCCESS,
    });

    if (props.state) {
      const { fileSystem, accessPoint, containerPath } = props.state;
      this.taskDefinition.addVolume({
        name: 'state',
        efsVolumeConfiguration: {
          fileSystemId: fileSystem.fileSystemId,
          transitEncryption: 'ENABLED',
          authorizationConfig: { accessPointId: accessPoint.accessPointId, iam: 'ENABLED' },
        },
      });
      this.container.addMountPoints({ sourceVolume: 'state', containerPath, readOnly: false });
      fileSystem.grant(
        this.taskDefinition.taskRole,
        'elasticfilesystem:ClientMount',
        'elasticfilesystem:ClientWrite',
      );
    }

    const single = props.singleWriter === true;
    this.service = new ecs.FargateService(this, 'Service', {
      cluster: props.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount: props.desiredCount ?? 1,
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      assignPublicIp: false,
      circuitBreaker: { enable: true, rollback: true },
      // One writer: the old task stops (and releases its lock) before the new one starts.
      minHealthyPercent: single ? 0 : 100,
      maxHealthyPercent: single ? 100 : 200,
      healthCheckGracePeriod: props.healthCheckGracePeriod ?? Duration.seconds(60),
      cloudMapOptions: {
        name: props.name,
        cloudMapNamespace: props.namespace,
        dnsRecordType: servicediscovery.DnsRecordType.A,
        dnsTtl: Duration.seconds(10),
        container: this.container,
        containerPort: props.ports[0]?.port as number,
      },
      serviceConnectConfiguration: {
        namespace: props.namespace.namespaceArn,
        services: props.ports
          .filter(({ serviceConnect }) => serviceConnect !== false)
          .map(({ port }) => ({
            portMappingName: `${props.name}-${port}`,
            dnsName: props.name,
            port,
          })),
        logDriver: ecs.LogDrivers.awsLogs({
          logGroup: this.logGroup,
          streamPrefix: `${props.name}-service-connect`,
        }),
      },
    });
    if (props.state) props.state.fileSystem.connections.allowDefaultPortFrom(this.service);
    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'The environment holds no secret: bucket names, the region, paths and the config hash. Secrets reach the containers through ECS secrets from Secrets Manager.',
    });
    // The tasks start only once their config is in the bucket.
    this.service.node.addDependency(deployed.deployment);
  }

  /** http://<name>.<namespace>:<port>, the address of the service from anywhere in the VPC. */
  url(port: number = this.container.portMappings[0]?.containerPort ?? 80): string {
    return `http://${this.name}.${this.namespaceName}:${port}`;
  }

  /** Lets `client` reach this service on `port`. */
  allowFrom(client: ec2.IConnectable, port: number): void {
    this.service.connections.allowFrom(client, ec2.Port.tcp(port), `from ${describe(client)} on ${port}`);
  }
}

function describe(client: ec2.IConnectable): string {
  return client instanceof Construct ? client.node.path.split('/').slice(-2).join('/') : 'a client';
}

/**
 * The init container's script: sync the service's prefix, then write each secret file from its
 * variable (never echoed). The script holds no CloudFormation token: the bucket arrives in the environment.
 */
export function configSyncScript(
  secretFiles: readonly string[],
  substitutions: readonly Pick<UrlSubstitution, 'file' | 'placeholder'>[] = [],
): string {
  const lines = [
    'set -eu',
    `aws s3 sync --delete --no-progress "s3://$CONFIG_BUCKET/$CONFIG_PREFIX/" ${SYNC_DIR}/`,
  ];
  secretFiles.forEach((file, index) => {
    const path = `${SYNC_DIR}/${file}`;
    lines.push(
      `mkdir -p "$(dirname ${path})"`,
      `printf '%s' "$SECRET_FILE_${index}" > ${path}`,
      `chmod 0444 ${path}`,
    );
  });
  substitutions.forEach(({ file, placeholder }, index) => {
    const variable = `SUBSTITUTE_URL_${index}`;
    const path = `${SYNC_DIR}/${file}`;
    lines.push(
      // A value that is not a plain http(s) URL stops the task here, before the service reads it.
      `printf '%s' "$${variable}" | grep -qE '${SUBSTITUTED_URL}' || { echo "${variable} (for ${file}) is not an http(s) URL" >&2; exit 1; }`,
      `grep -qF '${placeholder}' ${path} || { echo "${file} no longer holds ${placeholder}" >&2; exit 1; }`,
      `sed -i "s|${sedPattern(placeholder)}|$${variable}|g" ${path}`,
    );
  });
  return lines.join('\n');
}

/** The placeholder as a basic regular expression: its dots and slashes taken literally. */
function sedPattern(placeholder: string): string {
  return placeholder.replace(/[.[\]*^$\\]/g, (char) => `\\${char}`);
}

function validateServiceProps(props: LgtmServiceProps): void {
  const where = `LgtmService ${props.name}`;
  if (!SERVICE_NAME.test(props.name)) {
    throw new Error(
      `${where}: the name must be a lower-case DNS label such as "loki" (it becomes <name>.<namespace>).`,
    );
  }
  if (props.ports.length === 0) {
    throw new Error(`${where}: give at least one port: clients reach the service on it.`);
  }
  for (const { port } of props.ports) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(`${where}: port ${port} is not a TCP port (1-65535).`);
    }
  }
  const cpu = props.cpu ?? 256;
  const memory = props.memoryLimitMiB ?? 512;
  const range = FARGATE_MEMORY[cpu];
  if (!range) {
    throw new Error(`${where}: cpu ${cpu} is not a Fargate size: use 256, 512, 1024, 2048 or 4096.`);
  }
  if (memory < range[0] || memory > range[1]) {
    throw new Error(
      `${where}: ${memory} MiB does not fit ${cpu} CPU units on Fargate: use ${range[0]} to ${range[1]} MiB, or change cpu.`,
    );
  }
  if (props.singleWriter && (props.desiredCount ?? 1) !== 1) {
    throw new Error(
      `${where}: singleWriter keeps its state for one task: desiredCount must be 1 (it is ${props.desiredCount}).`,
    );
  }
  for (const { file, placeholder } of props.urlSubstitutions ?? []) {
    if (!SECRET_FILE.test(file)) {
      throw new Error(
        `${where}: substituted file "${file}" must be a relative path such as "alertmanager.yml".`,
      );
    }
    if (!/^https?:\/\/[A-Za-z0-9.:/_-]+$/.test(placeholder)) {
      throw new Error(
        `${where}: placeholder "${placeholder}" must be a plain http(s) URL (letters, digits, . : / _ -) as written in ${file}.`,
      );
    }
  }
  for (const file of Object.keys(props.secretFiles ?? {})) {
    if (!SECRET_FILE.test(file)) {
      throw new Error(`${where}: secret file "${file}" must be a relative path such as "secrets/token".`);
    }
  }
}

/** What every service construct of the stack takes. */
export interface StackServiceProps {
  /** The cluster the service runs in. */
  readonly cluster: ecs.ICluster;
  /** The stack's private namespace. */
  readonly namespace: servicediscovery.PrivateDnsNamespace;
  /** The stack-config bucket. */
  readonly configs: ServiceConfigs;
  /** Image and tag, from stack-config/versions.yaml. */
  readonly image: ComponentImage;
  /** How long the service's logs are kept. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** vCPU in CPU units. @default - the service's own size */
  readonly cpu?: number;
  /** Memory in MiB. @default - the service's own size */
  readonly memoryLimitMiB?: number;
}

/** The shared props only, so that a construct's own props (its state, its bucket) never leak into the service. */
export function stackServiceBase(
  props: StackServiceProps,
): Pick<
  LgtmServiceProps,
  'cluster' | 'namespace' | 'configs' | 'image' | 'logRetention' | 'cpu' | 'memoryLimitMiB'
> {
  return {
    cluster: props.cluster,
    namespace: props.namespace,
    configs: props.configs,
    image: props.image,
    ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
    ...(props.cpu === undefined ? {} : { cpu: props.cpu }),
    ...(props.memoryLimitMiB === undefined ? {} : { memoryLimitMiB: props.memoryLimitMiB }),
  };
}

/** A container health check over HTTP with the image's busybox wget. */
export function httpHealthCheck(port: number, path: string): ecs.HealthCheck {
  return {
    command: ['CMD-SHELL', `wget -q -O /dev/null http://127.0.0.1:${port}${path} || exit 1`],
    interval: Duration.seconds(30),
    timeout: Duration.seconds(5),
    retries: 3,
    startPeriod: Duration.seconds(60),
  };
}
