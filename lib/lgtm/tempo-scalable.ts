import { Aws, Duration } from 'aws-cdk-lib';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { CLUSTER_GRPC_PORT, MEMBERLIST_PORT } from '../../functions/service-configs/cluster.js';
import { httpHealthCheck, LgtmService, type StackServiceProps, stackServiceBase } from './lgtm-service.js';
import { TelemetryBucket } from './telemetry-bucket.js';
import { TEMPO_OTLP_PORTS, TEMPO_PORT } from './tempo.js';

/** The config file every Tempo task of the large profile reads. */
export const TEMPO_LARGE_CONFIG = '/etc/tempo/tempo-large.yaml';

export interface TempoScalableProps extends StackServiceProps {
  /** Days Tempo keeps blocks (compactor.compaction.block_retention of tempo-large.yaml); the bucket keeps them a week longer. */
  readonly retentionDays: number;
  /** Where the bucket's server access logs go. */
  readonly accessLogsBucket: s3.IBucket;
  /** Tasks; tempo-large.yaml writes each trace to 2 ingesters, so at least 2. @default 3 */
  readonly desiredCount?: number;
}

/**
 * Tempo 2.7 scaled out (stack-config/tempo/tempo-large.yaml): every task of the tempo service runs
 * -target=scalable-single-binary, the tasks form one cluster over memberlist, found through the
 * service's Cloud Map record, and each querier works for the query frontends of all tasks. Tempo 2.7
 * documents this mode for scaling out without the six services of its microservices mode; clients keep
 * using tempo:3200 and tempo:4317.
 */
export class TempoScalable extends Construct {
  /** The ECS service. */
  readonly service: LgtmService;
  /** Tempo's bucket. */
  readonly storage: TelemetryBucket;

  constructor(scope: Construct, id: string, props: TempoScalableProps) {
    super(scope, id);
    const desiredCount = props.desiredCount ?? 3;
    if (!Number.isInteger(desiredCount) || desiredCount < 2) {
      throw new Error(
        `TempoScalable: desiredCount must be at least 2: tempo-large.yaml writes every trace to 2 ingesters (got ${desiredCount}).`,
      );
    }
    this.storage = new TelemetryBucket(this, 'Storage', {
      retentionDays: props.retentionDays,
      accessLogsBucket: props.accessLogsBucket,
      accessLogsPrefix: 'tempo/',
    });
    this.service = new LgtmService(this, 'Service', {
      ...stackServiceBase(props),
      name: 'tempo',
      configFolder: 'tempo',
      configMountPath: '/etc/tempo',
      ports: [
        { port: TEMPO_PORT },
        ...TEMPO_OTLP_PORTS.map((port) => ({ port })),
        { port: CLUSTER_GRPC_PORT, serviceConnect: false },
        { port: MEMBERLIST_PORT, serviceConnect: false },
      ],
      command: [
        `-config.file=${TEMPO_LARGE_CONFIG}`,
        '-config.expand-env=true',
        '-target=scalable-single-binary',
      ],
      environment: {
        TEMPO_S3_BUCKET: this.storage.bucket.bucketName,
        AWS_REGION: Aws.REGION,
        TOILLESS_NAMESPACE: props.namespace.namespaceName,
      },
      desiredCount,
      cpu: props.cpu ?? 1024,
      memoryLimitMiB: props.memoryLimitMiB ?? 4096,
      healthCheck: httpHealthCheck(TEMPO_PORT, '/ready'),
      healthCheckGracePeriod: Duration.seconds(180),
    });
    // The tasks gossip with and call each other; nobody else reaches these ports.
    this.service.allowFrom(this.service.service, MEMBERLIST_PORT);
    this.service.allowFrom(this.service.service, CLUSTER_GRPC_PORT);
    this.storage.grantStorage(this.service.taskDefinition.taskRole, [
      's3:GetObjectTagging',
      's3:PutObjectTagging',
    ]);
  }

  /** http://tempo.<namespace>:3200 */
  get url(): string {
    return this.service.url(TEMPO_PORT);
  }
}
