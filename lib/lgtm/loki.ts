import { Aws, Duration } from 'aws-cdk-lib';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { httpHealthCheck, LgtmService, type StackServiceProps, stackServiceBase } from './lgtm-service.js';
import { TelemetryBucket } from './telemetry-bucket.js';

/** Loki's HTTP port (push, query, OTLP). */
export const LOKI_PORT = 3100;

export interface LokiProps extends StackServiceProps {
  /** Days Loki keeps logs (limits_config.retention_period of loki.yaml); the bucket keeps them a week longer. */
  readonly retentionDays: number;
  /** Where the bucket's server access logs go. */
  readonly accessLogsBucket: s3.IBucket;
}

/**
 * Loki 3.4 as one single-binary task (stack-config/loki/loki.yaml) with its chunks and index in its own
 * bucket: LOKI_STORAGE is left unset (s3), the bucket and region arrive through -config.expand-env.
 */
export class Loki extends Construct {
  /** The ECS service. */
  readonly service: LgtmService;
  /** Loki's bucket. */
  readonly storage: TelemetryBucket;

  constructor(scope: Construct, id: string, props: LokiProps) {
    super(scope, id);
    this.storage = new TelemetryBucket(this, 'Storage', {
      retentionDays: props.retentionDays,
      accessLogsBucket: props.accessLogsBucket,
      accessLogsPrefix: 'loki/',
    });
    this.service = new LgtmService(this, 'Service', {
      ...stackServiceBase(props),
      name: 'loki',
      configFolder: 'loki',
      configMountPath: '/etc/loki',
      ports: [{ port: LOKI_PORT }],
      command: ['-config.file=/etc/loki/loki.yaml', '-config.expand-env=true', '-target=all'],
      environment: { LOKI_S3_BUCKET: this.storage.bucket.bucketName, AWS_REGION: Aws.REGION },
      cpu: props.cpu ?? 512,
      memoryLimitMiB: props.memoryLimitMiB ?? 1024,
      // The image has busybox (Loki: distroless debug, Tempo: alpine), so wget can ask /ready.
      healthCheck: httpHealthCheck(LOKI_PORT, '/ready'),
      healthCheckGracePeriod: Duration.seconds(90),
    });
    this.storage.grantStorage(this.service.taskDefinition.taskRole);
  }

  /** http://loki.<namespace>:3100 */
  get url(): string {
    return this.service.url(LOKI_PORT);
  }
}
