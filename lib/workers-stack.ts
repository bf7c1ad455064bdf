import { CfnOutput, Duration, type RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
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
    description: 'Slack bot token (xoxb-...) the processors post with; put the value after deploying',
    rotation: 'Slack issues the token; it is replaced by hand when reissued',
  },
  GITHUB_TOKEN: {
    id: 'GitHubToken',
    generated: false,
    description: 'GitHub token for reading deployments and workflow runs; put the value after deploying',
    rotation: 'GitHub issues the token; it is replaced by hand when reissued',
  },
  GRAFANA_TOKEN: {
    id: 'GrafanaToken',
    generated: false,
    description: 'Grafana service account token for rendering dashboards; put the value after deploying',
    rotation: 'Grafana issues the token; it is replaced by hand when reissued',
  },
} as const;

export type WorkerSecretName = keyof typeof WORKER_SECRETS;

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
}

/**
 * The event-driven workers: the webhook intake (Alertmanager, GitHub) behind an HTTP API, the
 * EventBridge bus they publish to, the S3 store, and the secrets. Processors subscribe to the bus.
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

  constructor(scope: Construct, id: string, props: WorkersStackProps = {}) {
    super(scope, id, {
      description: 'toilless workers: webhook intake, event bus, store and secrets',
      ...props,
    });

    this.store = new StoreBucket(this, 'Store', {
      ...(props.storeRemovalPolicy ? { removalPolicy: props.storeRemovalPolicy } : {}),
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
    for (const [name, secret] of Object.entries(this.secrets)) {
      new CfnOutput(this, `${WORKER_SECRETS[name as WorkerSecretName].id}SecretArn`, {
        value: secret.secretArn,
        description: `Secrets Manager secret holding ${name}`,
      });
    }
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
    this.store.grantObjectReadWrite(fn.role, `webhooks/${source}/*`);
    this.eventBus.bus.grantPutEventsTo(fn.role);
    this.webhooks.addWebhook(source, fn.function);
    return fn;
  }
}
