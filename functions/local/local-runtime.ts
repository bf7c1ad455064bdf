/**
 * The local runtime's wiring: the same worker code as on Lambda, with the embedded adapters —
 * a data directory for the store, an in-process bus, Slack or the outbox. Nothing here decides;
 * it only connects ports to adapters.
 */
import { createAlertmanagerWebhook } from '../alertmanager-webhook/intake.js';
import { doraIntegrations } from '../dora-metrics/integrations.js';
import { createDoraMetricsWorker } from '../dora-metrics/worker.js';
import { createGitHubWebhook } from '../github-webhook/intake.js';
import { recordDeployment } from '../incident-timeline/deploy-index.js';
import { createEvidenceGatherer } from '../incident-timeline/evidence.js';
import { createIncidentTimelineWorker } from '../incident-timeline/worker.js';
import { FsObjectStore } from '../shared/adapters/local/fs-object-store.js';
import { InProcessEventBus } from '../shared/adapters/local/in-process-bus.js';
import { createNotifier } from '../shared/adapters/slack/create-notifier.js';
import { loadRuntimeConfig, type RuntimeConfig } from '../shared/config.js';
import type { WebhookHandler } from '../shared/http/webhook.js';
import type { Logger } from '../shared/log.js';
import { type Clock, systemClock } from '../shared/ports/clock.js';
import type { Notifier } from '../shared/ports/notifier.js';
import { RemoteWriteClient } from '../shared/prometheus/remote-write.js';
import type { SecretSource } from '../shared/secrets.js';
import { loadToillessConfig, stackConfigDir, type ToillessConfig } from '../shared/stack-config.js';
import { LocalSecretSource } from './local-secrets.js';
import { WorkerMetrics } from './worker-metrics.js';

export interface LocalRuntimeOptions {
  /** Overrides TOILLESS_DATA_DIR. */
  readonly dataDir?: string;
  /** The environment to read configuration and secrets from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  readonly logger: Logger;
  /** @default env, then files under <data-dir>/secrets/ */
  readonly secrets?: SecretSource;
  /** @default the system clock */
  readonly clock?: Clock;
  /** Collect Node.js process metrics (off in tests that start many servers). @default true */
  readonly processMetrics?: boolean;
  /** Where toilless.yaml and slos.yaml are. @default the repository's stack-config/ (TOILLESS_STACK_CONFIG) */
  readonly stackConfigDir?: string;
}

export interface LocalRuntime {
  readonly config: RuntimeConfig;
  readonly toilless: ToillessConfig;
  readonly store: FsObjectStore;
  readonly bus: InProcessEventBus;
  readonly notifier: Notifier;
  readonly secrets: SecretSource;
  readonly metrics: WorkerMetrics;
  /** Webhook routes by path. */
  readonly webhooks: Readonly<Record<string, WebhookHandler>>;
  /** Files of generated credentials written on this start (empty when they already existed). */
  readonly generatedSecretFiles: readonly string[];
  /** Recomputes every DORA target now (the hourly schedule does it too). */
  recomputeDora(): Promise<void>;
  /** Stops the schedule, then waits for pending deliveries (see InProcessEventBus.close). */
  close(): Promise<void>;
}

/** The DORA windows roll forward by the hour, as the hourly EventBridge schedule does on AWS. */
const DORA_RECOMPUTE_INTERVAL_MS = 3_600_000;

export async function createLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const env = options.env ?? process.env;
  const config = loadRuntimeConfig(
    options.dataDir === undefined ? env : { ...env, TOILLESS_DATA_DIR: options.dataDir },
  );
  const logger = options.logger;
  const clock = options.clock ?? systemClock;
  // toilless.yaml and slos.yaml come from one directory, so a runtime never mixes two configurations.
  const configDir = options.stackConfigDir ?? stackConfigDir(env);
  const toilless = loadToillessConfig(configDir);
  const store = new FsObjectStore(config.dataDir);

  let generatedSecretFiles: string[] = [];
  let secrets = options.secrets;
  if (secrets === undefined) {
    const local = new LocalSecretSource(config.dataDir, env);
    generatedSecretFiles = await local.ensureGenerated();
    secrets = local;
  }

  const metrics = new WorkerMetrics({ processMetrics: options.processMetrics ?? true });
  const bus = new InProcessEventBus({ store, logger: logger.child({ component: 'bus' }), clock });
  const countedBus = metrics.countPublished(bus);
  const slackToken = await secrets.get('SLACK_BOT_TOKEN');
  const notifier = createNotifier({
    ...(slackToken ? { token: slackToken } : {}),
    channel: config.slackChannel ?? toilless.slack.channel,
    apiUrl: config.slackApiUrl,
    store,
    logger: logger.child({ component: 'notifier' }),
  });

  const intake = { bus: countedBus, store, secrets, clock, logger: logger.child({ component: 'intake' }) };

  // The processors: the same cores the Lambda handlers run, subscribed to the in-process bus.
  const timelineLogger = logger.child({ component: 'incident-timeline' });
  bus.subscribe({
    name: 'incident-timeline',
    types: ['AlertNotification'],
    handler: createIncidentTimelineWorker({
      store,
      bus: countedBus,
      notifier,
      clock,
      logger: timelineLogger,
      config: toilless,
      prometheusUrl: config.prometheusUrl,
      gatherEvidence: createEvidenceGatherer({
        config,
        toilless,
        stackConfigDir: configDir,
        store,
        logger: timelineLogger,
      }),
    }),
  });
  bus.subscribe({
    name: 'incident-deploy-index',
    types: ['DeploymentRecorded'],
    handler: async (event) => {
      if (event.type === 'DeploymentRecorded') await recordDeployment(store, event);
    },
  });

  const doraLogger = logger.child({ component: 'dora-metrics' });
  const integrations = await doraIntegrations({ runtime: config, secrets, store, logger: doraLogger });
  const dora = createDoraMetricsWorker({
    store,
    bus: countedBus,
    clock,
    logger: doraLogger,
    config: toilless,
    // Locally Prometheus is often not running: give up fast, the store keeps everything for the next write.
    writer: new RemoteWriteClient({
      url: config.prometheusRemoteWriteUrl,
      deadlineMs: 5_000,
      maxAttempts: 3,
    }),
    commits: integrations.commits,
    ...(integrations.annotate ? { annotate: integrations.annotate } : {}),
    ...(integrations.pullRequestFirstCommit
      ? { pullRequestFirstCommit: integrations.pullRequestFirstCommit }
      : {}),
  });
  bus.subscribe({
    name: 'dora-metrics',
    types: [
      'GitHubDeployment',
      'GitHubDeploymentStatus',
      'GitHubWorkflowRun',
      'GitHubPush',
      'GitHubPullRequest',
      'IncidentOpened',
      'IncidentResolved',
    ],
    handler: (event) => dora.handle(event),
  });
  const recomputeDora = () => dora.recomputeAll();
  const schedule = setInterval(() => {
    recomputeDora().catch((error: unknown) =>
      doraLogger.error({ err: error }, 'hourly DORA recompute failed'),
    );
  }, DORA_RECOMPUTE_INTERVAL_MS);
  schedule.unref();

  return {
    config,
    toilless,
    store,
    bus,
    notifier,
    secrets,
    metrics,
    webhooks: {
      '/webhooks/alertmanager': createAlertmanagerWebhook(intake),
      '/webhooks/github': createGitHubWebhook(intake),
    },
    generatedSecretFiles,
    recomputeDora,
    close: async () => {
      clearInterval(schedule);
      await bus.close();
    },
  };
}
