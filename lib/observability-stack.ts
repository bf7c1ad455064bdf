import {
  CfnOutput,
  Duration,
  RemovalPolicy,
  SecretValue,
  Stack,
  type StackProps,
  Token,
  Validations,
} from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as servicediscovery from 'aws-cdk-lib/aws-servicediscovery';
import type { Construct } from 'constructs';
import {
  stackConfigDir as defaultStackConfigDir,
  loadToillessConfig,
  type ToillessConfig,
} from '../functions/shared/stack-config.js';
import { loadStackVersions } from '../functions/shared/versions.js';
import { asIBucket, asICluster, asISecret } from './cdk-interfaces.js';
import { ALERTMANAGER_PORT, Alertmanager } from './lgtm/alertmanager.js';
import { BLACKBOX_PORT, BlackboxExporter } from './lgtm/blackbox-exporter.js';
import { GRAFANA_PORT, Grafana } from './lgtm/grafana.js';
import type { LgtmService } from './lgtm/lgtm-service.js';
import { LOKI_PORT, type Loki } from './lgtm/loki.js';
import type { LokiSimpleScalable } from './lgtm/loki-simple-scalable.js';
import { ObservabilityNetwork } from './lgtm/network.js';
import { COLLECTOR_METRICS_PORT, OTLP_GRPC_PORT, OtelCollector } from './lgtm/otel-collector.js';
import { PROMETHEUS_PORT, Prometheus } from './lgtm/prometheus.js';
import { ecsTargetHosts } from './lgtm/prometheus-config.js';
import { SAMPLE_APP_NAME, SampleApp } from './lgtm/sample-app.js';
import { lokiForProfile, tempoForProfile } from './lgtm/scale-profile.js';
import { ServiceConfigs } from './lgtm/service-configs.js';
import { StateFileSystem } from './lgtm/state-file-system.js';
import { TEMPO_OTLP_PORTS, TEMPO_PORT, type Tempo } from './lgtm/tempo.js';
import type { TempoScalable } from './lgtm/tempo-scalable.js';
import type { LgtmStackAccess } from './workers/lgtm-stack-access.js';
import type { ObservabilityEndpoints } from './workers/observability-endpoints.js';

/**
 * The names of the stack's services in the namespace that the shipped prometheus.yml scrapes or probes
 * (in the large profile, `loki` is the gateway in front of the Loki paths).
 */
export const STACK_SERVICE_NAMES = [
  'prometheus',
  'alertmanager',
  'loki',
  'tempo',
  'grafana',
  'otel-collector',
  'blackbox-exporter',
] as const;

/** The toilless receiver's URL until the workers stack writes its own: `.invalid` never resolves. */
export const UNWIRED_RECEIVER_URL = 'http://toilless.invalid/webhooks/alertmanager';

export interface ObservabilityStackProps extends StackProps {
  /** The stack-config directory: toilless.yaml `observability`, versions.yaml and the service folders. @default - the repository's stack-config (or TOILLESS_STACK_CONFIG) */
  readonly stackConfigDir?: string;
  /** The scale profile, over toilless.yaml's (`toilless cost --profile` estimates either). @default - toilless.yaml `observability.profile` */
  readonly profile?: ToillessConfig['observability']['profile'];
  /** What happens to the buckets and the file system when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly dataRemovalPolicy?: RemovalPolicy;
}

/** The CloudWatch retention nearest at or above a number of days. */
export function logRetentionFor(days: number): logs.RetentionDays {
  const allowed = Object.values(logs.RetentionDays)
    .filter((value): value is number => typeof value === 'number' && value > 0)
    .sort((a, b) => a - b);
  const chosen = allowed.find((value) => value >= days);
  return (chosen ?? logs.RetentionDays.INFINITE) as logs.RetentionDays;
}

/**
 * The LGTM stack on ECS Fargate: Loki and Tempo on their own S3 buckets, Prometheus, Alertmanager and
 * Grafana with their state on EFS, the OpenTelemetry Collector and the blackbox exporter, in private
 * subnets of one VPC, each reachable as http://<name>.<namespace>:<port>. Everything an operator sets
 * is in toilless.yaml `observability`; images and tags come from versions.yaml; each service's files
 * come from its stack-config folder.
 */
export class ObservabilityStack extends Stack {
  readonly network: ObservabilityNetwork;
  readonly cluster: ecs.Cluster;
  readonly namespace: servicediscovery.PrivateDnsNamespace;
  readonly configs: ServiceConfigs;
  readonly loki: Loki | LokiSimpleScalable;
  readonly tempo: Tempo | TempoScalable;
  readonly prometheus: Prometheus;
  readonly alertmanager: Alertmanager;
  readonly grafana: Grafana;
  readonly collector: OtelCollector;
  readonly blackbox: BlackboxExporter;
  /** The bearer token Alertmanager sends to the workers' webhook. */
  readonly alertmanagerWebhookToken: secretsmanager.Secret;
  /** The Slack incoming-webhook URL Alertmanager posts to; its value is put after deploying. */
  readonly slackWebhookUrl: secretsmanager.Secret;
  /**
   * The URL of the toilless receiver: the workers' Alertmanager webhook, written by the workers stack
   * once its API exists; until then an address that never resolves.
   */
  readonly alertmanagerReceiverUrl: secretsmanager.Secret;
  /**
   * A security group for clients in the VPC that query the stack (the workers' functions): it may reach
   * Prometheus, Loki, Tempo and Grafana on their HTTP ports, nothing else.
   */
  readonly clientSecurityGroup: ec2.SecurityGroup;
  /** The sample app, when toilless.yaml `observability.sampleApp.enabled` runs it. */
  readonly sampleApp?: SampleApp;
  /**
   * With the sample app: a security group for the hosts a game day runs from (a CloudShell VPC
   * environment, an instance reached with Session Manager). It may reach the sample app, Prometheus and
   * Alertmanager on their ports, nothing else of the stack.
   */
  readonly gamedayClientSecurityGroup?: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: ObservabilityStackProps = {}) {
    super(scope, id, {
      description:
        'toilless observability: Loki, Tempo, Prometheus, Alertmanager, Grafana and the collector on ECS Fargate',
      ...props,
    });
    const configDir = props.stackConfigDir ?? defaultStackConfigDir();
    const settings: ToillessConfig['observability'] = loadToillessConfig(configDir).observability;
    const profile = props.profile ?? settings.profile;
    const versions = loadStackVersions(configDir);
    const removalPolicy = props.dataRemovalPolicy ?? RemovalPolicy.RETAIN;
    const logRetention = logRetentionFor(settings.logRetentionDays);

    this.network = new ObservabilityNetwork(this, 'Network', {
      ...(settings.vpcId ? { vpcId: settings.vpcId } : {}),
      ...(settings.natGateways !== undefined ? { natGateways: settings.natGateways } : {}),
      flowLogRetention: logRetention,
    });
    const vpc = this.network.vpc;
    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc,
      // Written out either way: left unset, the account's default setting would decide.
      containerInsightsV2: settings.containerInsights
        ? ecs.ContainerInsights.ENABLED
        : ecs.ContainerInsights.DISABLED,
    });
    if (!settings.containerInsights) {
      Validations.of(this.cluster).acknowledge({
        id: 'AwsSolutions-ECS4',
        reason:
          "Container Insights is off (toilless.yaml observability.containerInsights): its custom metrics would cost about half the stack again; ECS's free per-service CPU and memory metrics remain and Prometheus scrapes the services' own metrics.",
      });
    }
    this.namespace = new servicediscovery.PrivateDnsNamespace(this, 'Namespace', {
      name: settings.namespace,
      vpc,
      description: 'toilless observability services',
    });

    const accessLogs = asIBucket(
      new s3.Bucket(this, 'AccessLogs', {
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        // Server access logging delivers only to buckets encrypted with S3-managed keys.
        encryption: s3.BucketEncryption.S3_MANAGED,
        enforceSSL: true,
        objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        removalPolicy,
        lifecycleRules: [{ id: 'ExpireAccessLogs', expiration: Duration.days(90) }],
      }),
    );
    Validations.of(accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This bucket is the server access log destination; logging its own access would log the log writes.',
    });
    this.configs = new ServiceConfigs(this, 'ServiceConfigs', {
      stackConfigDir: configDir,
      accessLogsBucket: accessLogs,
    });
    const state = new StateFileSystem(this, 'State', { vpc, removalPolicy });

    this.alertmanagerWebhookToken = new secretsmanager.Secret(this, 'AlertmanagerWebhookToken', {
      description:
        'Bearer token Alertmanager sends to the toilless webhook (the workers must hold the same value)',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    this.slackWebhookUrl = new secretsmanager.Secret(this, 'SlackWebhookUrl', {
      description: 'Slack incoming-webhook URL Alertmanager posts to; put the value after deploying',
    });

    this.alertmanagerReceiverUrl = new secretsmanager.Secret(this, 'AlertmanagerReceiverUrl', {
      description:
        "URL of the toilless workers' Alertmanager webhook; the workers stack writes it when it is deployed",
      // Not a secret: a placeholder that never resolves (.invalid), replaced by the workers stack.
      secretStringValue: SecretValue.unsafePlainText(UNWIRED_RECEIVER_URL),
    });

    const common = {
      cluster: asICluster(this.cluster),
      namespace: this.namespace,
      configs: this.configs,
      logRetention,
    };
    // observability.profile: small runs one single-binary task each, large their distributed modes.
    this.loki = lokiForProfile(this, 'Loki', profile, {
      ...common,
      image: versions.loki,
      accessLogsBucket: accessLogs,
      stackConfigDir: configDir,
    });
    this.tempo = tempoForProfile(this, 'Tempo', profile, {
      ...common,
      image: versions.tempo,
      accessLogsBucket: accessLogs,
      stackConfigDir: configDir,
    });
    this.prometheus = new Prometheus(this, 'Prometheus', {
      ...common,
      image: versions.prometheus,
      state,
      retention: settings.prometheus.retention,
      additions: {
        probes: {
          http: settings.probes.http.map(({ url, service }) => ({ target: url, service })),
          https: settings.probes.https.map(({ url, service }) => ({ target: url, service })),
        },
        ec2Nodes: settings.prometheus.ec2Nodes.map((group) => ({
          name: group.name,
          tags: group.tags,
          port: group.port,
          region: group.region ?? this.knownRegion(`observability.prometheus.ec2Nodes ${group.name}`),
        })),
        // Only what exists here, at Cloud Map names (ecsTargetHosts says why): the toilless and
        // node-exporter targets of docker compose, and the sample app while it is off, would only be down.
        ...ecsTargetHosts({
          namespace: settings.namespace,
          services: [...STACK_SERVICE_NAMES, ...(settings.sampleApp.enabled ? [SAMPLE_APP_NAME] : [])],
          absent: settings.sampleApp.enabled
            ? {}
            : { [SAMPLE_APP_NAME]: 'observability.sampleApp is off: the stack does not run it' },
        }),
      },
    });
    this.alertmanager = new Alertmanager(this, 'Alertmanager', {
      ...common,
      image: versions.alertmanager,
      state,
      webhookToken: asISecret(this.alertmanagerWebhookToken),
      slackWebhookUrl: asISecret(this.slackWebhookUrl),
      receiverUrl: asISecret(this.alertmanagerReceiverUrl),
    });
    this.grafana = new Grafana(this, 'Grafana', {
      ...common,
      image: versions.grafana,
      state,
      accessLogsBucket: accessLogs,
      ...(settings.grafana.oidc ? { oidc: settings.grafana.oidc } : {}),
      ...(settings.grafana.domainName && settings.grafana.certificateArn
        ? {
            publicAccess: {
              domainName: settings.grafana.domainName,
              certificateArn: settings.grafana.certificateArn,
            },
          }
        : {}),
    });
    this.collector = new OtelCollector(this, 'OtelCollector', {
      ...common,
      image: versions['otel-collector'],
    });
    this.blackbox = new BlackboxExporter(this, 'BlackboxExporter', {
      ...common,
      image: versions['blackbox-exporter'],
    });
    if (settings.sampleApp.enabled) {
      this.sampleApp = new SampleApp(this, 'SampleApp', {
        cluster: asICluster(this.cluster),
        vpc,
        namespace: this.namespace,
        nodeImage: versions.toilless,
        otlpHttpEndpoint: this.collector.otlpHttpEndpoint,
        cpu: settings.sampleApp.cpu,
        memoryLimitMiB: settings.sampleApp.memoryMiB,
        desiredCount: settings.sampleApp.desiredCount,
        logRetention,
      });
      this.gamedayClientSecurityGroup = new ec2.SecurityGroup(this, 'GamedayClients', {
        vpc,
        description:
          'Hosts a game day runs from: may reach the sample app, Prometheus and Alertmanager on their ports',
        allowAllOutbound: true,
      });
    }

    this.clientSecurityGroup = new ec2.SecurityGroup(this, 'Clients', {
      vpc,
      description: 'Clients that query Prometheus, Loki, Tempo and Grafana (the toilless workers)',
      allowAllOutbound: true,
    });
    this.allowTraffic();
    this.startClientsAfterServers();
    this.acknowledgeFindings();
    this.addOutputs();
  }

  /** Where the workers reach the stack (lib/workers/observability-endpoints.ts). */
  endpoints(): ObservabilityEndpoints {
    return {
      prometheusUrl: this.prometheus.url,
      remoteWriteUrl: this.prometheus.remoteWriteUrl,
      lokiUrl: this.loki.url,
      tempoUrl: this.tempo.url,
      grafanaUrl: this.grafana.internalUrl,
    };
  }

  /** The stack's region, for settings that must name it in a file (there is no token in file contents). */
  private knownRegion(setting: string): string {
    if (Token.isUnresolved(this.region)) {
      throw new Error(
        `${setting}: the stack has no region at synth: give the setting a region, or deploy with credentials and a region (the CLI then binds the stack to them).`,
      );
    }
    return this.region;
  }

  /** What the workers stack takes from this one (lib/workers/lgtm-stack-access.ts). */
  access(): LgtmStackAccess {
    const byEndpoint: Record<keyof ObservabilityEndpoints, readonly [LgtmService, number]> = {
      prometheusUrl: [this.prometheus.service, PROMETHEUS_PORT],
      remoteWriteUrl: [this.prometheus.service, PROMETHEUS_PORT],
      lokiUrl: [this.loki.service, LOKI_PORT],
      tempoUrl: [this.tempo.service, TEMPO_PORT],
      grafanaUrl: [this.grafana.service, GRAFANA_PORT],
    };
    const service = this.alertmanager.service.service;
    return {
      endpoints: this.endpoints(),
      vpc: this.network.vpc,
      allowClient: (client, endpoint) => {
        const [server, port] = byEndpoint[endpoint];
        // From the client's side: a client in another stack gets both rules there, and this stack
        // never refers back to it (which would make the two stacks depend on each other).
        client.connections.allowTo(server.service, ec2.Port.tcp(port), `to ${server.name} on ${port}`);
      },
      alertmanagerWebhookToken: asISecret(this.alertmanagerWebhookToken),
      alertmanagerReceiverUrl: asISecret(this.alertmanagerReceiverUrl),
      alertmanagerService: {
        clusterName: this.cluster.clusterName,
        serviceName: service.serviceName,
        serviceArn: service.serviceArn,
      },
    };
  }

  /** Who may reach whom, port by port: the edges of the stack-config files, nothing more. */
  private allowTraffic(): void {
    const loki = this.loki.service;
    const tempo = this.tempo.service;
    const prometheus = this.prometheus.service;
    const alertmanager = this.alertmanager.service;
    const grafana = this.grafana.service;
    const collector = this.collector.service;
    const blackbox = this.blackbox.service;
    const edges: ReadonlyArray<readonly [LgtmService | ec2.SecurityGroup, LgtmService, number]> = [
      // Grafana's data sources.
      [grafana, prometheus, PROMETHEUS_PORT],
      [grafana, loki, LOKI_PORT],
      [grafana, tempo, TEMPO_PORT],
      [grafana, alertmanager, ALERTMANAGER_PORT],
      // The collector's exporters and Tempo's metrics generator.
      [collector, loki, LOKI_PORT],
      [collector, tempo, TEMPO_OTLP_PORTS[0]],
      [collector, prometheus, PROMETHEUS_PORT],
      [tempo, prometheus, PROMETHEUS_PORT],
      // Prometheus's alerting and scrape jobs.
      [prometheus, alertmanager, ALERTMANAGER_PORT],
      [prometheus, loki, LOKI_PORT],
      [prometheus, tempo, TEMPO_PORT],
      [prometheus, grafana, GRAFANA_PORT],
      [prometheus, collector, COLLECTOR_METRICS_PORT],
      [prometheus, blackbox, BLACKBOX_PORT],
      // The probe jobs.
      [blackbox, grafana, GRAFANA_PORT],
      [blackbox, collector, OTLP_GRPC_PORT],
      // The workers' queries and remote-write.
      [this.clientSecurityGroup, prometheus, PROMETHEUS_PORT],
      [this.clientSecurityGroup, loki, LOKI_PORT],
      [this.clientSecurityGroup, tempo, TEMPO_PORT],
      [this.clientSecurityGroup, grafana, GRAFANA_PORT],
    ];
    for (const [client, server, port] of edges) {
      server.allowFrom('service' in client ? client.service : client, port);
    }
    this.collector.allowApplications(ec2.Peer.ipv4(this.network.vpc.vpcCidrBlock));
    if (this.sampleApp && this.gamedayClientSecurityGroup) {
      // The shipped sample-app scrape job and its /healthz probe, and the game day's load and queries.
      this.sampleApp.allowFrom(prometheus.service, 'from prometheus/Service on 8000 (scrape)');
      this.sampleApp.allowFrom(blackbox.service, 'from blackbox-exporter/Service on 8000 (probe)');
      this.sampleApp.allowFrom(this.gamedayClientSecurityGroup, 'from game-day clients on 8000');
      prometheus.allowFrom(this.gamedayClientSecurityGroup, PROMETHEUS_PORT);
      alertmanager.allowFrom(this.gamedayClientSecurityGroup, ALERTMANAGER_PORT);
    }
  }

  /**
   * Creates each service after the services whose Service Connect names its own files use (Grafana's
   * data sources, the collector's exporters, Tempo's remote-write, the Loki gateway's upstreams). ECS
   * resolves a Service Connect name only in tasks started after that name's service was created, so a
   * client created alongside its server would fail to reach it until its tasks were replaced.
   * Prometheus and the blackbox exporter name no one that way (ecsTargetHosts), which keeps this order
   * free of cycles.
   */
  private startClientsAfterServers(): void {
    for (const [client, servers] of this.serviceConnectClients()) {
      const created = client.service.node.defaultChild as ecs.CfnService;
      for (const server of servers)
        created.addResourceDependency(server.service.node.defaultChild as ecs.CfnService);
    }
  }

  /** Each service that reaches others by their Service Connect names, and those others. */
  serviceConnectClients(): ReadonlyArray<readonly [LgtmService, readonly LgtmService[]]> {
    const loki = this.loki.service;
    const tempo = this.tempo.service;
    const prometheus = this.prometheus.service;
    return [
      [tempo, [prometheus]],
      [this.collector.service, [loki, tempo, prometheus]],
      [this.grafana.service, [prometheus, loki, tempo, this.alertmanager.service]],
      // nginx resolves its upstreams when it starts: an unknown name stops the gateway.
      ...('paths' in this.loki ? [[loki, [this.loki.paths.write, this.loki.paths.read]] as const] : []),
    ];
  }

  private acknowledgeFindings(): void {
    this.configs.acknowledgeDeploymentHandler();
    for (const secret of [
      this.alertmanagerWebhookToken,
      this.slackWebhookUrl,
      this.alertmanagerReceiverUrl,
      this.grafana.adminPassword,
      ...(this.grafana.oidcClientSecret ? [this.grafana.oidcClientSecret] : []),
    ]) {
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'No automatic rotation: the value is shared with a party outside Secrets Manager (the workers, Slack, people who sign in); docs/observability-stack.md describes replacing it by hand.',
      });
    }
  }

  private addOutputs(): void {
    new CfnOutput(this, 'GrafanaUrl', { value: this.grafana.url, description: 'Where Grafana is opened' });
    if (this.grafana.loadBalancer) {
      new CfnOutput(this, 'GrafanaLoadBalancerDns', {
        value: this.grafana.loadBalancer.loadBalancerDnsName,
        description: "Point the Grafana domain's DNS record (CNAME or alias) here",
      });
    }
    new CfnOutput(this, 'GrafanaAdminPasswordSecret', {
      value: this.grafana.adminPassword.secretName,
      description: 'Secrets Manager secret holding the Grafana admin password (user admin)',
    });
    new CfnOutput(this, 'OtlpGrpcEndpoint', {
      value: this.collector.otlpGrpcEndpoint,
      description: 'OTLP gRPC, from the VPC',
    });
    new CfnOutput(this, 'OtlpHttpEndpoint', {
      value: this.collector.otlpHttpEndpoint,
      description: 'OTLP HTTP, from the VPC',
    });
    new CfnOutput(this, 'PrometheusUrl', { value: this.prometheus.url });
    new CfnOutput(this, 'LokiBucket', { value: this.loki.storage.bucket.bucketName });
    new CfnOutput(this, 'TempoBucket', { value: this.tempo.storage.bucket.bucketName });
    if (this.grafana.oidcClientSecret) {
      new CfnOutput(this, 'GrafanaOidcClientSecret', {
        value: this.grafana.oidcClientSecret.secretName,
        description: "Put the OIDC provider's client secret here, then force a new deployment of Grafana",
      });
    }
    new CfnOutput(this, 'AlertmanagerReceiverUrlSecret', {
      value: this.alertmanagerReceiverUrl.secretName,
      description: "The workers' Alertmanager webhook URL, written by the workers stack",
    });
    new CfnOutput(this, 'ConfigBucket', {
      value: this.configs.bucket.bucketName,
      description: 'The stack-config copies the init containers sync from',
    });
    if (this.sampleApp && this.gamedayClientSecurityGroup) {
      new CfnOutput(this, 'SampleAppUrl', {
        value: this.sampleApp.url,
        description: "The sample app, from the VPC (the game day's SAMPLE_APP_URL)",
      });
      new CfnOutput(this, 'AlertmanagerUrl', {
        value: this.alertmanager.service.url(ALERTMANAGER_PORT),
        description: "Alertmanager, from the VPC (the game day's ALERTMANAGER_URL)",
      });
      new CfnOutput(this, 'GamedayClientSecurityGroupId', {
        value: this.gamedayClientSecurityGroup.securityGroupId,
        description:
          'Attach to the host the game day runs from: it may reach the sample app, Prometheus and Alertmanager',
      });
    }
    new CfnOutput(this, 'SlackWebhookUrlSecret', {
      value: this.slackWebhookUrl.secretName,
      description: 'Put the Slack incoming-webhook URL here',
    });
  }
}
