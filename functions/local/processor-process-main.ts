/**
 * Inside the processors' process (see processor-process.ts): composes the processors over their own
 * store, secrets and notifier on the server's data directory (the store's lock files keep the two
 * processes' writes to one key apart), runs the deliveries and schedules the server sends, and sends
 * back each outcome, each follow-up event to publish and each counted fact.
 */
import { FsObjectStore } from '../shared/adapters/local/fs-object-store.js';
import { loadRuntimeConfig } from '../shared/config.js';
import type { ToillessEvent } from '../shared/events/types.js';
import { createLogger, type Logger } from '../shared/log.js';
import { systemClock } from '../shared/ports/clock.js';
import type { EventBus } from '../shared/ports/event-bus.js';
import { loadToillessConfig } from '../shared/stack-config.js';
import { composeLocalProcessors, createLocalNotifier, type LocalProcessors } from './local-processors.js';
import { LocalSecretSource } from './local-secrets.js';
import {
  AwaitedReplies,
  answerWhenDone,
  type FromProcessors,
  type ProcessorProcessData,
  type ToProcessors,
  toCrossingError,
} from './processor-process.js';

/** How often the process reports its memory. */
const MEMORY_REPORT_MS = 5_000;

export async function runProcessors(niceError: unknown): Promise<void> {
  if (!process.send) throw new Error('the processors run only as a child process of `toilless serve`');
  const send = (message: FromProcessors) => {
    if (process.connected) process.send?.(message);
  };
  // The server ended (or was killed): nothing is left to deliver to, and what was under way stays in
  // its queue for the next start.
  process.on('disconnect', () => process.exit(0));
  // The server stops its processors with SIGTERM once the bus has nothing under way: end at once.
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => undefined); // a terminal's Ctrl-C reaches the whole group: the server decides

  const publishes = new AwaitedReplies();
  const bus: EventBus = {
    publish: (events: readonly ToillessEvent[]) =>
      publishes.request((id) => send({ type: 'publish', id, events })),
  };

  let processors: LocalProcessors | undefined;
  const waiting: ToProcessors[] = [];
  const finish = (id: number, work: Promise<void>) =>
    answerWhenDone(work, (error) => send({ type: 'done', id, error }));
  const handle = (message: ToProcessors, ready: LocalProcessors) => {
    switch (message.type) {
      case 'deliver':
        finish(message.id, ready.deliver(message.processor, message.event));
        return;
      case 'schedule':
        finish(message.id, ready.runSchedule(message.name));
        return;
      case 'published':
        publishes.settle(message.id, message.error);
        return;
      case 'stop-schedules':
        ready.stopSchedules();
        return;
      case 'start':
        return;
    }
  };

  const started = new Promise<ProcessorProcessData>((resolve) => {
    process.on('message', (message: ToProcessors) => {
      if (message.type === 'start') resolve(message.data);
      // 'published' answers arrive while composing (a processor may publish as it starts).
      else if (processors || message.type === 'published') handle(message, processors as LocalProcessors);
      else waiting.push(message);
    });
  });

  const data = await started;
  const logger: Logger = createLogger({ name: 'toilless', level: data.logLevel });
  if (niceError !== undefined) {
    logger.warn(
      { err: niceError },
      'the processors could not lower their CPU priority: they run at the default',
    );
  }
  try {
    const env = data.env;
    const config = loadRuntimeConfig({ ...env, TOILLESS_DATA_DIR: data.dataDir });
    const toilless = loadToillessConfig(data.stackConfigDir);
    const store = new FsObjectStore(config.dataDir);
    const secrets = new LocalSecretSource(config.dataDir, env);
    const notifier = await createLocalNotifier(secrets, config, toilless, store, logger);
    processors = await composeLocalProcessors(
      {
        store,
        bus,
        secrets,
        clock: systemClock,
        notifier,
        logger,
        signals: { sourceUnavailable: (source) => send({ type: 'signal', source }) },
      },
      { runtime: config, toilless, stackConfigDir: data.stackConfigDir, platform: 'local' },
    );
  } catch (error) {
    send({ type: 'startup-failed', error: toCrossingError(error) });
    return;
  }
  for (const message of waiting.splice(0)) handle(message, processors);
  const reportMemory = () => {
    const memory = process.memoryUsage();
    send({ type: 'memory', rss: memory.rss, heapUsed: memory.heapUsed, heapTotal: memory.heapTotal });
  };
  setInterval(reportMemory, MEMORY_REPORT_MS).unref();
  reportMemory();
  send({ type: 'ready' });
}
