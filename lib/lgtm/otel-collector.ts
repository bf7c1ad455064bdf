import { Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { LgtmService, type StackServiceProps, stackServiceBase } from './lgtm-service.js';

/** OTLP gRPC and HTTP, where applications send. */
export const OTLP_GRPC_PORT = 4317;
export const OTLP_HTTP_PORT = 4318;
/** The collector's own metrics (scraped by Prometheus). */
export const COLLECTOR_METRICS_PORT = 8888;

export interface OtelCollectorProps extends StackServiceProps {
  /** Tasks at least. @default 1 */
  readonly minCapacity?: number;
  /** Tasks at most, scaled on CPU. @default 3 */
  readonly maxCapacity?: number;
}

/**
 * The OpenTelemetry Collector (stack-config/otel-collector/config.yaml): applications in the VPC send
 * OTLP to otel-collector.<namespace>:4317 (gRPC) or :4318 (HTTP). Stateless, so it scales on CPU.
 */
export class OtelCollector extends Construct {
  /** The ECS service. */
  readonly service: LgtmService;

  constructor(scope: Construct, id: string, props: OtelCollectorProps) {
    super(scope, id);
    const minCapacity = props.minCapacity ?? 1;
    const maxCapacity = props.maxCapacity ?? 3;
    if (!Number.isInteger(minCapacity) || minCapacity < 1 || maxCapacity < minCapacity) {
      throw new Error(
        `OtelCollector: capacity ${minCapacity}-${maxCapacity} is not a range: minCapacity must be at least 1 and at most maxCapacity.`,
      );
    }
    this.service = new LgtmService(this, 'Service', {
      ...stackServiceBase(props),
      name: 'otel-collector',
      configFolder: 'otel-collector',
      configMountPath: '/etc/otelcol-contrib',
      ports: [{ port: OTLP_GRPC_PORT }, { port: OTLP_HTTP_PORT }, { port: COLLECTOR_METRICS_PORT }],
      command: ['--config=/etc/otelcol-contrib/config.yaml'],
      desiredCount: minCapacity,
      cpu: props.cpu ?? 256,
      memoryLimitMiB: props.memoryLimitMiB ?? 512,
    });
    const scaling = this.service.service.autoScaleTaskCount({ minCapacity, maxCapacity });
    scaling.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: 70 });
  }

  /** Lets applications in `peer` (e.g. the VPC's CIDR) send OTLP. */
  allowApplications(peer: ec2.IPeer): void {
    for (const port of [OTLP_GRPC_PORT, OTLP_HTTP_PORT]) {
      this.service.service.connections.allowFrom(
        peer,
        ec2.Port.tcp(port),
        `OTLP from applications on ${port}`,
      );
    }
    for (const group of this.service.service.connections.securityGroups) {
      Validations.of(group).acknowledge({
        id: 'AwsSolutions-EC23',
        reason:
          'Ingress comes from the VPC CIDR (a token the rule cannot read) on the two OTLP ports only, never from 0.0.0.0/0.',
      });
    }
  }

  /** otel-collector.<namespace>:4317, OTLP gRPC. */
  get otlpGrpcEndpoint(): string {
    return this.service.url(OTLP_GRPC_PORT);
  }

  /** http://otel-collector.<namespace>:4318, OTLP HTTP. */
  get otlpHttpEndpoint(): string {
    return this.service.url(OTLP_HTTP_PORT);
  }
}
