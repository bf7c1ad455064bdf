/**
 * Runtime configuration from the environment: the same names on Lambda and locally.
 * Secrets are resolved separately (see ports/secrets.ts) so that they never sit in this object.
 */
import { resolve } from 'node:path';
import * as z from 'zod';
import { ConfigurationError } from './errors.js';

const url = z.url({ protocol: /^https?$/ });

const environmentSchema = z.object({
  PROMETHEUS_URL: url.default('http://localhost:9090'),
  PROMETHEUS_REMOTE_WRITE_URL: url.optional(),
  LOKI_URL: url.default('http://localhost:3100'),
  TEMPO_URL: url.default('http://localhost:3200'),
  GRAFANA_URL: url.default('http://localhost:3000'),
  SLACK_API_URL: url.default('https://slack.com/api/'),
  GITHUB_API_URL: url.optional(),
  SLACK_CHANNEL: z.string().min(1).optional(),
  TOILLESS_DATA_DIR: z.string().min(1).default('.toilless'),
  /** Only set on AWS: the bucket behind the store and the bus name. */
  TOILLESS_BUCKET: z.string().min(1).optional(),
  TOILLESS_EVENT_BUS: z.string().min(1).optional(),
});

export interface RuntimeConfig {
  readonly prometheusUrl: string;
  readonly prometheusRemoteWriteUrl: string;
  readonly lokiUrl: string;
  readonly tempoUrl: string;
  readonly grafanaUrl: string;
  readonly slackApiUrl: string;
  /** GitHub Enterprise Server's REST API root; unset means api.github.com. */
  readonly githubApiUrl?: string;
  /** Overrides toilless.yaml `slack.channel` for one deployment or machine. */
  readonly slackChannel?: string;
  /** Absolute path of the local data directory. */
  readonly dataDir: string;
  readonly bucket?: string;
  readonly eventBusName?: string;
}

const trimSlash = (value: string) => value.replace(/\/+$/, '');

export function loadRuntimeConfig(env: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  // Empty strings mean "unset" (a common shell and CloudFormation artefact).
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const result = environmentSchema.safeParse(present);
  if (!result.success) {
    const problems = result.error.issues
      .map((issue) => `${issue.path.join('.')}: ${issue.message}`)
      .join('; ');
    throw new ConfigurationError(`invalid environment: ${problems}`);
  }
  const e = result.data;
  const prometheusUrl = trimSlash(e.PROMETHEUS_URL);
  return {
    prometheusUrl,
    prometheusRemoteWriteUrl: e.PROMETHEUS_REMOTE_WRITE_URL ?? `${prometheusUrl}/api/v1/write`,
    lokiUrl: trimSlash(e.LOKI_URL),
    tempoUrl: trimSlash(e.TEMPO_URL),
    grafanaUrl: trimSlash(e.GRAFANA_URL),
    slackApiUrl: e.SLACK_API_URL.endsWith('/') ? e.SLACK_API_URL : `${e.SLACK_API_URL}/`,
    dataDir: resolve(e.TOILLESS_DATA_DIR),
    ...(e.SLACK_CHANNEL ? { slackChannel: e.SLACK_CHANNEL } : {}),
    ...(e.GITHUB_API_URL ? { githubApiUrl: trimSlash(e.GITHUB_API_URL) } : {}),
    ...(e.TOILLESS_BUCKET ? { bucket: e.TOILLESS_BUCKET } : {}),
    ...(e.TOILLESS_EVENT_BUS ? { eventBusName: e.TOILLESS_EVENT_BUS } : {}),
  };
}
