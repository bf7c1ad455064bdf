/**
 * What a worker's compose.ts is given and gives back. The Lambda handler, the local runtime and the CLI
 * build the ports their way (S3 and EventBridge, or a data directory and the in-process bus) and hand
 * them, with the parsed configuration, to the same `create`; the worker is assembled in that one place.
 */
import type { RuntimeConfig } from '../config.js';
import type { WebhookHandler } from '../http/webhook.js';
import type { Logger } from '../log.js';
import type { Clock } from '../ports/clock.js';
import type { EventBus, EventHandler } from '../ports/event-bus.js';
import type { Notifier } from '../ports/notifier.js';
import type { ObjectStore } from '../ports/object-store.js';
import type { SecretSource } from '../ports/secrets.js';
import type { ToillessConfig } from '../stack-config.js';

/** What every worker gets: the store, the bus, its secrets, the clock and a logger named after it. */
export interface IntakePorts {
  readonly store: ObjectStore;
  readonly bus: EventBus;
  readonly secrets: SecretSource;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** Facts a worker reports for the toilless_* metrics (functions/local/worker-metrics.ts). */
export interface WorkerSignals {
  /** An evidence source (prometheus, loki, tempo, deployments) could not be used for an incident. */
  readonly sourceUnavailable: (source: string) => void;
}

/** A processor also gets the notifier (Slack, or the store's outbox). */
export interface WorkerPorts extends IntakePorts {
  readonly notifier: Notifier;
  /** Where counted facts go. @default - a structured log line each (logWorkerSignal), as on Lambda */
  readonly signals?: WorkerSignals;
}

/** The parsed configuration a processor runs with. */
export interface WorkerConfig {
  /** The environment: LGTM endpoints, Slack and GitHub API addresses, the data directory. */
  readonly runtime: RuntimeConfig;
  /** stack-config/toilless.yaml. */
  readonly toilless: ToillessConfig;
  /** The directory toilless.yaml was read from; every other stack-config file is read from it too. */
  readonly stackConfigDir: string;
  /**
   * Where it runs: on AWS several function instances share the bounds of toilless.yaml, locally one
   * process holds them all and the LGTM services are often not running.
   */
  readonly platform: 'aws' | 'local';
}

/** A composed processor: what the bus delivers to, and what each of its manifest's schedules runs. */
export interface ProcessorWorker {
  /** Handles one event of a type its manifest consumes (claim-checks already resolved). */
  readonly handle: EventHandler;
  /** By schedule name (the manifest's `schedules[].name`). */
  readonly schedules: Readonly<Record<string, () => Promise<void>>>;
}

/** functions/<webhook>/compose.ts exports `create` of this type. */
export type ComposeWebhook = (ports: IntakePorts) => WebhookHandler;

/** functions/<processor>/compose.ts exports `create` of this type. */
export type ComposeProcessor = (ports: WorkerPorts, config: WorkerConfig) => Promise<ProcessorWorker>;
