import { CfnOutput, Duration, type RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { parseDurationMs } from '../functions/shared/duration.js';
import {
  stackConfigDir as defaultStackConfigDir,
  loadToillessConfig,
  retentionDays,
  type ToillessConfig,
  timelineReservedConcurrency,
} from '../functions/shared/stack-config.js';
import { EventProcessor } from './workers/event-processor.js';
import { endpointVariables, type ObservabilityEndpoints } from './workers/observability-endpoints.js';
import { StoreBucket } from './workers/store-bucket.js';
import { ToillessEventBus } from './workers/toilless-event-bus.js';
import { WebhookApi } from './workers/webhook-api.js';
import { WorkerFunction } from './workers/worker-function.js';

/** The secrets the workers read, by the variable name the runtime knows them by. */
export const WORKER_SECRETS = {
  ALERTMANAGER_WEBHOOK_TOKEN: {
    id: 'AlertmanagerWebhookToken',
    generated: true,
    description: 'Bearer token Alertmanager sends to POST /webhooks/alertmanager (copy it into http_config)',
    rotation: 'it is shared with Alertmanager, whose config must change with it',
  },
  GITHUB_WEBHOOK_SECRET: {
    id: 'GitHubWebhookSecret',
    generated: true,
    description: 'Secret GitHub signs webhook deliveries with (copy it into the webhook settings)',
    rotation: 'it is shared with the GitHub webhook settings, which must change with it',
  },
  SLACK_BOT_TOKEN: {
    id: 'SlackBotToken',
    generated: false,
    description:
      'Slack bot token (xoxb-...) the incident timeline posts with (chat:write, files:write, channels:read); put the value after deploying',
    rotation: 'Slack issues the token; it is replaced by hand when reissued',
  },
  GITHUB_TOKEN: {
    id: 'GitHubToken',
    generated: false,
    description:
      'Read-only GitHub token (deployments, contents, pull requests) for the DORA metrics; put the value after deploying',
    rotation: 'GitHub issues the token; it is replaced by hand when reissued',
  },
  GRAFANA_TOKEN: {
    id: 'GrafanaToken',
    generated: false,
    description:
      'Grafana service account token (annotations writer, dashboards reader); put the value after deploying',
    rotation: 'Grafana issues the token; it is replaced by hand when reissued',
  },
} as const;

export type WorkerSecretName = keyof typeof WORKER_SECRETS;

/**
 * What the hourly schedule sends dora-metrics: no detail-type, which its handler takes for a full
 * recompute (isScheduledRecompute in functions/dora-metrics/handler.ts).
 */
export const DORA_RECOMPUTE_PAYLOAD = { source: 'toilless.schedule', task: 'DoraRecompute' } as const;

/** The stack-config files the processors read at run time, bundled with them. */
const PROCESSOR_STACK_CONFIG = ['toilless.yaml', 'slos.yaml'] as const;

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
}

/**
 * The event-driven workers: the webhook intake (Alertmanager, GitHub) behind an HTTP API, the
 * EventBridge bus they publish to, the S3 store, the secrets, and the processors that subscribe to the
 * bus (incident-timeline, dora-metrics, the latter also on an hourly schedule).
 */
export class WorkersStack extends Stack {
  /** The S3 store (TOILLESS_BUCKET). */
  readonly store: StoreBucket;
  /** The toilless event bus (TOILLESS_EVENT_BUS). */
  readonly eventBus: ToillessEventBus;
  /** The public webhook endpoints. */
  readonly webhooks: WebhookApi;
  /** One Secrets Manager secret per runtime secret name. */
  readonly secrets: Readonly<Record<WorkerSecretName, secretsmanager.Secret>>;
  /** Receives Alertmanager notifications and publishes AlertNotification events. */
  readonly alertmanagerWebhook: WorkerFunction;
  /** Receives GitHub deliveries, deduplicates them and publishes GitHub* events. */
  readonly githubWebhook: WorkerFunction;
  /** Builds incident timelines from AlertNotification and DeploymentRecorded events, in one Slack thread each. */
  readonly incidentTimeline: EventProcessor;
  /** Records deployments, changes and incidents and writes the DORA metrics to Prometheus. */
  readonly doraMetrics: EventProcessor;
  /** Invokes dora-metrics every hour with DORA_RECOMPUTE_PAYLOAD. */
  readonly doraRecompute: scheduler.Schedule;

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
    this.secrets = this.createSecrets();
    this.webhooks = new WebhookApi(this, 'Webhooks', {
      ...(props.webhookRateLimit === undefined ? {} : { throttlingRateLimit: props.webhookRateLimit }),
      ...(props.webhookBurstLimit === undefined ? {} : { throttlingBurstLimit: props.webhookBurstLimit }),
      ...(props.logRetention ? { accessLogRetention: props.logRetention } : {}),
    });

    this.alertmanagerWebhook = this.intake('AlertmanagerWebhook', 'alertmanager', props, {
      ALERTMANAGER_WEBHOOK_TOKEN: this.secrets.ALERTMANAGER_WEBHOOK_TOKEN,
    });
    this.githubWebhook = this.intake('GitHubWebhook', 'github', props, {
      GITHUB_WEBHOOK_SECRET: this.secrets.GITHUB_WEBHOOK_SECRET,
    });

    this.incidentTimeline = this.createIncidentTimeline(props, toilless, configDir);
    this.doraMetrics = this.createDoraMetrics(props, configDir);
    this.doraRecompute = this.createDoraRecompute();

    new CfnOutput(this, 'AlertmanagerWebhookUrl', {
      value: this.webhooks.webhookUrl('alertmanager'),
      description: 'Alertmanager webhook_configs url (with the ALERTMANAGER_WEBHOOK_TOKEN bearer token)',
    });
    new CfnOutput(this, 'GitHubWebhookUrl', {
      value: this.webhooks.webhookUrl('github'),
      description: 'GitHub webhook Payload URL (content type application/json, secret GITHUB_WEBHOOK_SECRET)',
    });
    new CfnOutput(this, 'StoreBucketName', {
      value: this.store.bucket.bucketName,
      description: 'TOILLESS_BUCKET',
    });
    new CfnOutput(this, 'EventBusName', {
      value: this.eventBus.bus.eventBusName,
      description: 'TOILLESS_EVENT_BUS',
    });
    for (const [id, worker, processor] of [
      ['IncidentTimeline', 'incident-timeline', this.incidentTimeline],
      ['DoraMetrics', 'dora-metrics', this.doraMetrics],
    ] as const) {
      new CfnOutput(this, `${id}FunctionName`, {
        value: processor.worker.function.functionName,
        description: `The ${worker} function, which dead letters are redriven to`,
      });
      new CfnOutput(this, `${id}DeadLetterQueueUrl`, {
        value: processor.deadLetterQueue.queueUrl,
        description: `Events ${worker} could not take, kept for 14 days`,
      });
    }
    for (const [name, secret] of Object.entries(this.secrets)) {
      new CfnOutput(this, `${WORKER_SECRETS[name as WorkerSecretName].id}SecretArn`, {
        value: secret.secretArn,
        description: `Secrets Manager secret holding ${name}`,
      });
    }
  }

  private createIncidentTimeline(
    props: WorkersStackProps,
    toilless: ToillessConfig,
    configDir: string,
  ): EventProcessor {
    const processor = new EventProcessor(this, 'IncidentTimeline', {
      worker: 'incident-timeline',
      description:
        'toilless incident-timeline: evidence from the LGTM sources and deploys, one Slack thread per incident',
      eventBus: this.eventBus.bus,
      detailTypes: ['AlertNotification', 'DeploymentRecorded'],
      timeout: incidentTimelineTimeout(toilless),
      memorySize: 1024,
      // An alert storm queues in Lambda's async queue instead of querying the sources all at once:
      // incidents.concurrency bounds the instances, and each takes its share of every source's bound.
      reservedConcurrentExecutions: timelineReservedConcurrency(toilless),
      environment: {
        ...endpointVariables(props.observability, ['prometheusUrl', 'lokiUrl', 'tempoUrl', 'grafanaUrl']),
        TOILLESS_BUCKET: this.store.bucket.bucketName,
        TOILLESS_EVENT_BUS: this.eventBus.bus.eventBusName,
        SLACK_CHANNEL: toilless.slack.channel,
      },
      secrets: { SLACK_BOT_TOKEN: this.secrets.SLACK_BOT_TOKEN },
      stackConfigFiles: PROCESSOR_STACK_CONFIG,
      stackConfigDir: configDir,
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      ...(props.logLevel ? { logLevel: props.logLevel } : {}),
    });
    // Timelines, group pointers and the deploy index all live under incidents/. Until SLACK_BOT_TOKEN is
    // filled, messages go to outbox/slack/ in the bucket, so operators can read what would have been posted.
    this.store.grantObjectReadWrite(processor.worker.role, ['incidents/*', 'outbox/*']);
    this.store.grantObjectRead(processor.worker.role, 'claim-check/*');
    this.eventBus.bus.grantPutEventsTo(processor.worker.role);
    return processor;
  }

  private createDoraMetrics(props: WorkersStackProps, configDir: string): EventProcessor {
    const processor = new EventProcessor(this, 'DoraMetrics', {
      worker: 'dora-metrics',
      description:
        'toilless dora-metrics: deployment, change and incident records, DORA metrics by remote-write',
      eventBus: this.eventBus.bus,
      detailTypes: [
        'GitHubDeployment',
        'GitHubDeploymentStatus',
        'GitHubWorkflowRun',
        'GitHubPush',
        'GitHubPullRequest',
        'IncidentOpened',
        'IncidentResolved',
      ],
      // The hourly recompute reads every ledger and remote-writes every series.
      timeout: Duration.minutes(5),
      memorySize: 1024,
      environment: {
        ...endpointVariables(props.observability, ['prometheusUrl', 'remoteWriteUrl', 'grafanaUrl']),
        TOILLESS_BUCKET: this.store.bucket.bucketName,
        TOILLESS_EVENT_BUS: this.eventBus.bus.eventBusName,
      },
      secrets: { GITHUB_TOKEN: this.secrets.GITHUB_TOKEN, GRAFANA_TOKEN: this.secrets.GRAFANA_TOKEN },
      stackConfigFiles: PROCESSOR_STACK_CONFIG,
      stackConfigDir: configDir,
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      ...(props.logLevel ? { logLevel: props.logLevel } : {}),
    });
    this.store.grantObjectReadWrite(processor.worker.role, ['deployments/*', 'changes/*', 'dora/*']);
    this.store.grantObjectRead(processor.worker.role, 'claim-check/*');
    this.eventBus.bus.grantPutEventsTo(processor.worker.role);
    return processor;
  }

  /** The hourly schedule that invokes dora-metrics with DORA_RECOMPUTE_PAYLOAD. */
  private createDoraRecompute(): scheduler.Schedule {
    const fn = this.doraMetrics.worker.function;
    // An own role rather than the target's shared one, so that its finding is acknowledged where it arises.
    const role = new iam.Role(this, 'DoraRecomputeRole', {
      description: 'EventBridge Scheduler invokes toilless dora-metrics for the hourly recompute',
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
    const schedule = new scheduler.Schedule(this, 'DoraRecompute', {
      description: 'toilless dora-metrics: hourly recompute, which also rolls the DORA windows forward',
      schedule: scheduler.ScheduleExpression.rate(Duration.hours(1)),
      target: new schedulerTargets.LambdaInvoke(fn, {
        role,
        input: scheduler.ScheduleTargetInput.fromObject(DORA_RECOMPUTE_PAYLOAD),
        deadLetterQueue: this.doraMetrics.deadLetterQueue,
        retryAttempts: 4,
        // The next hour's run recomputes everything anyway.
        maxEventAge: Duration.hours(1),
      }),
    });
    const functionId = this.getLogicalId(fn.node.defaultChild as lambda.CfnFunction);
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${functionId}.Arn>:*]`,
      reason:
        'lambda:InvokeFunction on the dora-metrics function and its versions or aliases (:*), as the Scheduler target grants it; nothing else.',
    });
    return schedule;
  }

  private createSecrets(): Record<WorkerSecretName, secretsmanager.Secret> {
    const entries = Object.entries(WORKER_SECRETS).map(([name, spec]) => {
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
    return Object.fromEntries(entries) as Record<WorkerSecretName, secretsmanager.Secret>;
  }

  /** The intake of one webhook source: functions/<source>-webhook behind POST /webhooks/<source>. */
  private intake(
    id: string,
    source: string,
    props: WorkersStackProps,
    secrets: Partial<Record<WorkerSecretName, secretsmanager.ISecret>>,
  ): WorkerFunction {
    const worker = `${source}-webhook`;
    const fn = new WorkerFunction(this, id, {
      worker,
      description: `toilless ${worker}: authenticate, validate, deduplicate, publish`,
      // GitHub gives up on a delivery after 10 s; the intake only checks and publishes.
      timeout: Duration.seconds(10),
      memorySize: 512,
      environment: {
        TOILLESS_BUCKET: this.store.bucket.bucketName,
        TOILLESS_EVENT_BUS: this.eventBus.bus.eventBusName,
      },
      secrets: secrets as Record<string, secretsmanager.ISecret>,
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      ...(props.logLevel ? { logLevel: props.logLevel } : {}),
    });
    // The intake's delivery records live under webhooks/<source>/ (GitHub claims, released with a delete).
    // Events over the bus limit are stored under claim-check/ and published as a reference.
    this.store.grantObjectReadWrite(fn.role, [`webhooks/${source}/*`, 'claim-check/*']);
    this.eventBus.bus.grantPutEventsTo(fn.role);
    this.webhooks.addWebhook(source, fn.function);
    return fn;
  }
}

/**
 * The incident-timeline timeout: the sources share incidents.sourceBudget (20 s by default, plus 1 s
 * grace), then posting to Slack, waiting out its Retry-After, and the compare-and-swap writes get 40 s.
 */
export function incidentTimelineTimeout(toilless: ToillessConfig): Duration {
  return Duration.seconds(Math.ceil(parseDurationMs(toilless.incidents.sourceBudget) / 1000) + 40);
}
