import { Aws, Duration } from 'aws-cdk-lib';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { CLUSTER_GRPC_PORT, MEMBERLIST_PORT } from '../../functions/service-configs/cluster.js';
import { type ComponentImage, loadStackVersions } from '../../functions/shared/versions.js';
import {
  httpHealthCheck,
  LgtmService,
  type ServicePort,
  type StackServiceProps,
  stackServiceBase,
} from './lgtm-service.js';
import { LOKI_PORT } from './loki.js';
import { TelemetryBucket } from './telemetry-bucket.js';

/** The config file every Loki task of the large profile reads; each starts with its own -target. */
export const LOKI_LARGE_CONFIG = '/etc/loki/loki-large.yaml';

/** How many tasks of one path run, and how large each is. */
export interface LokiPathSize {
  /** Tasks. */
  readonly desiredCount: number;
  /** vCPU in CPU units. */
  readonly cpu: number;
  /** Memory in MiB. */
  readonly memoryLimitMiB: number;
}

export type LokiPath = 'write' | 'read' | 'backend' | 'gateway';

/** The large profile's sizes: three writers for replication factor 3, two of everything else. */
export const LOKI_LARGE_SIZES: Readonly<Record<LokiPath, LokiPathSize>> = {
  write: { desiredCount: 3, cpu: 1024, memoryLimitMiB: 4096 },
  read: { desiredCount: 2, cpu: 1024, memoryLimitMiB: 2048 },
  backend: { desiredCount: 2, cpu: 1024, memoryLimitMiB: 2048 },
  gateway: { desiredCount: 2, cpu: 256, memoryLimitMiB: 512 },
};

/** The object actions each path needs: the read path never writes, only the backend (compactor) deletes. */
const OBJECT_ACTIONS: Readonly<Record<Exclude<LokiPath, 'gateway'>, readonly string[]>> = {
  write: ['s3:GetObject', 's3:PutObject'],
  read: ['s3:GetObject'],
  backend: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
};

export interface LokiSimpleScalableProps extends Omit<StackServiceProps, 'cpu' | 'memoryLimitMiB'> {
  /** Days Loki keeps logs (limits_config.retention_period of loki-large.yaml); the bucket keeps them a week longer. */
  readonly retentionDays: number;
  /** Where the bucket's server access logs go. */
  readonly accessLogsBucket: s3.IBucket;
  /** Tasks and size per path. @default LOKI_LARGE_SIZES */
  readonly sizes?: Partial<Readonly<Record<LokiPath, LokiPathSize>>>;
  /** Most read tasks the CPU-based scaling may run. @default 6 */
  readonly maxReadTasks?: number;
  /** The gateway's image (nginx in front of the write and read paths). @default - versions.yaml `loki-gateway` of the configs' stack-config */
  readonly gatewayImage?: ComponentImage;
}

/**
 * Loki 3.4 in simple scalable mode (stack-config/loki/loki-large.yaml): the write, read and backend
 * services (-target=write|read|backend) share their rings over memberlist, found through their Cloud
 * Map records, and a gateway named `loki` sends pushes to the write path and queries to the read path,
 * so clients keep using http://loki:3100. Chunks and index are in the same kind of bucket as the small
 * profile's.
 */
export class LokiSimpleScalable extends Construct {
  /** The gateway: the service clients reach as loki. */
  readonly service: LgtmService;
  /** The write, read and backend services, by path. */
  readonly paths: Readonly<Record<'write' | 'read' | 'backend', LgtmService>>;
  /** Loki's bucket. */
  readonly storage: TelemetryBucket;

  constructor(scope: Construct, id: string, props: LokiSimpleScalableProps) {
    super(scope, id);
    const sizes = { ...LOKI_LARGE_SIZES, ...props.sizes };
    const maxReadTasks = props.maxReadTasks ?? 6;
    if (!Number.isInteger(maxReadTasks) || maxReadTasks < sizes.read.desiredCount) {
      throw new Error(
        `LokiSimpleScalable: maxReadTasks (${maxReadTasks}) must be a whole number of at least the read path's desiredCount (${sizes.read.desiredCount}).`,
      );
    }
    if (sizes.write.desiredCount < 3) {
      throw new Error(
        `LokiSimpleScalable: the write path needs at least 3 tasks: loki-large.yaml writes every stream to 3 ingesters (got ${sizes.write.desiredCount}).`,
      );
    }
    this.storage = new TelemetryBucket(this, 'Storage', {
      retentionDays: props.retentionDays,
      accessLogsBucket: props.accessLogsBucket,
      accessLogsPrefix: 'loki/',
    });
    const base = stackServiceBase(props);
    const memberPorts: ServicePort[] = [
      { port: CLUSTER_GRPC_PORT, serviceConnect: false },
      { port: MEMBERLIST_PORT, serviceConnect: false },
    ];
    const path = (target: 'write' | 'read' | 'backend', grace: Duration): LgtmService => {
      const size = sizes[target];
      const service = new LgtmService(this, capitalized(target), {
        ...base,
        name: `loki-${target}`,
        configFolder: 'loki',
        configMountPath: '/etc/loki',
        ports: [{ port: LOKI_PORT }, ...memberPorts],
        command: [`-config.file=${LOKI_LARGE_CONFIG}`, '-config.expand-env=true', `-target=${target}`],
        environment: {
          LOKI_S3_BUCKET: this.storage.bucket.bucketName,
          AWS_REGION: Aws.REGION,
          TOILLESS_NAMESPACE: props.namespace.namespaceName,
        },
        desiredCount: size.desiredCount,
        cpu: size.cpu,
        memoryLimitMiB: size.memoryLimitMiB,
        healthCheck: httpHealthCheck(LOKI_PORT, '/ready'),
        healthCheckGracePeriod: grace,
      });
      this.storage.grantObjectActions(service.taskDefinition.taskRole, OBJECT_ACTIONS[target]);
      return service;
    };
    // Ingesters report ready only once they have joined the ring and replayed their WAL.
    const write = path('write', Duration.seconds(180));
    const read = path('read', Duration.seconds(90));
    const backend = path('backend', Duration.seconds(120));
    this.paths = { write, read, backend };

    // Every member gossips with and calls every other one; nobody else reaches these ports.
    const members = [write, read, backend];
    for (const server of members) {
      for (const client of members) {
        server.allowFrom(client.service, MEMBERLIST_PORT);
        server.allowFrom(client.service, CLUSTER_GRPC_PORT);
      }
    }
    // Queriers and rulers ask the compactor (common.compactor_address) about delete requests.
    backend.allowFrom(read.service, LOKI_PORT);

    const scaling = read.service.autoScaleTaskCount({
      minCapacity: sizes.read.desiredCount,
      maxCapacity: maxReadTasks,
    });
    scaling.scaleOnCpuUtilization('Cpu', {
      targetUtilizationPercent: 60,
      scaleOutCooldown: Duration.minutes(2),
      scaleInCooldown: Duration.minutes(10),
    });

    this.service = new LgtmService(this, 'Gateway', {
      ...base,
      image: props.gatewayImage ?? loadStackVersions(props.configs.stackConfigDir)['loki-gateway'],
      name: 'loki',
      configFolder: 'loki',
      configMountPath: '/etc/loki',
      ports: [{ port: LOKI_PORT }],
      command: ['nginx', '-c', '/etc/loki/gateway-nginx.conf', '-g', 'daemon off;'],
      desiredCount: sizes.gateway.desiredCount,
      cpu: sizes.gateway.cpu,
      memoryLimitMiB: sizes.gateway.memoryLimitMiB,
      healthCheck: httpHealthCheck(LOKI_PORT, '/gateway/ready'),
    });
    write.allowFrom(this.service.service, LOKI_PORT);
    read.allowFrom(this.service.service, LOKI_PORT);
  }

  /** http://loki.<namespace>:3100, the gateway. */
  get url(): string {
    return this.service.url(LOKI_PORT);
  }
}

function capitalized(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
