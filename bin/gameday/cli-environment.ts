/**
 * The GamedayEnvironment of `toilless gameday`, from environment variables: endpoints with the
 * defaults of docker compose, the webhook secret from the environment or the local data directory,
 * Slack through the Web API when a token is set or else the outbox, the store in S3 when
 * TOILLESS_BUCKET is set or else the data directory. Every value is checked with zod; a problem is a
 * ConfigurationError that names the variable and what to do.
 */
import { join, resolve } from 'node:path';
import * as z from 'zod';
import { LocalSecretSource } from '../../functions/local/local-secrets.js';
import { ConfigurationError } from '../../functions/shared/errors.js';
import type { GamedayEnvironment } from './environment.js';

const url = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

const gamedayEnvironmentSchema = z.object({
  PROMETHEUS_URL: url.default('http://localhost:9090'),
  ALERTMANAGER_URL: url.default('http://localhost:9093'),
  SAMPLE_APP_URL: url.default('http://localhost:8000'),
  TOILLESS_URL: url.default('http://localhost:8080'),
  GRAFANA_URL: url.default('http://localhost:3000'),
  LOKI_URL: url.optional(),
  TEMPO_URL: url.optional(),
  SLACK_BOT_TOKEN: z.string().min(1).max(500).optional(),
  SLACK_CHANNEL: z.string().min(1).max(200).optional(),
  SLACK_API_URL: url.default('https://slack.com/api/'),
  TOILLESS_DATA_DIR: z.string().min(1).max(4096).default('.toilless'),
  TOILLESS_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name')
    .optional(),
  AWS_REGION: z.string().min(1).max(50).optional(),
});

export type CpuPressure = GamedayEnvironment['cpuPressure'];

const trimSlash = (value: string) => value.replace(/\/+$/, '');

export async function gamedayEnvironmentFrom(
  env: NodeJS.ProcessEnv,
  options: { readonly cpuPressure?: CpuPressure } = {},
): Promise<GamedayEnvironment> {
  // Empty strings mean "unset", as in the runtime's configuration.
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = gamedayEnvironmentSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((issue) => `${issue.path.join('.')}: ${issue.message}`)
      .join('; ');
    throw new ConfigurationError(`invalid environment for the game day: ${problems}`);
  }
  const e = parsed.data;
  const dataDir = resolve(e.TOILLESS_DATA_DIR);
  const secrets = new LocalSecretSource(dataDir, env);
  const githubWebhookSecret = await secrets.get('GITHUB_WEBHOOK_SECRET');
  if (githubWebhookSecret === undefined) {
    throw new ConfigurationError(
      `GITHUB_WEBHOOK_SECRET is not set and ${secrets.pathOf('GITHUB_WEBHOOK_SECRET')} does not exist: set it to the secret toilless checks (toilless serve generates that file on first start)`,
    );
  }
  if (e.SLACK_BOT_TOKEN !== undefined && e.SLACK_CHANNEL === undefined) {
    throw new ConfigurationError(
      'SLACK_BOT_TOKEN is set but SLACK_CHANNEL is not: set it to the channel toilless posts incidents to, so the game day can read it',
    );
  }
  return {
    prometheusUrl: trimSlash(e.PROMETHEUS_URL),
    alertmanagerUrl: trimSlash(e.ALERTMANAGER_URL),
    sampleAppUrl: trimSlash(e.SAMPLE_APP_URL),
    toillessUrl: trimSlash(e.TOILLESS_URL),
    grafanaUrl: trimSlash(e.GRAFANA_URL),
    githubWebhookSecret,
    slack:
      e.SLACK_BOT_TOKEN !== undefined && e.SLACK_CHANNEL !== undefined
        ? { kind: 'slack-api', apiUrl: e.SLACK_API_URL, token: e.SLACK_BOT_TOKEN, channel: e.SLACK_CHANNEL }
        : { kind: 'outbox', dir: join(dataDir, 'outbox', 'slack') },
    store:
      e.TOILLESS_BUCKET !== undefined
        ? { kind: 's3', bucket: e.TOILLESS_BUCKET, ...(e.AWS_REGION ? { region: e.AWS_REGION } : {}) }
        : { kind: 'data-dir', dir: dataDir },
    cpuPressure: options.cpuPressure ?? 'local-host',
    lokiConfigured: e.LOKI_URL !== undefined,
    tempoConfigured: e.TEMPO_URL !== undefined,
  };
}
