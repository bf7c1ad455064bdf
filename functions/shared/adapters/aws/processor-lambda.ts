/**
 * A processor on Lambda: its EventBridge rule's events and its schedules' payloads, handed to the worker
 * its compose.ts builds once per execution environment. The Slack client is loaded with the first
 * message, the AWS clients with their first call.
 */

import type { EventBridgeEvent } from 'aws-lambda';
import { serviceAuthorizations } from '../../clients/service-auth.js';
import { loadRuntimeConfig, type RuntimeConfig } from '../../config.js';
import { ConfigurationError } from '../../errors.js';
import { resolveClaimCheck } from '../../events/claim-check.js';
import { lazily } from '../../lazily.js';
import type { Logger } from '../../log.js';
import type { Notifier } from '../../ports/notifier.js';
import { loadToillessConfig, stackConfigDir } from '../../stack-config.js';
import { countingFailures, logWorkerSignal } from '../../worker-signals.js';
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
import type { LambdaMetrics } from './lambda-metrics.js';
import { awsIntakePorts, lambdaWorkerLogger } from './lambda-worker.js';
import { configuredRemoteWriteUrl } from './remote-write-target.js';

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
  // One logger for the ports, the failures and the metrics push, so its configuration lives in one place.
  const logger = options.logger ?? lambdaWorkerLogger(manifest);
  const metrics = metricsPush(manifest, logger);
  const composed = lazily(async () => {
    const intakePorts = awsIntakePorts(manifest, process.env, logger);
    const config = awsWorkerConfig(intakePorts.runtime);
    // The metrics module loads while the credentials are read.
    const loadingMetrics = metrics();
    const authorizations = await serviceAuthorizations(intakePorts.secrets);
    const pushed = await loadingMetrics;
    pushed.authorize(authorizations.prometheus);
    const ports: WorkerPorts = {
      ...intakePorts,
      bus: pushed.metrics.countPublished(intakePorts.bus),
      notifier: awsNotifier(manifest, intakePorts, config),
      signals: {
        // Logged as before, and counted for Prometheus.
        sourceUnavailable: (source) => {
          logWorkerSignal(intakePorts.logger, {
            metric: 'toilless_evidence_sources_unavailable_total',
            source,
          });
          pushed.metrics.signals.sourceUnavailable(source);
        },
      },
    };
    return { ports, worker: await create(ports, config) };
  });
  // A throw is logged and counted as a worker failure of the subscriber the local runtime names the
  // same way, then rethrown, so that Lambda's retries and the DLQ take the event as before. The counts
  // go to Prometheus before the invocation ends, whatever its outcome.
  return async (invocation) => {
    try {
      await countingFailures(logger, manifest.name, async () => {
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
    } catch (error) {
      // Counted even when the composition failed before the metrics were needed.
      (await metrics()).failed();
      throw error;
    } finally {
      await (await metrics()).push();
    }
  };
}

/** What an invocation asks of the metrics push: LambdaMetrics, or nothing when no receiver is configured. */
type MetricsPush = Pick<LambdaMetrics, 'authorize' | 'failed' | 'push'> & {
  readonly metrics: Pick<LambdaMetrics['metrics'], 'countPublished' | 'signals'>;
};

/** Counts nothing and pushes nothing: what is never pushed need not be counted. */
const NO_METRICS_PUSH: MetricsPush = {
  authorize: () => {},
  failed: () => {},
  push: async () => {},
  metrics: { countPublished: (bus) => bus, signals: { sourceUnavailable: () => {} } },
};

/**
 * The execution environment's metrics push, built with its first invocation: prom-client and the
 * remote-write encoder are not part of the handler's import, and are never loaded when no receiver is
 * configured. It never fails an invocation: a module that cannot be loaded leaves the metrics unpushed.
 */
function metricsPush(manifest: ProcessorManifest, logger: Logger): () => Promise<MetricsPush> {
  return lazily(async () => {
    const remoteWriteUrl = pushTarget(process.env);
    if (remoteWriteUrl === undefined) return NO_METRICS_PUSH;
    try {
      const { LambdaMetrics } = await import('./lambda-metrics.js');
      return new LambdaMetrics({ worker: manifest.name, logger, remoteWriteUrl });
    } catch (error) {
      logger.warn({ err: error }, 'toilless metrics are not pushed: the metrics push could not be set up');
      return NO_METRICS_PUSH;
    }
  });
}

/** Where the metrics go: the configured remote-write receiver, or nowhere (never the local default). */
function pushTarget(env: NodeJS.ProcessEnv): string | undefined {
  try {
    return configuredRemoteWriteUrl(env, loadRuntimeConfig(env).prometheusRemoteWriteUrl);
  } catch {
    // An invalid environment fails the composition with its own message; metrics stay unpushed.
    return undefined;
  }
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
