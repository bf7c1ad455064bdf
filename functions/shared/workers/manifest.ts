/**
 * What a worker is, as plain data: the events it takes and emits, the secrets and store prefixes it
 * uses, the stack-config files it reads, its schedules and its sizing. The CDK stack (rules, grants,
 * secrets, bundled files, schedules) and the local runtime (subscriptions, timers) are derived from
 * these manifests, so neither keeps a list of its own. Manifests import types only.
 */
import type { EventType } from '../events/types.js';
import type { SecretName } from '../ports/secrets.js';

/** The observability endpoints a worker can be given, by the runtime variable they become. */
export type EndpointName = 'prometheusUrl' | 'remoteWriteUrl' | 'lokiUrl' | 'tempoUrl' | 'grafanaUrl';

/** A store prefix: a top-level folder of the store, ending in a slash (e.g. "incidents/"). */
export type StorePrefix = `${string}/`;

export interface WorkerSchedule {
  /** Names the schedule in the stack and in logs, and is its payload's task, e.g. "DoraRecompute". */
  readonly name: string;
  /** What a run is, for the invoking role's description, e.g. "hourly recompute". */
  readonly title: string;
  /** What it does, shown in the console. */
  readonly description: string;
  /**
   * How often it runs: a fixed rate, a five-field cron in a time zone (functions/shared/cron.ts), or the
   * cron and time zone an operator sets in toilless.yaml (`fromConfig: 'report'`: `report.schedule`,
   * `report.timeZone`). See scheduleTiming: the stack and the local runtime both resolve it there.
   */
  readonly every:
    | { readonly rate: { readonly hours?: number; readonly minutes?: number } }
    | { readonly cron: string; readonly timeZone: string }
    | { readonly fromConfig: 'report' };
  /** What the schedule sends the worker: recognised by the worker as this schedule's run, never as an event. */
  readonly payload: { readonly source: 'toilless.schedule'; readonly task: string };
  /** How long a run that failed is retried before it goes to the dead letters: a later run supersedes it. */
  readonly retryWindowMinutes: number;
}

interface ManifestBase {
  /** The worker's folder under functions/, its Lambda and its logger name. */
  readonly name: string;
  /** Its name in the stack: construct ids and outputs, e.g. "IncidentTimeline". */
  readonly id: string;
  /** One line, shown in the Lambda console. */
  readonly description: string;
  /** The secrets it reads (on AWS: Secrets Manager, `<NAME>_ARN` in its environment). */
  readonly secrets: readonly SecretName[];
  /** Store prefixes it reads and writes; on AWS its role may touch nothing else. */
  readonly store: {
    readonly readWrite: readonly StorePrefix[];
    /** Read only (e.g. the claim-checked payloads a processor resolves). */
    readonly read?: readonly StorePrefix[];
    /** Created if absent and read back, never deleted (e.g. the claim-checked payloads an intake stores). */
    readonly write?: readonly StorePrefix[];
  };
  /** The toilless events it publishes. */
  readonly emits: readonly EventType[];
  /** The observability endpoints it talks to (on AWS: their variables, credentials and network access). */
  readonly endpoints: readonly EndpointName[];
  /** Memory and time for one invocation on Lambda. */
  readonly sizing: { readonly memoryMb: number; readonly timeoutSeconds: number };
}

/** A webhook intake: authenticates, validates, deduplicates and publishes; answers its sender fast. */
export interface WebhookManifest extends ManifestBase {
  readonly kind: 'webhook';
  /** The sender's name in the route: POST /webhooks/<source>. */
  readonly source: string;
  /** How the sender is pointed at the URL: the description of the stack's URL output. */
  readonly senderSetup: string;
}

/** A processor: takes toilless events from the bus (and schedules), does the work, stores the results. */
export interface ProcessorManifest extends ManifestBase {
  readonly kind: 'processor';
  /** The event types (EventBridge detail-types) delivered to it. */
  readonly consumes: readonly EventType[];
  readonly schedules: readonly WorkerSchedule[];
  /** stack-config files it reads at run time, bundled with it on Lambda. */
  readonly stackConfigFiles: readonly string[];
  /** It posts to Slack: it gets SLACK_CHANNEL (toilless.yaml `slack.channel`) and the Notifier port. */
  readonly postsToSlack: boolean;
  /** What its Lambda bundle needs beyond the one esbuild file. @default arm64, nothing else */
  readonly lambdaBundle?: LambdaBundle;
}

/** A Lambda bundle's extras, for a worker whose dependencies ship binaries or data files. */
export interface LambdaBundle {
  /** The instruction set its binaries are built for. */
  readonly architecture: 'x86_64' | 'arm64';
  /** Packages installed into the bundle's node_modules instead of bundled (they read their own files). */
  readonly nodeModules?: readonly string[];
  /** Files of the repository copied into the bundle: `from` the repository root, `to` a path in the bundle. */
  readonly files?: readonly { readonly from: string; readonly to: string }[];
}

export type WorkerManifest = WebhookManifest | ProcessorManifest;

/** The route a webhook manifest is served at, the same on API Gateway and the local server. */
export function webhookPath(manifest: WebhookManifest): `/webhooks/${string}` {
  return `/webhooks/${manifest.source}`;
}

/** True when `payload` is what one of the manifest's schedules sends (and not a bus event). */
export function scheduledTask(manifest: ProcessorManifest, payload: unknown): WorkerSchedule | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const { source, task } = payload as { source?: unknown; task?: unknown };
  if (source !== 'toilless.schedule') return undefined;
  return manifest.schedules.find((schedule) => schedule.payload.task === task);
}
