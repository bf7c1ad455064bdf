import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { httpHealthCheck, LgtmService, type StackServiceProps, stackServiceBase } from './lgtm-service.js';
import type { StateFileSystem } from './state-file-system.js';

export const ALERTMANAGER_PORT = 9093;

/** The user prom/alertmanager runs as (nobody). */
const ALERTMANAGER_UID = 65534;

/**
 * The toilless receiver's URL as alertmanager.yml writes it for docker compose; on ECS the init container
 * replaces it with the workers' webhook URL (the receiverUrl secret).
 */
export const TOILLESS_RECEIVER_PLACEHOLDER = 'http://toilless:8080/webhooks/alertmanager';

/** The files alertmanager.yml reads its credentials from, relative to its folder. */
export const ALERTMANAGER_SECRET_FILES = {
  webhookToken: 'secrets/toilless-webhook-token',
  slackWebhookUrl: 'secrets/slack-webhook-url',
} as const;

export interface AlertmanagerProps extends StackServiceProps {
  /** The file system silences and the notification log live on. */
  readonly state: StateFileSystem;
  /** The bearer token Alertmanager sends to the workers' webhook. */
  readonly webhookToken: secretsmanager.ISecret;
  /** The Slack incoming-webhook URL. */
  readonly slackWebhookUrl: secretsmanager.ISecret;
  /** The URL of the workers' Alertmanager webhook, put in place of TOILLESS_RECEIVER_PLACEHOLDER. */
  readonly receiverUrl: secretsmanager.ISecret;
}

/** The container's arguments: one instance (no gossip), state on EFS. */
export function alertmanagerArguments(): string[] {
  return [
    '--config.file=/etc/alertmanager/alertmanager.yml',
    '--storage.path=/alertmanager',
    '--web.listen-address=0.0.0.0:9093',
    // One task: no cluster to gossip with.
    '--cluster.listen-address=',
  ];
}

/**
 * Alertmanager with stack-config/alertmanager; the webhook token and the Slack URL come from Secrets
 * Manager and reach it as the files alertmanager.yml names (written by the init container, never in
 * plain environment variables); silences survive a restart on EFS.
 */
export class Alertmanager extends Construct {
  /** The ECS service. */
  readonly service: LgtmService;

  constructor(scope: Construct, id: string, props: AlertmanagerProps) {
    super(scope, id);
    const accessPoint = props.state.accessPoint('AlertmanagerData', {
      path: '/alertmanager',
      uid: ALERTMANAGER_UID,
    });
    this.service = new LgtmService(this, 'Service', {
      ...stackServiceBase(props),
      name: 'alertmanager',
      configFolder: 'alertmanager',
      configMountPath: '/etc/alertmanager',
      ports: [{ port: ALERTMANAGER_PORT }],
      command: alertmanagerArguments(),
      secretFiles: {
        [ALERTMANAGER_SECRET_FILES.webhookToken]: ecs.Secret.fromSecretsManager(props.webhookToken),
        [ALERTMANAGER_SECRET_FILES.slackWebhookUrl]: ecs.Secret.fromSecretsManager(props.slackWebhookUrl),
      },
      urlSubstitutions: [
        {
          file: 'alertmanager.yml',
          placeholder: TOILLESS_RECEIVER_PLACEHOLDER,
          secret: ecs.Secret.fromSecretsManager(props.receiverUrl),
        },
      ],
      singleWriter: true,
      state: { fileSystem: props.state.fileSystem, accessPoint, containerPath: '/alertmanager' },
      healthCheck: httpHealthCheck(ALERTMANAGER_PORT, '/-/ready'),
    });
  }

  /** http://alertmanager.<namespace>:9093 */
  get url(): string {
    return this.service.url(ALERTMANAGER_PORT);
  }
}
