import { Aws, Duration } from 'aws-cdk-lib';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { httpHealthCheck, LgtmService, type StackServiceProps, stackServiceBase } from './lgtm-service.js';
import { TelemetryBucket } from './telemetry-bucket.js';

/** Tempo's HTTP port (query, search). */
export const TEMPO_PORT = 3200;
/** OTLP gRPC and HTTP, from the collector. */
export const TEMPO_OTLP_PORTS = [4317, 4318] as const;

export interface TempoProps extends StackServiceProps {
  /** Days Tempo keeps blocks (compactor.compaction.block_retention of tempo.yaml); the bucket keeps them a week longer. */
  readonly retentionDays: number;
  /** Where the bucket's server access logs go. */
  readonly accessLogsBucket: s3.IBucket;
}

/**
 * Tempo 2.7 as one single-binary task (stack-config/tempo/tempo.yaml) with its blocks in its own
 * bucket: TEMPO_STORAGE is left unset (s3), the bucket and region arrive through -config.expand-env.
 */
export class Tempo extends Construct {
  /** The ECS service. */
  readonly service: LgtmService;
  /** Tempo's bucket. */
  readonly storage: TelemetryBucket;

  constructor(scope: Construct, id: string, props: TempoProps) {
    super(scope, id);
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
      ports: [{ port: TEMPO_PORT }, ...TEMPO_OTLP_PORTS.map((port) => ({ port }))],
      command: ['-config.file=/etc/tempo/tempo.yaml', '-config.expand-env=true'],
      environment: { TEMPO_S3_BUCKET: this.storage.bucket.bucketName, AWS_REGION: Aws.REGION },
      cpu: props.cpu ?? 512,
      memoryLimitMiB: props.memoryLimitMiB ?? 1024,
      // Ready after about 20 s with the shipped ring settings; slower on a cold start.
      // The image has busybox (Loki: distroless debug, Tempo: alpine), so wget can ask /ready.
      healthCheck: httpHealthCheck(TEMPO_PORT, '/ready'),
      healthCheckGracePeriod: Duration.seconds(120),
    });
    // Tempo tags the objects it compacts.
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
