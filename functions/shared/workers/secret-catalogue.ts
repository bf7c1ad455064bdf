/**
 * What each runtime secret is, as plain data: the CDK stack creates one Secrets Manager secret per
 * entry from it, and the manifests say which worker reads which. Keyed by the SecretSource port's
 * names, so a name added there without an entry here does not compile.
 */
import type { SecretName } from '../ports/secrets.js';

export interface SecretSpec {
  /** The secret's name in the stack (its construct id and the `<id>SecretArn` output). */
  readonly id: string;
  /** Whether the stack generates its value (a credential toilless hands to the sender) or an operator puts it. */
  readonly generated: boolean;
  /** What it is and where it goes, shown in the Secrets Manager console. */
  readonly description: string;
  /** Why it is not rotated automatically. */
  readonly rotation: string;
}

export const SECRET_CATALOGUE = {
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
  PROMETHEUS_AUTH: {
    id: 'PrometheusAuth',
    generated: false,
    description:
      'Credentials for a hosted Prometheus (queries and remote-write) (observability.external): basic-auth user:password or a bearer token; put the value after deploying',
    rotation: 'the hosting service issues the credential; it is replaced by hand when reissued',
  },
  LOKI_AUTH: {
    id: 'LokiAuth',
    generated: false,
    description:
      'Credentials for a hosted Loki (observability.external): basic-auth user:password or a bearer token; put the value after deploying',
    rotation: 'the hosting service issues the credential; it is replaced by hand when reissued',
  },
  TEMPO_AUTH: {
    id: 'TempoAuth',
    generated: false,
    description:
      'Credentials for a hosted Tempo (observability.external): basic-auth user:password or a bearer token; put the value after deploying',
    rotation: 'the hosting service issues the credential; it is replaced by hand when reissued',
  },
} as const satisfies Record<SecretName, SecretSpec>;
