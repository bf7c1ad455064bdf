/**
 * The local runtime's wiring: the same worker code as on Lambda, with the embedded adapters —
 * a data directory for the store, an in-process bus, Slack or the outbox. Nothing here decides;
 * it only connects ports to adapters.
 */

import { join } from 'node:path';
import { WEBHOOK_COMPOSITIONS } from '../compositions.js';
import { PROCESSOR_MANIFESTS, WEBHOOK_MANIFESTS } from '../manifests.js';
import { FileEventQueue } from '../shared/adapters/local/file-event-queue.js';
import { FsObjectStore } from '../shared/adapters/local/fs-object-store.js';
import { InProcessEventBus } from '../shared/adapters/local/in-process-bus.js';
import { loadRuntimeConfig, type RuntimeConfig } from '../shared/config.js';
import type { WebhookHandler } from '../shared/http/webhook.js';
import type { Logger } from '../shared/log.js';
import { type Clock, systemClock } from '../shared/ports/clock.js';
import type { SecretSource } from '../shared/ports/secrets.js';
import { loadToillessConfig, stackConfigDir, type ToillessConfig } from '../shared/stack-config.js';
import type { WorkerConfig } from '../shared/workers/composition.js';
import { webhookPath } from '../shared/workers/manifest.js';
import { composeLocalProcessors, createLocalNotifier, type LocalProcessors } from './local-processors.js';
import { LocalSecretSource } from './local-secrets.js';
import { startProcessorProcess } from './processor-process.js';
import { LocalRetention } from './retention.js';
import { WorkerMetrics } from './worker-metrics.js';

export { rateIntervalMs } from './local-processors.js';

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
  /**
   * Where the processors run: 'process' gives them a process of their own (what `toilless serve` does),
   * so webhook answers never wait behind them (see processor-process.ts); 'in-process' runs them in the
   * caller's process, where an injected `clock` or `secrets` reaches them. @default 'in-process'
   */
  readonly processors?: 'process' | 'in-process';
  /** The processors' V8 heap limit in MiB, with processors: 'process'. @default 512 */
  readonly processorHeapLimitMb?: number;
}

export interface LocalRuntime {
  readonly config: RuntimeConfig;
  readonly toilless: ToillessConfig;
  readonly store: FsObjectStore;
  readonly bus: InProcessEventBus;
  /** Where the processors' messages go: Slack (SLACK_BOT_TOKEN set) or the outbox in the data directory. */
  readonly notifications: 'slack' | 'outbox';
  readonly secrets: SecretSource;
  readonly metrics: WorkerMetrics;
  /** Webhook routes by path. */
  readonly webhooks: Readonly<Record<string, WebhookHandler>>;
  /** Files of generated credentials written on this start (empty when they already existed). */
  readonly generatedSecretFiles: readonly string[];
  /** Prunes the data directory by toilless.yaml `retention`, on start and every hour. */
  readonly retention: LocalRetention;
  /** The processors' process id with processors: 'process' (undefined while none runs), else undefined. */
  processorsPid(): number | undefined;
  /** Runs a processor's schedule now, by its name in the manifest (e.g. "DoraRecompute"), as its timer does. */
  runSchedule(name: string): Promise<void>;
  /** Stops the schedules, waits for pending deliveries (see InProcessEventBus.close), closes the queue. */
  close(): Promise<void>;
}

export async function createLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const env = options.env ?? process.env;
  if (options.processors === 'process' && (options.secrets !== undefined || options.clock !== undefined)) {
    throw new TypeError(
      "an injected clock or secret source cannot reach the processors' process: use processors: 'in-process'",
    );
  }
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
  const notifications = (await secrets.get('SLACK_BOT_TOKEN')) ? 'slack' : 'outbox';

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
  // its manifest consumes; in a process of their own, or in this one.
  const workerConfig: WorkerConfig = {
    runtime: config,
    toilless,
    stackConfigDir: configDir,
    platform: 'local',
  };
  let processors: LocalProcessors;
  try {
    processors =
      options.processors === 'process'
        ? await startProcessorProcess({
            dataDir: config.dataDir,
            env: definedValues({ ...env, TOILLESS_DATA_DIR: config.dataDir }),
            stackConfigDir: configDir,
            logLevel: logger.level,
            logger: logger.child({ component: 'processors' }),
            // Follow-ups of a delivery under way are accepted even while the bus is closing.
            publish: (events) => bus.asDelivery(() => countedBus.publish(events)),
            signals: metrics.signals,
            onMemory: (memory) => metrics.processorsMemory(memory),
            ...(options.processorHeapLimitMb !== undefined
              ? { heapLimitMb: options.processorHeapLimitMb }
              : {}),
          })
        : await composeLocalProcessors(
            {
              ...intakePorts,
              notifier: await createLocalNotifier(secrets, config, toilless, store, logger),
              logger,
              signals: metrics.signals,
            },
            workerConfig,
          );
  } catch (error) {
    await queue.close();
    throw error;
  }
  for (const manifest of PROCESSOR_MANIFESTS) {
    bus.subscribe({
      name: manifest.name,
      types: manifest.consumes,
      handler: (event) => processors.deliver(manifest.name, event),
    });
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
    notifications,
    secrets,
    metrics,
    webhooks,
    generatedSecretFiles,
    retention,
    processorsPid: () => processors.pid(),
    runSchedule: (name) => processors.runSchedule(name),
    close: async () => {
      processors.stopSchedules();
      await retention.stop();
      await bus.close();
      await processors.close();
      await queue.close();
    },
  };
}

/** The environment without its unset names, as the processors' process is given it. */
function definedValues(env: NodeJS.ProcessEnv): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined) values[name] = value;
  return values;
}
