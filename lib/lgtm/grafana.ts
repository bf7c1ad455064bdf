import { Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { asISecret } from '../cdk-interfaces.js';
import { httpHealthCheck, LgtmService, type StackServiceProps, stackServiceBase } from './lgtm-service.js';
import type { StateFileSystem } from './state-file-system.js';

export const GRAFANA_PORT = 3000;

/** The user grafana/grafana runs as. */
const GRAFANA_UID = 472;

/** Where the synced grafana/ folder is: dashboards.yaml reads /var/lib/grafana/dashboards. */
const GRAFANA_CONFIG_DIR = '/var/lib/grafana';
/** SQLite and plugins, on EFS. */
const GRAFANA_STATE_DIR = '/var/lib/grafana-state';

/** An HTTPS load balancer in front of Grafana. */
export interface GrafanaPublicAccess {
  /** The host name people open, e.g. grafana.example.com (point its DNS record at the load balancer). */
  readonly domainName: string;
  /** ACM certificate ARN for domainName. */
  readonly certificateArn: string;
}

export interface GrafanaProps extends StackServiceProps {
  /** The file system Grafana's SQLite database lives on. */
  readonly state: StateFileSystem;
  /**
   * Serve Grafana over HTTPS on a public load balancer. @default - no load balancer: Grafana is reachable
   * only inside the VPC at http://grafana.<namespace>:3000
   */
  readonly publicAccess?: GrafanaPublicAccess;
  /** Where the load balancer's access logs go (with publicAccess). @default - no access logs */
  readonly accessLogsBucket?: s3.IBucket;
}

/** Grafana's environment: the synced folder for config and provisioning, state on EFS. */
export function grafanaEnvironment(publicAccess: GrafanaPublicAccess | undefined): Record<string, string> {
  return {
    GF_PATHS_CONFIG: `${GRAFANA_CONFIG_DIR}/grafana.ini`,
    GF_PATHS_PROVISIONING: `${GRAFANA_CONFIG_DIR}/provisioning`,
    GF_PATHS_DATA: GRAFANA_STATE_DIR,
    ...(publicAccess
      ? { GF_SERVER_ROOT_URL: `https://${publicAccess.domainName}/`, GF_SECURITY_COOKIE_SECURE: 'true' }
      : {}),
  };
}

/**
 * Grafana with stack-config/grafana (grafana.ini, data sources, dashboards), its admin password from
 * Secrets Manager and its SQLite database on EFS, so one task (SQLite on NFS does not take two
 * writers). Public only over HTTPS, when a domain and certificate are given; never plain HTTP.
 */
export class Grafana extends Construct {
  /** The ECS service. */
  readonly service: LgtmService;
  /** The admin password (user admin). */
  readonly adminPassword: secretsmanager.Secret;
  /** The HTTPS load balancer, when publicAccess is set. */
  readonly loadBalancer?: elbv2.ApplicationLoadBalancer;
  private readonly publicAccess: GrafanaPublicAccess | undefined;

  constructor(scope: Construct, id: string, props: GrafanaProps) {
    super(scope, id);
    if (props.publicAccess) validatePublicAccess(props.publicAccess);
    this.publicAccess = props.publicAccess;
    this.adminPassword = new secretsmanager.Secret(this, 'AdminPassword', {
      description: 'Grafana admin password (user admin)',
      generateSecretString: { passwordLength: 32, excludePunctuation: true },
    });
    const accessPoint = props.state.accessPoint('GrafanaData', { path: '/grafana', uid: GRAFANA_UID });
    this.service = new LgtmService(this, 'Service', {
      ...stackServiceBase(props),
      name: 'grafana',
      configFolder: 'grafana',
      configMountPath: GRAFANA_CONFIG_DIR,
      ports: [{ port: GRAFANA_PORT }],
      environment: grafanaEnvironment(props.publicAccess),
      secrets: { GF_SECURITY_ADMIN_PASSWORD: ecs.Secret.fromSecretsManager(asISecret(this.adminPassword)) },
      singleWriter: true,
      state: { fileSystem: props.state.fileSystem, accessPoint, containerPath: GRAFANA_STATE_DIR },
      healthCheck: httpHealthCheck(GRAFANA_PORT, '/api/health'),
    });

    if (props.publicAccess) {
      this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
        vpc: props.cluster.vpc,
        internetFacing: true,
        vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
        dropInvalidHeaderFields: true,
      });
      // ELB access logging needs the region's log-delivery account, known only in an environment-bound stack.
      if (props.accessLogsBucket && !Token.isUnresolved(Stack.of(this).region)) {
        this.loadBalancer.logAccessLogs(props.accessLogsBucket, 'grafana-alb');
      } else {
        Validations.of(this.loadBalancer).acknowledge({
          id: 'AwsSolutions-ELB2',
          reason:
            'Access logs are turned on when the stack is bound to a region (cdk deploy with credentials); an environment-agnostic synth cannot name the log-delivery account.',
        });
      }
      for (const group of this.loadBalancer.connections.securityGroups) {
        Validations.of(group).acknowledge({
          id: 'AwsSolutions-EC23',
          reason:
            'The public load balancer takes HTTPS on 443 from anyone: people sign in to Grafana there. No other port is open.',
        });
      }
      const listener = this.loadBalancer.addListener('Https', {
        port: 443,
        protocol: elbv2.ApplicationProtocol.HTTPS,
        sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
        certificates: [
          acm.Certificate.fromCertificateArn(this, 'Certificate', props.publicAccess.certificateArn),
        ],
        open: true,
      });
      listener.addTargets('Grafana', {
        port: GRAFANA_PORT,
        protocol: elbv2.ApplicationProtocol.HTTP,
        targets: [
          this.service.service.loadBalancerTarget({ containerName: 'Main', containerPort: GRAFANA_PORT }),
        ],
        healthCheck: { path: '/api/health', interval: Duration.seconds(30), healthyHttpCodes: '200' },
        deregistrationDelay: Duration.seconds(10),
      });
    }
  }

  /** Where people open Grafana: https://<domain> with a load balancer, else its address in the VPC. */
  get url(): string {
    return this.publicAccess ? `https://${this.publicAccess.domainName}` : this.service.url(GRAFANA_PORT);
  }

  /** http://grafana.<namespace>:3000, for the workers. */
  get internalUrl(): string {
    return this.service.url(GRAFANA_PORT);
  }
}

function validatePublicAccess(access: GrafanaPublicAccess): void {
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i.test(access.domainName)) {
    throw new Error(
      `Grafana: publicAccess.domainName "${access.domainName}" is not a host name such as grafana.example.com.`,
    );
  }
  if (!/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[\w-]+$/.test(access.certificateArn)) {
    throw new Error(
      `Grafana: publicAccess.certificateArn "${access.certificateArn}" is not an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>).`,
    );
  }
}
