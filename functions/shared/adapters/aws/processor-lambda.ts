/**
 * A processor on Lambda: its EventBridge rule's events and its schedules' payloads, handed to the worker
 * its compose.ts builds once per execution environment. The Slack client is loaded with the first
 * message, the AWS clients with their first call.
 */
import type { EventBridgeEvent } from 'aws-lambda';
import type { RuntimeConfig } from '../../config.js';
import { ConfigurationError } from '../../errors.js';
import { resolveClaimCheck } from '../../events/claim-check.js';
import { lazily } from '../../lazily.js';
import type { Logger } from '../../log.js';
import type { Notifier } from '../../ports/notifier.js';
import { loadToillessConfig, stackConfigDir } from '../../stack-config.js';
import { countingFailures } from '../../worker-signals.js';
import type {
  ComposeProcessor,
  IntakePorts,
  ProcessorWorker,
  WorkerConfig,
  WorkerPorts,
} from '../../workers/composition.js';
import { type ProcessorManifest, scheduledTask } from '../../workers/manifest.js';
import { DeferredNotifier } from '../deferred/deferred-ports.js';
import { fromEventBridgeEvent } from './eventbridge-event.js';
import { awsIntakePorts, lambdaWorkerLogger } from './lambda-worker.js';

/** What a processor's Lambda receives: a toilless event from its rule, or one of its schedules' payloads. */
export type ProcessorInvocation = EventBridgeEvent<string, unknown> | Record<string, unknown>;

export type ProcessorLambda = (invocation: ProcessorInvocation) => Promise<void>;

export interface ProcessorLambdaOptions {
  /** Where the processor logs: its ports' logger and its failures. @default lambdaWorkerLogger(manifest) */
  readonly logger?: Logger;
}

/**
 * The Lambda handler of a processor: events from its EventBridge rule (a claim-checked one resolved
 * first) go to `handle`, a payload of one of its manifest's schedules to that schedule's run.
 */
export function processorLambda(
  manifest: ProcessorManifest,
  create: ComposeProcessor,
  options: ProcessorLambdaOptions = {},
): ProcessorLambda {
  // One logger for the ports and for the failures, so that its configuration lives in one place.
  const logger = options.logger ?? lambdaWorkerLogger(manifest);
  const composed = lazily(async () => {
    const intakePorts = awsIntakePorts(manifest, process.env, logger);
    const config = awsWorkerConfig(intakePorts.runtime);
    const ports: WorkerPorts = { ...intakePorts, notifier: awsNotifier(manifest, intakePorts, config) };
    return { ports, worker: await create(ports, config) };
  });
  // A throw is logged as a worker failure of the subscriber the local runtime names the same way,
  // then rethrown, so that Lambda's retries and the DLQ take the event as before.
  return (invocation) =>
    countingFailures(logger, manifest.name, async () => {
      const schedule = scheduledTask(manifest, invocation);
      const { ports, worker } = await composed();
      if (schedule) {
        await runSchedule(manifest, worker, schedule.name);
        return;
      }
      // An event too large for the bus arrives as a reference to the payload the intake stored.
      const event = fromEventBridgeEvent(invocation as EventBridgeEvent<string, unknown>);
      await worker.handle(await resolveClaimCheck(ports.store, event));
    });
}

/** Slack (or the store's outbox) for a manifest that posts to Slack, created on its first message. */
function awsNotifier(
  manifest: ProcessorManifest,
  ports: IntakePorts & { readonly runtime: RuntimeConfig },
  config: WorkerConfig,
): Notifier {
  if (!manifest.postsToSlack) {
    return new DeferredNotifier(async () => {
      throw new ConfigurationError(
        `${manifest.name} posts no notifications: set postsToSlack in its manifest to give it Slack`,
      );
    });
  }
  return new DeferredNotifier(async () => {
    const { createNotifier } = await import('../slack/create-notifier.js');
    const token = await ports.secrets.get('SLACK_BOT_TOKEN');
    return createNotifier({
      ...(token ? { token } : {}),
      channel: ports.runtime.slackChannel ?? config.toilless.slack.channel,
      apiUrl: ports.runtime.slackApiUrl,
      store: ports.store,
      logger: ports.logger,
    });
  });
}

function awsWorkerConfig(runtime: RuntimeConfig, env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  // The bundle carries the manifest's stack-config files; TOILLESS_STACK_CONFIG points at them.
  const dir = stackConfigDir(env);
  return { runtime, toilless: loadToillessConfig(dir), stackConfigDir: dir, platform: 'aws' };
}

async function runSchedule(
  manifest: ProcessorManifest,
  worker: ProcessorWorker,
  name: string,
): Promise<void> {
  const run = worker.schedules[name];
  if (!run) {
    throw new ConfigurationError(
      `${manifest.name} has schedule ${name} in its manifest but its compose.ts gives no run for it`,
    );
  }
  await run();
}
