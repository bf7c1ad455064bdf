/**
 * The incident-timeline worker on Lambda. EventBridge rules deliver AlertNotification events (incidents)
 * and DeploymentRecorded events (the per-service deploy index the timeline's first suspect comes from).
 */
import type { EventBridgeEvent } from 'aws-lambda';
import { EnvironmentSecretSource } from '../shared/adapters/aws/environment-secret-source.js';
import { EventBridgeBus, fromEventBridgeEvent } from '../shared/adapters/aws/eventbridge-bus.js';
import { S3ObjectStore } from '../shared/adapters/aws/s3-object-store.js';
import { createNotifier } from '../shared/adapters/slack/create-notifier.js';
import { loadRuntimeConfig } from '../shared/config.js';
import { ConfigurationError } from '../shared/errors.js';
import { resolveClaimCheck } from '../shared/events/claim-check.js';
import type { ToillessEvent } from '../shared/events/types.js';
import { createLogger } from '../shared/log.js';
import { systemClock } from '../shared/ports/clock.js';
import { loadToillessConfig, stackConfigDir, timelineReservedConcurrency } from '../shared/stack-config.js';
import { countingFailures, logWorkerSignal } from '../shared/worker-signals.js';
import { recordDeployment } from './deploy-index.js';
import { createEvidenceGatherer } from './evidence.js';
import { createIncidentTimelineWorker } from './worker.js';

type Worker = (event: ToillessEvent) => Promise<void>;

// Built on the first event and kept for the life of the execution environment.
let worker: Promise<Worker> | undefined;

// A throw is logged with the subscriber's name the local runtime gives the same work, then rethrown.
export const handler = (event: EventBridgeEvent<string, unknown>): Promise<void> =>
  countingFailures(
    logger,
    event['detail-type'] === 'DeploymentRecorded' ? 'incident-deploy-index' : 'incident-timeline',
    () => handle(event),
  );

const logger = createLogger({ name: 'incident-timeline' });

async function handle(event: EventBridgeEvent<string, unknown>): Promise<void> {
  store ??= createStore();
  // A notification too large for the bus arrives as a reference to the payload the intake stored.
  const toilless = await resolveClaimCheck(store, fromEventBridgeEvent(event));
  if (toilless.type === 'DeploymentRecorded') {
    await recordDeployment(store, toilless);
    return;
  }
  worker ??= createWorker().catch((error: unknown) => {
    worker = undefined; // a failed cold start (e.g. Secrets Manager throttled) is retried on the next event
    throw error;
  });
  await (await worker)(toilless);
}

let store: S3ObjectStore | undefined;

function createStore(env: NodeJS.ProcessEnv = process.env): S3ObjectStore {
  const { bucket } = loadRuntimeConfig(env);
  if (!bucket)
    throw new ConfigurationError(
      'TOILLESS_BUCKET is not set: the incident timeline needs the store bucket name',
    );
  return new S3ObjectStore({ bucket });
}

async function createWorker(env: NodeJS.ProcessEnv = process.env): Promise<Worker> {
  const runtime = loadRuntimeConfig(env);
  if (!runtime.bucket) {
    throw new ConfigurationError(
      'TOILLESS_BUCKET is not set: the incident timeline needs the store bucket name',
    );
  }
  if (!runtime.eventBusName) {
    throw new ConfigurationError(
      'TOILLESS_EVENT_BUS is not set: the incident timeline needs the event bus name',
    );
  }
  const configDir = stackConfigDir(env);
  const toilless = loadToillessConfig(configDir);
  const store = new S3ObjectStore({ bucket: runtime.bucket });
  const token = await new EnvironmentSecretSource(env).get('SLACK_BOT_TOKEN');
  const notifier = createNotifier({
    ...(token ? { token } : {}),
    channel: runtime.slackChannel ?? toilless.slack.channel,
    apiUrl: runtime.slackApiUrl,
    store,
    logger,
  });
  return createIncidentTimelineWorker({
    store,
    bus: new EventBridgeBus({ eventBusName: runtime.eventBusName }),
    notifier,
    clock: systemClock,
    logger,
    config: toilless,
    prometheusUrl: runtime.prometheusUrl,
    // The function's reserved concurrency comes from incidents.concurrency: each instance takes its share.
    gatherEvidence: createEvidenceGatherer({
      config: runtime,
      toilless,
      stackConfigDir: configDir,
      store,
      logger,
      runtimes: timelineReservedConcurrency(toilless),
      onSourceUnavailable: (source) =>
        logWorkerSignal(logger, { metric: 'toilless_evidence_sources_unavailable_total', source }),
    }),
  });
}
