/**
 * What the DORA worker stores: deployment records, the changes lead time is measured from, the incidents
 * it attributes, and the ledgers (compact per repository/environment aggregates) the metrics are computed
 * from. Store keys are in store/store-keys.ts; docs/dora.md describes both.
 */

export const DEPLOYMENT_SCHEMA_VERSION = 1;
export const CHANGE_SCHEMA_VERSION = 1;
export const INCIDENT_SCHEMA_VERSION = 1;
export const LEDGER_SCHEMA_VERSION = 1;
export const INCIDENT_LEDGER_SCHEMA_VERSION = 1;

/** Where a deployment was seen: a GitHub Deployment, or a deploy workflow run (id `run-<runId>`). */
export type DeploymentSource = 'deployment' | 'workflow_run';

export type DeploymentOutcome = 'success' | 'failure' | 'pending';

/** A finished outcome, the only kind a ledger holds and DeploymentRecorded announces. */
export type TerminalOutcome = Exclude<DeploymentOutcome, 'pending'>;

/** One status of a deployment: a GitHub deployment status, or one attempt of a workflow run. */
export interface DeploymentStatusEntry {
  /** GitHub's state (success, failure, error, inactive, pending, in_progress, queued), or a run attempt's success/failure. */
  readonly state: string;
  readonly at: string;
  /** GitHub's deployment status id (deployments). */
  readonly statusId?: number;
  /** The run attempt (workflow runs). */
  readonly runAttempt?: number;
  /** The delivery that carried it; the smallest one when several did. */
  readonly deliveryId: string;
}

/** One commit a deployment shipped, with the time its lead time is counted from. */
export interface DeployedCommit {
  readonly sha: string;
  /** Author time: survives rebases, unlike the committer time. */
  readonly authoredAt: string;
  /** The squash-merged pull request this commit stands for. */
  readonly pullRequest?: number;
  /** That pull request's first commit: lead time is counted from here instead of `authoredAt`. */
  readonly firstCommitAt?: string;
}

/** Lead-time facts of a successful deployment, computed against the previous successful one. */
export interface LeadTimeFacts {
  /** The commits between the previous successful deployment (excluded) and this one (included). */
  readonly commits: readonly DeployedCommit[];
  /** The sha of the previous successful deployment of the same repository and environment. */
  readonly previousSha?: string;
  /** No earlier successful deployment is known: its commits would absorb all history, so none count. */
  readonly firstDeployment: boolean;
  /** The commit source could not tell which commits shipped (e.g. a push was never delivered). */
  readonly unresolved?: boolean;
  /**
   * The range was longer than the commit source reads (the GitHub compare is bounded to a few pages):
   * `commits` holds its oldest commits, from the first one on, and this many newer ones are not counted.
   */
  readonly omittedCommits?: number;
}

/** What identifies a deployment and what it shipped: the same in every event about it and in its record. */
export interface DeploymentFacts {
  /** owner/name */
  readonly repository: string;
  readonly environment: string;
  readonly deploymentId: string;
  readonly source: DeploymentSource;
  readonly sha: string;
  readonly ref: string;
  readonly createdAt: string;
}

export interface DeploymentRecord extends DeploymentFacts {
  readonly schemaVersion: number;
  /** The environment matches dora.productionEnvironments. */
  readonly production: boolean;
  /** Deduplicated, ordered by time then status id or run attempt. */
  readonly statuses: readonly DeploymentStatusEntry[];
  readonly outcome: DeploymentOutcome;
  /** The time of the status that decided the outcome. */
  readonly finishedAt?: string;
  readonly leadTime?: LeadTimeFacts;
  /** Critical incidents counted against this deployment (a copy kept for readers; metrics recompute it). */
  readonly attributedIncidents: readonly string[];
  /** Outcomes already published as DeploymentRecorded. */
  readonly announced: readonly TerminalOutcome[];
}

export interface PushRecord {
  readonly schemaVersion: number;
  readonly repository: string;
  readonly ref: string;
  readonly before: string;
  readonly after: string;
  readonly commits: readonly { readonly id: string; readonly authoredAt: string }[];
}

export interface PullRequestRecord {
  readonly schemaVersion: number;
  readonly repository: string;
  readonly number: number;
  readonly mergedAt: string;
  readonly mergeCommitSha: string;
  readonly headSha: string;
  readonly baseRef: string;
  /** The earliest author time of the branch's commits, when known (stored pushes or the GitHub API). */
  readonly firstCommitAt?: string;
}

export interface DoraIncidentRecord {
  readonly schemaVersion: number;
  readonly incidentId: string;
  readonly title: string;
  /** Sorted, without duplicates. */
  readonly services: readonly string[];
  /** The worst severity any of its events carried. */
  readonly severity: string;
  readonly startedAt: string;
  readonly resolvedAt?: string;
}

/** How a ledger entry's lead times were decided. */
export type LeadTimeState = 'counted' | 'first-deployment' | 'unresolved' | 'pending';

/** The facts of one finished deployment that the metrics need: one row of a ledger. */
export interface LedgerEntry {
  readonly id: string;
  readonly sha: string;
  readonly outcome: TerminalOutcome;
  readonly finishedAt: string;
  readonly leadTime: LeadTimeState;
  /** The base the lead times were computed against (see LeadTimeFacts.previousSha). */
  readonly previousSha?: string;
  /** Per deployed commit: finished minus counted-from time, in whole seconds, never negative. */
  readonly leadTimeSeconds: readonly number[];
  readonly attributedIncidents: readonly string[];
}

/**
 * A ledger's rows stored as columns, one element (or letter) per finished deployment, in finish order.
 * Columns of short strings parse several times faster than an array of objects, and lead times as
 * space-separated text about ten times faster than JSON number arrays: a ledger of 100,000 deployments
 * is read on every recomputation.
 */
export interface LedgerColumns {
  readonly id: readonly string[];
  readonly sha: readonly string[];
  /** One letter per deployment: s success, f failure. */
  readonly outcome: string;
  readonly finishedAt: readonly string[];
  /** One letter per deployment: c counted, f first deployment, u unresolved, p pending. */
  readonly leadTime: string;
  /** '' when there is none. */
  readonly previousSha: readonly string[];
  /** Whole seconds per deployed commit, space-separated; '' when none count. */
  readonly leadTimeSeconds: readonly string[];
  /** Only the deployments with attributed incidents, by deployment id. */
  readonly attributedIncidents: Readonly<Record<string, readonly string[]>>;
}

/**
 * The finished deployments of one repository and environment, ordered by finish time then id: what
 * a recomputation reads instead of every deployment record.
 */
export interface DeploymentLedger {
  readonly schemaVersion: number;
  readonly repository: string;
  readonly environment: string;
  readonly production: boolean;
  readonly deployments: LedgerColumns;
}

/** A critical incident as attribution and time to restore need it. */
export interface IncidentFact {
  readonly id: string;
  readonly services: readonly string[];
  readonly startedAt: string;
  readonly resolvedAt?: string;
}

/**
 * The whole-file ledger of every critical incident that earlier versions kept at
 * `dora/incident-ledger.json`: read once to move it to the day markers, never written.
 */
export interface IncidentLedger {
  readonly schemaVersion: number;
  readonly incidents: readonly IncidentFact[];
}

/** A repository and one of its environments: the unit the metrics are computed for. */
export interface DeploymentTarget {
  readonly repository: string;
  readonly environment: string;
}
