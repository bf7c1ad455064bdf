/**
 * The dora-metrics worker on Lambda: an EventBridge rule delivers GitHub* and Incident* events, and an
 * EventBridge Scheduler schedule invokes it hourly with no detail-type to recompute everything.
 */
import type { EventBridgeEvent } from 'aws-lambda';
import { EnvironmentSecretSource } from '../shared/adapters/aws/environment-secret-source.js';
import { EventBridgeBus, fromEventBridgeEvent } from '../shared/adapters/aws/eventbridge-bus.js';
import { S3ObjectStore } from '../shared/adapters/aws/s3-object-store.js';
import { loadRuntimeConfig } from '../shared/config.js';
import { ConfigurationError } from '../shared/errors.js';
import { resolveClaimCheck } from '../shared/events/claim-check.js';
import { createLogger } from '../shared/log.js';
import { systemClock } from '../shared/ports/clock.js';
import { RemoteWriteClient } from '../shared/prometheus/remote-write.js';
import { loadToillessConfig } from '../shared/stack-config.js';
import { countingFailures } from '../shared/worker-signals.js';
import { doraIntegrations } from './integrations.js';
import { createDoraMetricsWorker, type DoraMetricsWorker } from './worker.js';

/** What the Lambda receives: a toilless event from the bus, or the scheduler's payload (no detail-type). */
export type DoraMetricsInvocation = EventBridgeEvent<string, unknown> | Record<string, unknown>;

// Built on the first invocation and kept for the life of the execution environment.
let worker: Promise<DoraMetricsWorker> | undefined;

export const handler = (invocation: DoraMetricsInvocation): Promise<void> =>
  countingFailures(logger, 'dora-metrics', () => handle(invocation));

const logger = createLogger({ name: 'dora-metrics' });

async function handle(invocation: DoraMetricsInvocation): Promise<void> {
  worker ??= createWorker().catch((error: unknown) => {
    worker = undefined; // a failed cold start is retried on the next invocation
    throw error;
  });
  const ready = await worker;
  if (isScheduledRecompute(invocation)) {
    await ready.recomputeAll();
    return;
  }
  // An event too large for the bus arrives as a reference to the payload the intake stored.
  const event = fromEventBridgeEvent(invocation as EventBridgeEvent<string, unknown>);
  claimCheckStore ??= new S3ObjectStore({ bucket: bucketOf() });
  await ready.handle(await resolveClaimCheck(claimCheckStore, event));
}

/** The hourly schedule: EventBridge Scheduler sends its configured input (no detail-type), a rule "Scheduled Event". */
export function isScheduledRecompute(invocation: DoraMetricsInvocation): boolean {
  const detailType = (invocation as { 'detail-type'?: unknown })['detail-type'];
  return detailType === undefined || detailType === 'Scheduled Event';
}

let claimCheckStore: S3ObjectStore | undefined;

function bucketOf(env: NodeJS.ProcessEnv = process.env): string {
  const { bucket } = loadRuntimeConfig(env);
  if (!bucket)
    throw new ConfigurationError('TOILLESS_BUCKET is not set: the DORA worker needs the store bucket name');
  return bucket;
}

async function createWorker(env: NodeJS.ProcessEnv = process.env): Promise<DoraMetricsWorker> {
  const runtime = loadRuntimeConfig(env);
  if (!runtime.bucket) {
    throw new ConfigurationError('TOILLESS_BUCKET is not set: the DORA worker needs the store bucket name');
  }
  if (!runtime.eventBusName) {
    throw new ConfigurationError('TOILLESS_EVENT_BUS is not set: the DORA worker needs the event bus name');
  }
  const store = new S3ObjectStore({ bucket: runtime.bucket });
  const { commits, annotate, pullRequestFirstCommit } = await doraIntegrations({
    runtime,
    secrets: new EnvironmentSecretSource(env),
    store,
    logger,
  });
  return createDoraMetricsWorker({
    store,
    bus: new EventBridgeBus({ eventBusName: runtime.eventBusName }),
    clock: systemClock,
    logger,
    config: loadToillessConfig(),
    writer: new RemoteWriteClient({ url: runtime.prometheusRemoteWriteUrl }),
    commits,
    ...(annotate ? { annotate } : {}),
    ...(pullRequestFirstCommit ? { pullRequestFirstCommit } : {}),
  });
}
