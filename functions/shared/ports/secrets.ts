/**
 * The secrets port: the names the runtime knows secrets by and where their values come from. Adapters:
 * the environment and Secrets Manager on Lambda (adapters/aws/environment-secret-source.ts), the
 * environment and the data directory locally (functions/local/local-secrets.ts), fixed values here.
 */

export const SECRET_NAMES = [
  'ALERTMANAGER_WEBHOOK_TOKEN',
  'GITHUB_WEBHOOK_SECRET',
  'GITHUB_TOKEN',
  'SLACK_BOT_TOKEN',
  'GRAFANA_TOKEN',
  'PROMETHEUS_AUTH',
  'LOKI_AUTH',
  'TEMPO_AUTH',
] as const;

export type SecretName = (typeof SECRET_NAMES)[number];

export interface SecretSource {
  /** The secret's value, or undefined when it is not configured. */
  get(name: SecretName): Promise<string | undefined>;
}

/** Fixed values: tests and the CLI's explicit flags. */
export class StaticSecretSource implements SecretSource {
  constructor(private readonly values: Partial<Record<SecretName, string>>) {}
  get(name: SecretName): Promise<string | undefined> {
    return Promise.resolve(this.values[name]);
  }
}
