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

/** Sign-in through an OpenID Connect provider (Grafana's generic_oauth), e.g. Amazon Cognito or Okta. */
export interface GrafanaOidcLogin {
  /** The button's label on the login page, e.g. "Cognito". */
  readonly name: string;
  /** The client (application) id registered with the provider. */
  readonly clientId: string;
  /** The provider's authorization endpoint. */
  readonly authUrl: string;
  /** The provider's token endpoint. */
  readonly tokenUrl: string;
  /** The provider's userinfo endpoint. */
  readonly apiUrl: string;
  /** Space-separated scopes. @default "openid email profile" */
  readonly scopes?: string | undefined;
  /** JMESPath over the token or userinfo that yields Admin, Editor or Viewer. @default - everyone signs in as Viewer */
  readonly roleAttributePath?: string | undefined;
  /** Whether a first sign-in creates the user. @default true */
  readonly allowSignUp?: boolean | undefined;
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
  /**
   * OpenID Connect sign-in; its client secret is a Secrets Manager secret of the stack, put after
   * deploying. Needs publicAccess: the provider redirects people back to the HTTPS domain. @default - admin and local users only
   */
  readonly oidc?: GrafanaOidcLogin;
}

/** Grafana's generic_oauth settings as GF_ variables (the client secret comes from Secrets Manager). */
export function grafanaOidcEnvironment(oidc: GrafanaOidcLogin): Record<string, string> {
  return {
    GF_AUTH_GENERIC_OAUTH_ENABLED: 'true',
    GF_AUTH_GENERIC_OAUTH_NAME: oidc.name,
    GF_AUTH_GENERIC_OAUTH_CLIENT_ID: oidc.clientId,
    GF_AUTH_GENERIC_OAUTH_SCOPES: oidc.scopes ?? 'openid email profile',
    GF_AUTH_GENERIC_OAUTH_AUTH_URL: oidc.authUrl,
    GF_AUTH_GENERIC_OAUTH_TOKEN_URL: oidc.tokenUrl,
    GF_AUTH_GENERIC_OAUTH_API_URL: oidc.apiUrl,
    GF_AUTH_GENERIC_OAUTH_ALLOW_SIGN_UP: String(oidc.allowSignUp ?? true),
    GF_AUTH_GENERIC_OAUTH_USE_PKCE: 'true',
    ...(oidc.roleAttributePath ? { GF_AUTH_GENERIC_OAUTH_ROLE_ATTRIBUTE_PATH: oidc.roleAttributePath } : {}),
  };
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
  /** The OIDC client secret, when oidc is set: put the provider's value after deploying. */
  readonly oidcClientSecret?: secretsmanager.Secret;
  private readonly publicAccess: GrafanaPublicAccess | undefined;

  constructor(scope: Construct, id: string, props: GrafanaProps) {
    super(scope, id);
    if (props.publicAccess) validatePublicAccess(props.publicAccess);
    if (props.oidc) validateOidc(props.oidc, props.publicAccess);
    this.publicAccess = props.publicAccess;
    this.adminPassword = new secretsmanager.Secret(this, 'AdminPassword', {
      description: 'Grafana admin password (user admin)',
      generateSecretString: { passwordLength: 32, excludePunctuation: true },
    });
    if (props.oidc) {
      this.oidcClientSecret = new secretsmanager.Secret(this, 'OidcClientSecret', {
        description: `Grafana ${props.oidc.name} sign-in: the OIDC client secret; put the provider's value after deploying`,
      });
    }
    const accessPoint = props.state.accessPoint('GrafanaData', { path: '/grafana', uid: GRAFANA_UID });
    this.service = new LgtmService(this, 'Service', {
      ...stackServiceBase(props),
      name: 'grafana',
      configFolder: 'grafana',
      configMountPath: GRAFANA_CONFIG_DIR,
      ports: [{ port: GRAFANA_PORT }],
      environment: {
        ...grafanaEnvironment(props.publicAccess),
        ...(props.oidc ? grafanaOidcEnvironment(props.oidc) : {}),
      },
      secrets: {
        GF_SECURITY_ADMIN_PASSWORD: ecs.Secret.fromSecretsManager(asISecret(this.adminPassword)),
        ...(this.oidcClientSecret
          ? {
              GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET: ecs.Secret.fromSecretsManager(
                asISecret(this.oidcClientSecret),
              ),
            }
          : {}),
      },
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

function validateOidc(oidc: GrafanaOidcLogin, publicAccess: GrafanaPublicAccess | undefined): void {
  if (!publicAccess) {
    throw new Error(
      'Grafana: oidc sign-in needs publicAccess (domainName and certificateArn): the provider redirects people back to that HTTPS address.',
    );
  }
  for (const [key, value] of [
    ['authUrl', oidc.authUrl],
    ['tokenUrl', oidc.tokenUrl],
    ['apiUrl', oidc.apiUrl],
  ] as const) {
    if (!/^https:\/\/[^\s]+$/.test(value)) {
      throw new Error(`Grafana: oidc.${key} "${value}" is not an https:// URL of the provider.`);
    }
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
