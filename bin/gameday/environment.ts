/**
 * What a game day runs against: the endpoints of a running toilless platform, wherever it runs
 * (`npm run gameday:local`, docker compose, the AWS stack). Plain data: the CLI builds it from the
 * environment, the local stack after it has started the real parts.
 */

/** The design's three failure scenarios. */
export const SCENARIO_NAMES = ['deploy-failure', 'latency', 'resource-pressure'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export interface GamedayEnvironment {
  /** Prometheus's base URL (queries: alerts firing, the DORA series, the latency quantile). */
  readonly prometheusUrl: string;
  /** Alertmanager's base URL (its v2 API: the alert groups it routed). */
  readonly alertmanagerUrl: string;
  /** The sample app's base URL (the latency scenario's load goes to its /slow). */
  readonly sampleAppUrl: string;
  /** toilless's base URL: deliveries go to `${toillessUrl}/webhooks/github`. */
  readonly toillessUrl: string;
  /** The GitHub webhook secret toilless checks: deliveries are signed with it as GitHub signs them. */
  readonly githubWebhookSecret: string;
  /** Where toilless's Slack messages are seen. */
  readonly slack: SlackObservation;
  /** Where toilless's incidents are seen (`incidents/<id>/timeline.json`). */
  readonly store: StoreObservation;
  /**
   * How CPU pressure is made: `local-host` burns this machine's cores (the node exporter watches this
   * host), `sample-app` calls the sample app's /stress (its task on AWS).
   */
  readonly cpuPressure: 'local-host' | 'sample-app';
  /** Whether toilless queries Loki and Tempo here (the latency scenario expects logs and a trace then). */
  readonly lokiConfigured: boolean;
  readonly tempoConfigured: boolean;
  /** Shortened rule and routing timings in effect (the local run only); absent: the shipped ones. */
  readonly timeScale?: TimeScale;
  /** Grafana's base URL, only for the links in the dashboards' PDF. @default http://localhost:3000 */
  readonly grafanaUrl?: string;
}

/** toilless's Slack messages: the local outbox folder, or the Slack Web API (channel history). */
export type SlackObservation =
  /** `dir`: the folder of the outbox files (`<data-dir>/outbox/slack`), or the data directory itself. */
  | { readonly kind: 'outbox'; readonly dir: string }
  | { readonly kind: 'slack-api'; readonly apiUrl: string; readonly token: string; readonly channel: string };

/** toilless's store: the local data directory, or the workers' S3 bucket. */
export type StoreObservation =
  | { readonly kind: 'data-dir'; readonly dir: string }
  | { readonly kind: 's3'; readonly bucket: string; readonly region?: string };

/** Rule, scrape and routing durations multiplied by `factor` (< 1), so alerts fire in seconds. */
export interface TimeScale {
  readonly factor: number;
  /** One sentence for the report, e.g. which files were shortened and how. */
  readonly description: string;
}
