/**
 * The dora-metrics worker from its ports and configuration: the one place it is assembled, for the
 * Lambda handler, the local runtime and `toilless dora`.
 */
import type { RateLimitWait } from '../shared/clients/github.js';
import { serviceAuthorizations } from '../shared/clients/service-auth.js';
import { RemoteWriteClient } from '../shared/prometheus/remote-write.js';
import type {
  ComposeProcessor,
  ProcessorWorker,
  WorkerConfig,
  WorkerPorts,
} from '../shared/workers/composition.js';
import { type DoraIntegrations, doraIntegrations } from './integrations.js';
import type { doraMetricsManifest } from './manifest.js';
import { createDoraMetricsWorker, type DoraMetricsWorker } from './worker.js';

/** The schedules of the manifest, by name: the compiler checks that each has its run. */
type DoraSchedule = (typeof doraMetricsManifest)['schedules'][number]['name'];

export interface DoraMetricsComposition extends ProcessorWorker {
  readonly worker: DoraMetricsWorker;
  /** GitHub and Grafana, switched on by their secrets (backfill needs the GitHub client). */
  readonly integrations: DoraIntegrations;
  readonly schedules: Readonly<Record<DoraSchedule, () => Promise<void>>>;
}

export interface DoraComposeOptions {
  /** Told when a GitHub rate limit makes a request wait (the CLI shows it). */
  readonly onRateLimit?: (wait: RateLimitWait) => void;
}

export async function create(
  ports: Pick<WorkerPorts, 'store' | 'bus' | 'clock' | 'secrets' | 'logger'>,
  config: WorkerConfig,
  options: DoraComposeOptions = {},
): Promise<DoraMetricsComposition> {
  const integrations = await doraIntegrations({
    runtime: config.runtime,
    secrets: ports.secrets,
    store: ports.store,
    logger: ports.logger,
    onRateLimit: options.onRateLimit,
  });
  const { prometheus: prometheusAuthorization } = await serviceAuthorizations(ports.secrets);
  const worker = createDoraMetricsWorker({
    store: ports.store,
    bus: ports.bus,
    clock: ports.clock,
    logger: ports.logger,
    config: config.toilless,
    // Locally Prometheus is often not running: give up fast, the store keeps everything for the next write.
    writer: new RemoteWriteClient({
      url: config.runtime.prometheusRemoteWriteUrl,
      authorization: prometheusAuthorization,
      ...(config.platform === 'local' ? { deadlineMs: 5_000, maxAttempts: 3 } : {}),
    }),
    commits: integrations.commits,
    annotate: integrations.annotate,
    pullRequestFirstCommit: integrations.pullRequestFirstCommit,
  });
  return {
    worker,
    integrations,
    handle: (event) => worker.handle(event),
    // The hourly run also rolls the DORA windows forward.
    schedules: { DoraRecompute: () => worker.recomputeAll() },
  };
}

// The local runtime and the Lambda adapter call it as any processor's create.
create satisfies ComposeProcessor;
