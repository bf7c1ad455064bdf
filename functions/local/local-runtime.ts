/**
 * The local runtime's wiring: the same worker code as on Lambda, with the embedded adapters —
 * a data directory for the store, an in-process bus, Slack or the outbox. Nothing here decides;
 * it only connects ports to adapters.
 */

import { join } from 'node:path';
import { PROCESSOR_COMPOSITIONS, WEBHOOK_COMPOSITIONS } from '../compositions.js';
import { PROCESSOR_MANIFESTS, WEBHOOK_MANIFESTS } from '../manifests.js';
import { FileEventQueue } from '../shared/adapters/local/file-event-queue.js';
import { FsObjectStore } from '../shared/adapters/local/fs-object-store.js';
import { InProcessEventBus } from '../shared/adapters/local/in-process-bus.js';
import { createNotifier } from '../shared/adapters/slack/create-notifier.js';
import { loadRuntimeConfig, type RuntimeConfig } from '../shared/config.js';
import { ConfigurationError } from '../shared/errors.js';
import { resolveClaimCheck } from '../shared/events/claim-check.js';
import type { WebhookHandler } from '../shared/http/webhook.js';
import type { Logger } from '../shared/log.js';
import { type Clock, systemClock } from '../shared/ports/clock.js';
import type { Notifier } from '../shared/ports/notifier.js';
import type { SecretSource } from '../shared/ports/secrets.js';
import { loadToillessConfig, stackConfigDir, type ToillessConfig } from '../shared/stack-config.js';
import type { WorkerConfig } from '../shared/workers/composition.js';
import { type WorkerSchedule, webhookPath } from '../shared/workers/manifest.js';
import { scheduleTiming } from '../shared/workers/schedule-timing.js';
import { type CronTimer, startCronTimer } from './cron-timer.js';
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
  /** Runs a processor's schedule now, by its name in the manifest (e.g. "DoraRecompute"), as its timer does. */
  runSchedule(name: string): Promise<void>;
  /** Stops the schedules, waits for pending deliveries (see InProcessEventBus.close), closes the queue. */
  close(): Promise<void>;
}

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

  const intakePorts = { bus: countedBus, store, secrets, clock };
  const webhooks: Record<string, WebhookHandler> = {};
  for (const manifest of WEBHOOK_MANIFESTS) {
    const create = WEBHOOK_COMPOSITIONS[manifest.name];
    webhooks[webhookPath(manifest)] = create({
      ...intakePorts,
      logger: logger.child({ component: manifest.name }),
    });
  }

  // The processors: the same compositions the Lambda handlers run, each subscribed to the event types
  // its manifest consumes. Each gets the full event of a claim-checked one (an event too large for the
  // bus, stored by the intake).
  const workerConfig: WorkerConfig = {
    runtime: config,
    toilless,
    stackConfigDir: configDir,
    platform: 'local',
  };
  const scheduled = new Map<string, () => Promise<void>>();
  const timers: NodeJS.Timeout[] = [];
  const cronTimers: CronTimer[] = [];
  for (const manifest of PROCESSOR_MANIFESTS) {
    const workerLogger = logger.child({ component: manifest.name });
    const worker = await PROCESSOR_COMPOSITIONS[manifest.name](
      { ...intakePorts, notifier, logger: workerLogger, signals: metrics.signals },
      workerConfig,
    );
    bus.subscribe({
      name: manifest.name,
      types: manifest.consumes,
      handler: async (event) => worker.handle(await resolveClaimCheck(store, event)),
    });
    for (const schedule of manifest.schedules) {
      const run = worker.schedules[schedule.name];
      if (!run) {
        throw new ConfigurationError(
          `${manifest.name} has schedule ${schedule.name} in its manifest but its compose.ts gives no run for it`,
        );
      }
      scheduled.set(schedule.name, run);
      const runLogged = () => {
        run().catch((error: unknown) =>
          workerLogger.error({ err: error, schedule: schedule.name }, 'scheduled run failed'),
        );
      };
      const timing = scheduleTiming(schedule, toilless);
      if ('cron' in timing) {
        // The same cron and time zone EventBridge Scheduler gets on AWS (e.g. the weekly report).
        const cron = startCronTimer(timing.cron, timing.timeZone, clock, runLogged);
        cronTimers.push(cron);
        workerLogger.info(
          {
            schedule: schedule.name,
            cron: timing.cron.expression,
            timeZone: timing.timeZone,
            next: cron.nextRun(),
          },
          'cron schedule armed',
        );
        continue;
      }
      // As EventBridge Scheduler does on AWS (e.g. the DORA windows roll forward by the hour).
      const timer = setInterval(runLogged, rateIntervalMs(schedule));
      timer.unref();
      timers.push(timer);
    }
  }
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
    webhooks,
    generatedSecretFiles,
    retention,
    runSchedule: async (name) => {
      const run = scheduled.get(name);
      if (!run) {
        throw new ConfigurationError(
          `no processor manifest has a schedule named ${name}: known are ${[...scheduled.keys()].join(', ')}`,
        );
      }
      await run();
    },
    close: async () => {
      for (const timer of timers) clearInterval(timer);
      for (const cron of cronTimers) cron.stop();
      await retention.stop();
      await bus.close();
      await queue.close();
    },
  };
}

/** A rate schedule's period in milliseconds; undefined for a cron schedule. */
export function rateIntervalMs(schedule: WorkerSchedule): number | undefined {
  if (!('rate' in schedule.every)) return undefined;
  const { hours = 0, minutes = 0 } = schedule.every.rate;
  return (hours * 60 + minutes) * 60_000;
}
