import {
  CfnOutput,
  Duration,
  type RemovalPolicy,
  Stack,
  type StackProps,
  TimeZone,
  Validations,
} from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { PROCESSOR_MANIFESTS, WEBHOOK_MANIFESTS } from '../functions/manifests.js';
import { eventBridgeCron } from '../functions/shared/cron.js';
import { parseDurationMs } from '../functions/shared/duration.js';
import type { SecretName } from '../functions/shared/ports/secrets.js';
import {
  stackConfigDir as defaultStackConfigDir,
  loadToillessConfig,
  retentionDays,
  type ToillessConfig,
  timelineReservedConcurrency,
} from '../functions/shared/stack-config.js';
import type {
  EndpointName,
  ProcessorManifest,
  WebhookManifest,
  WorkerManifest,
  WorkerSchedule,
} from '../functions/shared/workers/manifest.js';
import { scheduleTiming } from '../functions/shared/workers/schedule-timing.js';
import { SECRET_CATALOGUE, type SecretSpec } from '../functions/shared/workers/secret-catalogue.js';
import { asIEventBus, asISecret } from './cdk-interfaces.js';
import { AlertmanagerReceiver } from './workers/alertmanager-receiver.js';
import { EventProcessor, type EventProcessorProps } from './workers/event-processor.js';
import type { LgtmStackAccess } from './workers/lgtm-stack-access.js';
import { endpointVariables, type ObservabilityEndpoints } from './workers/observability-endpoints.js';
import { StoreBucket } from './workers/store-bucket.js';
import { ToillessEventBus } from './workers/toilless-event-bus.js';
import { WebhookApi } from './workers/webhook-api.js';
import { WorkerFunction, type WorkerNetwork } from './workers/worker-function.js';

/** The runtime secret names; one Secrets Manager secret each (functions/shared/workers/secret-catalogue.ts). */
export type WorkerSecretName = SecretName;

/**
 * What the stack derives from toilless.yaml for a processor beyond its manifest, by worker name. A worker
 * not listed here runs with its manifest's sizing.
 */
const PROCESSOR_TUNING: Readonly<
  Record<
    string,
    (toilless: ToillessConfig) => Pick<EventProcessorProps, 'timeout' | 'reservedConcurrentExecutions'>
  >
> = {
  'incident-timeline': (toilless) => ({
    timeout: incidentTimelineTimeout(toilless),
    // An alert storm queues in Lambda's async queue instead of querying the sources all at once:
    // incidents.concurrency bounds the instances, and each takes its share of every source's bound.
    reservedConcurrentExecutions: timelineReservedConcurrency(toilless),
  }),
};

export interface WorkersStackProps extends StackProps {
  /** Name of the EventBridge bus; unique per account and region. @default "toilless" */
  readonly eventBusName?: string;
  /** What happens to the store and its access logs when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly storeRemovalPolicy?: RemovalPolicy;
  /** Steady-state webhook requests per second; Alertmanager drops a notification that gets a 429. @default 50 */
  readonly webhookRateLimit?: number;
  /** Webhook requests accepted in a burst above the rate. @default 100 */
  readonly webhookBurstLimit?: number;
  /** How long function and access logs are kept. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Lowest level of application logs that the functions keep. @default lambda.ApplicationLogLevel.INFO */
  readonly logLevel?: lambda.ApplicationLogLevel;
  /**
   * Where the processors reach Prometheus, Loki, Tempo and Grafana. @default - none: the variables are
   * left out, the timeline reports those sources unavailable and remote-write fails until they are given
   */
  readonly observability?: ObservabilityEndpoints;
  /** The stack-config directory read at synth and bundled with the processors. @default - the repository's stack-config (or TOILLESS_STACK_CONFIG) */
  readonly stackConfigDir?: string;
  /**
   * The observability stack deployed with this one: its endpoints (unless `observability` gives others),
   * the VPC the processors that use them run in, and Alertmanager's token and receiver URL. @default - none
   */
  readonly lgtmStack?: LgtmStackAccess;
}

/**
 * The event-driven workers, built from their manifests (functions/manifests.ts): each webhook intake
 * behind POST /webhooks/<source> of one HTTP API, the EventBridge bus they publish to, the S3 store,
 * the secrets, each processor subscribed to the event types it consumes, and the processors' schedules.
 * Rules, store grants, secrets, bundled stack-config files, schedules and sizing all come from the
 * manifests; nothing here lists a worker's events, secrets or prefixes.
 */
export class WorkersStack extends Stack {
  /** The S3 store (TOILLESS_BUCKET). */
  readonly store: StoreBucket;
  /** The toilless event bus (TOILLESS_EVENT_BUS). */
  readonly eventBus: ToillessEventBus;
  /** The public webhook endpoints. */
  readonly webhooks: WebhookApi;
  /** One Secrets Manager secret per runtime secret name. */
  readonly secrets: Readonly<Record<WorkerSecretName, secretsmanager.ISecret>>;
  /** Every webhook intake function, by worker name. */
  readonly intakes: Readonly<Record<string, WorkerFunction>>;
  /** Every processor, by worker name. */
  readonly processors: Readonly<Record<string, EventProcessor>>;
  /** Every processor schedule, by schedule name. */
  readonly schedules: Readonly<Record<string, scheduler.Schedule>>;
  /** Receives Alertmanager notifications and publishes AlertNotification events. */
  readonly alertmanagerWebhook: WorkerFunction;
  /** Receives GitHub deliveries, deduplicates them and publishes GitHub* events. */
  readonly githubWebhook: WorkerFunction;
  /** Builds incident timelines from AlertNotification and DeploymentRecorded events, in one Slack thread each. */
  readonly incidentTimeline: EventProcessor;
  /** Records deployments, changes and incidents and writes the DORA metrics to Prometheus. */
  readonly doraMetrics: EventProcessor;
  /** Invokes dora-metrics every hour with its manifest's schedule payload. */
  readonly doraRecompute: scheduler.Schedule;
  /** Renders the weekly report into a PDF, stores it and posts it to Slack. */
  readonly weeklyReport: EventProcessor;
  /** Invokes weekly-report on toilless.yaml `report.schedule` in `report.timeZone`. */
  readonly weeklyReportSchedule: scheduler.Schedule;
  /** Points Alertmanager's toilless receiver at this stack's webhook, with an observability stack. */
  readonly alertmanagerReceiver?: AlertmanagerReceiver;

  constructor(scope: Construct, id: string, props: WorkersStackProps = {}) {
    super(scope, id, {
      description: 'toilless workers: webhook intake, event bus, store, secrets and processors',
      ...props,
    });
    const configDir = props.stackConfigDir ?? defaultStackConfigDir();
    // Read at synth from the same files the processors are bundled with: one source of truth.
    const toilless = loadToillessConfig(configDir);

    this.store = new StoreBucket(this, 'Store', {
      ...(props.storeRemovalPolicy ? { removalPolicy: props.storeRemovalPolicy } : {}),
      // toilless.yaml `retention`: the same periods the local runtime prunes by.
      retentionDays: {
        incidents: retentionDays(toilless, 'incidents'),
        deployments: retentionDays(toilless, 'deployments'),
        reports: retentionDays(toilless, 'reports'),
      },
    });
    this.eventBus = new ToillessEventBus(this, 'Events', {
      ...(props.eventBusName ? { eventBusName: props.eventBusName } : {}),
    });
    this.secrets = this.createSecrets(props.lgtmStack);
    this.webhooks = new WebhookApi(this, 'Webhooks', {
      ...(props.webhookRateLimit === undefined ? {} : { throttlingRateLimit: props.webhookRateLimit }),
      ...(props.webhookBurstLimit === undefined ? {} : { throttlingBurstLimit: props.webhookBurstLimit }),
      ...(props.logRetention ? { accessLogRetention: props.logRetention } : {}),
    });

    this.intakes = Object.fromEntries(
      WEBHOOK_MANIFESTS.map((manifest) => [manifest.name, this.intake(manifest, props)]),
    );
    this.processors = Object.fromEntries(
      PROCESSOR_MANIFESTS.map((manifest) => [
        manifest.name,
        this.processor(manifest, props, toilless, configDir),
      ]),
    );
    this.schedules = Object.fromEntries(
      PROCESSOR_MANIFESTS.flatMap((manifest) =>
        manifest.schedules.map((schedule) => [
          schedule.name,
          this.schedule(manifest, schedule, this.processorNamed(manifest.name), toilless),
        ]),
      ),
    );
    this.alertmanagerWebhook = this.intakeNamed('alertmanager-webhook');
    this.githubWebhook = this.intakeNamed('github-webhook');
    this.incidentTimeline = this.processorNamed('incident-timeline');
    this.doraMetrics = this.processorNamed('dora-metrics');
    this.doraRecompute = this.scheduleNamed('DoraRecompute');
    this.weeklyReport = this.processorNamed('weekly-report');
    this.weeklyReportSchedule = this.scheduleNamed('WeeklyReport');
    if (props.lgtmStack) {
      this.alertmanagerReceiver = new AlertmanagerReceiver(this, 'AlertmanagerReceiver', {
        webhookUrl: this.webhooks.webhookUrl('alertmanager'),
        receiverUrlSecret: props.lgtmStack.alertmanagerReceiverUrl,
        alertmanager: props.lgtmStack.alertmanagerService,
        ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      });
    }

    for (const manifest of WEBHOOK_MANIFESTS) {
      new CfnOutput(this, `${manifest.id}Url`, {
        value: this.webhooks.webhookUrl(manifest.source),
        description: manifest.senderSetup,
      });
    }
    new CfnOutput(this, 'StoreBucketName', {
      value: this.store.bucket.bucketName,
      description: 'TOILLESS_BUCKET',
    });
    new CfnOutput(this, 'EventBusName', {
      value: this.eventBus.bus.eventBusName,
      description: 'TOILLESS_EVENT_BUS',
    });
    for (const manifest of PROCESSOR_MANIFESTS) {
      const processor = this.processorNamed(manifest.name);
      new CfnOutput(this, `${manifest.id}FunctionName`, {
        value: processor.worker.function.functionName,
        description: `The ${manifest.name} function, which dead letters are redriven to`,
      });
      new CfnOutput(this, `${manifest.id}DeadLetterQueueUrl`, {
        value: processor.deadLetterQueue.queueUrl,
        description: `Events ${manifest.name} could not take, kept for 14 days`,
      });
    }
    for (const [name, secret] of Object.entries(this.secrets)) {
      new CfnOutput(this, `${SECRET_CATALOGUE[name as WorkerSecretName].id}SecretArn`, {
        value: secret.secretArn,
        description: `Secrets Manager secret holding ${name}`,
      });
    }
  }

  /** A processor: its function, the rule of the event types it consumes, its store grants and bus access. */
  private processor(
    manifest: ProcessorManifest,
    props: WorkersStackProps,
    toilless: ToillessConfig,
    configDir: string,
  ): EventProcessor {
    const tuning = PROCESSOR_TUNING[manifest.name]?.(toilless) ?? {};
    const network = this.workerNetwork(manifest, props);
    const processor = new EventProcessor(this, manifest.id, {
      worker: manifest.name,
      description: manifest.description,
      eventBus: asIEventBus(this.eventBus.bus),
      detailTypes: manifest.consumes,
      timeout: Duration.seconds(manifest.sizing.timeoutSeconds),
      memorySize: manifest.sizing.memoryMb,
      ...tuning,
      environment: {
        ...endpointVariables(props.observability ?? props.lgtmStack?.endpoints, manifest.endpoints),
        TOILLESS_BUCKET: this.store.bucket.bucketName,
        TOILLESS_EVENT_BUS: this.eventBus.bus.eventBusName,
        ...(manifest.postsToSlack ? { SLACK_CHANNEL: toilless.slack.channel } : {}),
      },
      secrets: this.secretsOf(manifest),
      stackConfigFiles: manifest.stackConfigFiles,
      stackConfigDir: configDir,
      ...lambdaBundleProps(manifest),
      ...(network ? { network } : {}),
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      ...(props.logLevel ? { logLevel: props.logLevel } : {}),
    });
    this.grantStore(processor.worker.role, manifest);
    this.eventBus.bus.grantPutEventsTo(processor.worker.role);
    return processor;
  }

  /**
   * A worker that uses the observability stack's endpoints runs in its VPC, with a security group of
   * its own that reaches those services' ports and HTTPS (AWS APIs, Slack, GitHub), nothing else. Given
   * `observability` endpoints (outside the stack) keep the workers out of the VPC.
   */
  private workerNetwork(manifest: WorkerManifest, props: WorkersStackProps): WorkerNetwork | undefined {
    const lgtm = props.lgtmStack;
    if (!lgtm || props.observability || manifest.endpoints.length === 0) return undefined;
    const securityGroup = new ec2.SecurityGroup(this, `${manifest.id}Network`, {
      vpc: lgtm.vpc,
      description: `toilless ${manifest.name}: the LGTM ports it uses and HTTPS`,
      allowAllOutbound: false,
    });
    securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS: AWS APIs, Slack, GitHub');
    for (const endpoint of manifest.endpoints) lgtm.allowClient(securityGroup, endpoint);
    return { vpc: lgtm.vpc, securityGroup };
  }

  /**
   * The intake of one webhook source: functions/<worker> behind POST /webhooks/<source>. It pushes its
   * metrics to Prometheus, so with the stack's own Prometheus it runs in the VPC like the processors.
   */
  private intake(manifest: WebhookManifest, props: WorkersStackProps): WorkerFunction {
    const network = this.workerNetwork(manifest, props);
    const fn = new WorkerFunction(this, manifest.id, {
      worker: manifest.name,
      description: manifest.description,
      timeout: Duration.seconds(manifest.sizing.timeoutSeconds),
      memorySize: manifest.sizing.memoryMb,
      environment: {
        ...endpointVariables(props.observability ?? props.lgtmStack?.endpoints, manifest.endpoints),
        TOILLESS_BUCKET: this.store.bucket.bucketName,
        TOILLESS_EVENT_BUS: this.eventBus.bus.eventBusName,
      },
      secrets: this.secretsOf(manifest),
      ...(network ? { network } : {}),
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      ...(props.logLevel ? { logLevel: props.logLevel } : {}),
    });
    this.grantStore(fn.role, manifest);
    this.eventBus.bus.grantPutEventsTo(fn.role);
    this.webhooks.addWebhook(manifest.source, fn.function);
    return fn;
  }

  /** The manifest's store prefixes, each with the access it names and no other. */
  private grantStore(role: iam.IGrantable, manifest: WorkerManifest): void {
    const patterns = (prefixes: readonly string[] | undefined) =>
      (prefixes ?? []).map((prefix) => `${prefix}*`);
    const { readWrite, read, write } = manifest.store;
    if (readWrite.length > 0) this.store.grantObjectReadWrite(role, patterns(readWrite));
    for (const pattern of patterns(read)) this.store.grantObjectRead(role, pattern);
    if ((write ?? []).length > 0) this.store.grantObjectCreate(role, patterns(write));
  }

  private secretsOf(manifest: WorkerManifest): Record<string, secretsmanager.ISecret> {
    return Object.fromEntries(
      workerSecretNames(manifest).map((name) => [name, asISecret(this.secrets[name])]),
    );
  }

  /** One schedule of a processor: EventBridge Scheduler invokes it with the manifest's payload. */
  private schedule(
    manifest: ProcessorManifest,
    spec: WorkerSchedule,
    processor: EventProcessor,
    toilless: ToillessConfig,
  ): scheduler.Schedule {
    const fn = processor.worker.function;
    // An own role rather than the target's shared one, so that its finding is acknowledged where it arises.
    const role = new iam.Role(this, `${spec.name}Role`, {
      description: `EventBridge Scheduler invokes toilless ${manifest.name} for the ${spec.title}`,
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: {
            'aws:SourceAccount': this.account,
            'aws:SourceArn': this.formatArn({
              service: 'scheduler',
              resource: 'schedule-group',
              resourceName: 'default',
            }),
          },
        },
      }),
    });
    const schedule = new scheduler.Schedule(this, spec.name, {
      description: `toilless ${manifest.name}: ${spec.description}`,
      schedule: scheduleExpression(spec, toilless),
      target: new schedulerTargets.LambdaInvoke(fn, {
        role,
        input: scheduler.ScheduleTargetInput.fromObject(spec.payload),
        deadLetterQueue: processor.deadLetterQueue,
        retryAttempts: 4,
        maxEventAge: Duration.minutes(spec.retryWindowMinutes),
      }),
    });
    const functionId = this.getLogicalId(fn.node.defaultChild as lambda.CfnFunction);
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${functionId}.Arn>:*]`,
      reason: `lambda:InvokeFunction on the ${manifest.name} function and its versions or aliases (:*), as the Scheduler target grants it; nothing else.`,
    });
    return schedule;
  }

  private createSecrets(lgtm: LgtmStackAccess | undefined): Record<WorkerSecretName, secretsmanager.ISecret> {
    const entries = Object.entries(SECRET_CATALOGUE).map(([name, spec]: [string, SecretSpec]) => {
      // Alertmanager and the webhook must hold the same token: the observability stack's is the one.
      if (lgtm && name === 'ALERTMANAGER_WEBHOOK_TOKEN')
        return [name, lgtm.alertmanagerWebhookToken] as const;
      const secret = new secretsmanager.Secret(this, spec.id, {
        description: `toilless ${name}: ${spec.description}`,
        ...(spec.generated ? { generateSecretString: { excludePunctuation: true, passwordLength: 48 } } : {}),
      });
      if (!spec.generated) {
        // No value until the operator puts one, rather than a dummy the workers would take for a token.
        (secret.node.defaultChild as secretsmanager.CfnSecret).addPropertyDeletionOverride(
          'GenerateSecretString',
        );
      }
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: `No automatic rotation: ${spec.rotation}; docs/deploy.md describes rotating it by hand.`,
      });
      return [name, secret] as const;
    });
    return Object.fromEntries(entries) as Record<WorkerSecretName, secretsmanager.ISecret>;
  }

  private intakeNamed(name: string): WorkerFunction {
    const intake = this.intakes[name];
    if (!intake)
      throw new Error(`WorkersStack: no webhook manifest named ${name}: add it to functions/manifests.ts.`);
    return intake;
  }

  private processorNamed(name: string): EventProcessor {
    const processor = this.processors[name];
    if (!processor) {
      throw new Error(`WorkersStack: no processor manifest named ${name}: add it to functions/manifests.ts.`);
    }
    return processor;
  }

  private scheduleNamed(name: string): scheduler.Schedule {
    const schedule = this.schedules[name];
    if (!schedule) throw new Error(`WorkersStack: no schedule named ${name} in the processor manifests.`);
    return schedule;
  }
}

/** A manifest schedule as an EventBridge Scheduler expression: a rate, or a cron in its time zone. */
function scheduleExpression(spec: WorkerSchedule, toilless: ToillessConfig): scheduler.ScheduleExpression {
  const timing = scheduleTiming(spec, toilless);
  if ('cron' in timing) {
    return scheduler.ScheduleExpression.expression(
      `cron(${eventBridgeCron(timing.cron)})`,
      TimeZone.of(timing.timeZone),
    );
  }
  const { hours, minutes } = timing.rate;
  if ((hours === undefined) === (minutes === undefined)) {
    throw new Error(`schedule ${spec.name}: give its rate in hours or in minutes, not both or neither.`);
  }
  return scheduler.ScheduleExpression.rate(
    hours === undefined ? Duration.minutes(minutes as number) : Duration.hours(hours),
  );
}

/** A manifest's bundle extras as WorkerFunction props (the weekly report's Chromium and fonts). */
function lambdaBundleProps(
  manifest: ProcessorManifest,
): Pick<EventProcessorProps, 'architecture' | 'nodeModules' | 'bundledFiles'> {
  const bundle = manifest.lambdaBundle;
  if (!bundle) return {};
  return {
    architecture: bundle.architecture === 'x86_64' ? lambda.Architecture.X86_64 : lambda.Architecture.ARM_64,
    ...(bundle.nodeModules ? { nodeModules: bundle.nodeModules } : {}),
    ...(bundle.files ? { bundledFiles: bundle.files } : {}),
  };
}

/**
 * The incident-timeline timeout: the sources share incidents.sourceBudget (20 s by default, plus 1 s
 * grace), then posting to Slack, waiting out its Retry-After, and the compare-and-swap writes get 40 s.
 */
export function incidentTimelineTimeout(toilless: ToillessConfig): Duration {
  return Duration.seconds(Math.ceil(parseDurationMs(toilless.incidents.sourceBudget) / 1000) + 40);
}

/** The endpoints whose external service takes credentials, and the secret holding them. */
const ENDPOINT_AUTH_SECRETS: Partial<Record<EndpointName, WorkerSecretName>> = {
  prometheusUrl: 'PROMETHEUS_AUTH',
  remoteWriteUrl: 'PROMETHEUS_AUTH',
  lokiUrl: 'LOKI_AUTH',
  tempoUrl: 'TEMPO_AUTH',
};

/** The secrets a worker reads: its manifest's, and the credentials of the endpoints it uses. */
export function workerSecretNames(manifest: WorkerManifest): WorkerSecretName[] {
  const names = new Set<WorkerSecretName>(manifest.secrets);
  for (const endpoint of manifest.endpoints) {
    const secret = ENDPOINT_AUTH_SECRETS[endpoint];
    if (secret !== undefined) names.add(secret);
  }
  return [...names];
}
