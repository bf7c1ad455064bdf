/**
 * The local runtime's wiring: the same worker code as on Lambda, with the embedded adapters —
 * a data directory for the store, an in-process bus, Slack or the outbox. Nothing here decides;
 * it only connects ports to adapters.
 */

import { join } from 'node:path';
import { createAlertmanagerWebhook } from '../alertmanager-webhook/intake.js';
import { doraIntegrations } from '../dora-metrics/integrations.js';
import { createDoraMetricsWorker } from '../dora-metrics/worker.js';
import { createGitHubWebhook } from '../github-webhook/intake.js';
import { recordDeployment } from '../incident-timeline/deploy-index.js';
import { createEvidenceGatherer } from '../incident-timeline/evidence.js';
import { createIncidentTimelineWorker } from '../incident-timeline/worker.js';
import { FileEventQueue } from '../shared/adapters/local/file-event-queue.js';
import { FsObjectStore } from '../shared/adapters/local/fs-object-store.js';
import { InProcessEventBus } from '../shared/adapters/local/in-process-bus.js';
import { createNotifier } from '../shared/adapters/slack/create-notifier.js';
import { loadRuntimeConfig, type RuntimeConfig } from '../shared/config.js';
import { resolveClaimCheck } from '../shared/events/claim-check.js';
import type { WebhookHandler } from '../shared/http/webhook.js';
import type { Logger } from '../shared/log.js';
import { type Clock, systemClock } from '../shared/ports/clock.js';
import type { EventHandler } from '../shared/ports/event-bus.js';
import type { Notifier } from '../shared/ports/notifier.js';
import type { SecretSource } from '../shared/ports/secrets.js';
import { RemoteWriteClient } from '../shared/prometheus/remote-write.js';
import { loadToillessConfig, stackConfigDir, type ToillessConfig } from '../shared/stack-config.js';
import { LocalSecretSource } from './local-secrets.js';
import { LocalRetention } from './retention.js';
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
  /** Prunes the data directory by toilless.yaml `retention`, on start and every hour. */
  readonly retention: LocalRetention;
  /** Recomputes every DORA target now (the hourly schedule does it too). */
  recomputeDora(): Promise<void>;
  /** Stops the schedule, waits for pending deliveries (see InProcessEventBus.close), closes the queue. */
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
  // Accepted events wait on disk until every subscriber is done with them: nothing is lost to a crash.
  const queue = await FileEventQueue.open(join(config.dataDir, 'queue'), {
    logger: logger.child({ component: 'queue' }),
  });
  const bus = new InProcessEventBus({
    store,
    logger: logger.child({ component: 'bus' }),
    clock,
    queue,
    observer: metrics.deliveries,
  });
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

  // The processors: the same cores the Lambda handlers run, subscribed to the in-process bus. Each gets
  // the full event of a claim-checked one (an event too large for the bus, stored by the intake).
  const resolved =
    (handler: EventHandler): EventHandler =>
    async (event) =>
      handler(await resolveClaimCheck(store, event));
  const timelineLogger = logger.child({ component: 'incident-timeline' });
  bus.subscribe({
    name: 'incident-timeline',
    types: ['AlertNotification'],
    handler: resolved(
      createIncidentTimelineWorker({
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
          onSourceUnavailable: metrics.countSourceUnavailable,
        }),
      }),
    ),
  });
  bus.subscribe({
    name: 'incident-deploy-index',
    types: ['DeploymentRecorded'],
    handler: resolved(async (event) => {
      if (event.type === 'DeploymentRecorded') await recordDeployment(store, event);
    }),
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
    handler: resolved((event) => dora.handle(event)),
  });
  const recomputeDora = () => dora.recomputeAll();
  const schedule = setInterval(() => {
    recomputeDora().catch((error: unknown) =>
      doraLogger.error({ err: error }, 'hourly DORA recompute failed'),
    );
  }, DORA_RECOMPUTE_INTERVAL_MS);
  schedule.unref();
  // Only now that every subscription is made: a replayed event's follow-ups must reach all of them.
  bus.replay();
  const retention = new LocalRetention({
    store,
    config: toilless,
    clock,
    logger: logger.child({ component: 'retention' }),
  });
  retention.start();

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
    retention,
    recomputeDora,
    close: async () => {
      clearInterval(schedule);
      await retention.stop();
      await bus.close();
      await queue.close();
    },
  };
}
