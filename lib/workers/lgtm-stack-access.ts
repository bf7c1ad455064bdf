import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { ObservabilityEndpoints } from './observability-endpoints.js';

/** The ECS service Alertmanager runs as: restarted once its receiver URL is written, so that it reads it. */
export interface AlertmanagerServiceReference {
  /** The cluster's name. */
  readonly clusterName: string;
  /** The service's name. */
  readonly serviceName: string;
  /** The service's ARN (the resource of ecs:UpdateService). */
  readonly serviceArn: string;
}

/**
 * What the workers stack takes from the observability stack it is deployed with (lib/observability-stack.ts):
 * the endpoints, the VPC the workers that use them run in, the ports they may reach, and Alertmanager's
 * side of the toilless receiver.
 */
export interface LgtmStackAccess {
  /** The services' addresses at their Cloud Map names. */
  readonly endpoints: ObservabilityEndpoints;
  /** The VPC of the services; a worker that uses an endpoint runs in its private subnets. */
  readonly vpc: ec2.IVpc;
  /** Lets `client` reach the service behind `endpoint` on its port, and nothing else of the stack. */
  allowClient(client: ec2.IConnectable, endpoint: keyof ObservabilityEndpoints): void;
  /** The bearer token Alertmanager sends; the alertmanager-webhook checks it (ALERTMANAGER_WEBHOOK_TOKEN). */
  readonly alertmanagerWebhookToken: secretsmanager.ISecret;
  /** The secret Alertmanager's toilless receiver takes its URL from; the workers stack writes it. */
  readonly alertmanagerReceiverUrl: secretsmanager.ISecret;
  /** Alertmanager's ECS service. */
  readonly alertmanagerService: AlertmanagerServiceReference;
}
