/**
 * The processors of the local runtime (incident-timeline, dora-metrics, weekly-report): the same
 * compositions the Lambda handlers run, with their schedules armed as EventBridge Scheduler would run
 * them. The local runtime hosts this set either in a process of its own (processor-process.ts, what
 * `toilless serve` does) or in its own process (tests that inject a clock or secrets).
 */
import { PROCESSOR_COMPOSITIONS } from '../compositions.js';
import { PROCESSOR_MANIFESTS, type ProcessorName } from '../manifests.js';
import { createNotifier } from '../shared/adapters/slack/create-notifier.js';
import type { RuntimeConfig } from '../shared/config.js';
import { ConfigurationError } from '../shared/errors.js';
import { resolveClaimCheck } from '../shared/events/claim-check.js';
import type { ToillessEvent } from '../shared/events/types.js';
import type { Logger } from '../shared/log.js';
import type { Clock } from '../shared/ports/clock.js';
import type { EventBus } from '../shared/ports/event-bus.js';
import type { Notifier } from '../shared/ports/notifier.js';
import type { ObjectStore } from '../shared/ports/object-store.js';
import type { SecretSource } from '../shared/ports/secrets.js';
import type { ToillessConfig } from '../shared/stack-config.js';
import type { WorkerConfig, WorkerSignals } from '../shared/workers/composition.js';
import type { WorkerSchedule } from '../shared/workers/manifest.js';
import { scheduleTiming } from '../shared/workers/schedule-timing.js';
import { type CronTimer, startCronTimer } from './cron-timer.js';

/** What the local runtime asks of its processors, wherever they run. */
export interface LocalProcessors {
  /** Runs one delivery of `event` by the processor named `processor`; rejects when its handler throws. */
  deliver(processor: ProcessorName, event: ToillessEvent): Promise<void>;
  /** Runs a schedule now, by its name in the manifest (e.g. "DoraRecompute"), as its timer does. */
  runSchedule(name: string): Promise<void>;
  /** The processors' own process id; undefined when they run in the caller's process. */
  pid(): number | undefined;
  /** Disarms the schedules: no new run starts. Deliveries still run until close(). */
  stopSchedules(): void;
  /** Releases what hosts the processors, once the bus delivers nothing more. */
  close(): Promise<void>;
}

export interface LocalProcessorPorts {
  readonly store: ObjectStore;
  readonly bus: EventBus;
  readonly secrets: SecretSource;
  readonly clock: Clock;
  readonly notifier: Notifier;
  readonly logger: Logger;
  readonly signals: WorkerSignals;
}

/** Composes every processor of functions/manifests.ts and arms its schedules. */
export async function composeLocalProcessors(
  ports: LocalProcessorPorts,
  config: WorkerConfig,
): Promise<LocalProcessors> {
  const handlers = new Map<ProcessorName, (event: ToillessEvent) => Promise<void>>();
  const scheduled = new Map<string, () => Promise<void>>();
  const timers: NodeJS.Timeout[] = [];
  const cronTimers: CronTimer[] = [];
  const disarm = () => {
    for (const timer of timers) clearInterval(timer);
    for (const cron of cronTimers) cron.stop();
  };
  try {
    for (const manifest of PROCESSOR_MANIFESTS) {
      const workerLogger = ports.logger.child({ component: manifest.name });
      const worker = await PROCESSOR_COMPOSITIONS[manifest.name]({ ...ports, logger: workerLogger }, config);
      // Each gets the full event of a claim-checked one (an event too large for the bus, stored by the intake).
      handlers.set(manifest.name, async (event) =>
        worker.handle(await resolveClaimCheck(ports.store, event)),
      );
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
        const timing = scheduleTiming(schedule, config.toilless);
        if ('cron' in timing) {
          // The same cron and time zone EventBridge Scheduler gets on AWS (e.g. the weekly report).
          const cron = startCronTimer(timing.cron, timing.timeZone, ports.clock, runLogged);
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
  } catch (error) {
    disarm();
    throw error;
  }

  return {
    deliver: async (processor, event) => {
      const handle = handlers.get(processor);
      if (!handle) throw new TypeError(`no processor named ${processor}`);
      await handle(event);
    },
    runSchedule: async (name) => {
      const run = scheduled.get(name);
      if (!run) {
        throw new ConfigurationError(
          `no processor manifest has a schedule named ${name}: known are ${[...scheduled.keys()].join(', ')}`,
        );
      }
      await run();
    },
    pid: () => undefined,
    stopSchedules: disarm,
    close: async () => disarm(),
  };
}

/** A rate schedule's period in milliseconds; undefined for a cron schedule. */
export function rateIntervalMs(schedule: WorkerSchedule): number | undefined {
  if (!('rate' in schedule.every)) return undefined;
  const { hours = 0, minutes = 0 } = schedule.every.rate;
  return (hours * 60 + minutes) * 60_000;
}

/** Slack when SLACK_BOT_TOKEN is set, else the outbox in the data directory. */
export async function createLocalNotifier(
  secrets: SecretSource,
  config: RuntimeConfig,
  toilless: ToillessConfig,
  store: ObjectStore,
  logger: Logger,
): Promise<Notifier> {
  const token = await secrets.get('SLACK_BOT_TOKEN');
  return createNotifier({
    ...(token ? { token } : {}),
    channel: config.slackChannel ?? toilless.slack.channel,
    apiUrl: config.slackApiUrl,
    store,
    logger: logger.child({ component: 'notifier' }),
  });
}
