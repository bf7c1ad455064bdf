/**
 * Deployment records from GitHub events, as pure functions: an event becomes a change, and a change is
 * merged into the stored record so that duplicates, redeliveries and any arrival order give the same record.
 */
import type {
  GitHubDeploymentDetail,
  GitHubDeploymentStatusDetail,
  GitHubWorkflowRunDetail,
} from '../../shared/events/types.js';
import type { ToillessConfig } from '../../shared/stack-config.js';
import {
  DEPLOYMENT_SCHEMA_VERSION,
  type DeploymentFacts,
  type DeploymentOutcome,
  type DeploymentRecord,
  type DeploymentStatusEntry,
} from '../model.js';
import { isProductionEnvironment, workflowRunEnvironment } from './mapping.js';

/** What one event says about one deployment. */
export interface DeploymentChange extends DeploymentFacts {
  readonly status?: DeploymentStatusEntry;
}

/** States that end a deployment; `inactive` is not one: it means a later deployment superseded it. */
const TERMINAL_STATES: Readonly<Record<string, 'success' | 'failure'>> = {
  success: 'success',
  failure: 'failure',
  error: 'failure',
};

/** Workflow run conclusions that say a deploy pipeline finished; cancelled or skipped runs say nothing. */
const RUN_CONCLUSIONS: Readonly<Record<string, 'success' | 'failure'>> = {
  success: 'success',
  failure: 'failure',
  timed_out: 'failure',
  startup_failure: 'failure',
};

/** A GitHub Deployment's facts, as both its deployment and its deployment_status events carry them. */
function gitHubDeploymentFacts(
  detail: GitHubDeploymentDetail | GitHubDeploymentStatusDetail,
  createdAt: string,
): DeploymentFacts {
  return {
    repository: detail.repository,
    environment: detail.environment,
    deploymentId: String(detail.deploymentId),
    source: 'deployment',
    sha: detail.sha,
    ref: detail.ref,
    createdAt,
  };
}

export function changeOfDeployment(detail: GitHubDeploymentDetail): DeploymentChange {
  return gitHubDeploymentFacts(detail, detail.createdAt);
}

export function changeOfDeploymentStatus(detail: GitHubDeploymentStatusDetail): DeploymentChange {
  return {
    ...gitHubDeploymentFacts(detail, detail.deploymentCreatedAt),
    status: {
      state: detail.state,
      at: detail.createdAt,
      statusId: detail.statusId,
      deliveryId: detail.deliveryId,
    },
  };
}

/**
 * A completed deploy workflow run as a deployment `run-<runId>`, each attempt one status; undefined when
 * the run is no deployment (name or branch not mapped) or ended without a verdict (cancelled, skipped...).
 */
export function changeOfWorkflowRun(
  config: ToillessConfig,
  detail: GitHubWorkflowRunDetail,
): DeploymentChange | undefined {
  const environment = workflowRunEnvironment(config, detail);
  const state = detail.conclusion === null ? undefined : RUN_CONCLUSIONS[detail.conclusion];
  if (environment === undefined || state === undefined) return undefined;
  return {
    repository: detail.repository,
    environment,
    deploymentId: `run-${detail.runId}`,
    source: 'workflow_run',
    sha: detail.headSha,
    ref: detail.headBranch ?? '',
    createdAt: detail.runStartedAt,
    status: { state, at: detail.updatedAt, runAttempt: detail.runAttempt, deliveryId: detail.deliveryId },
  };
}

/** Merges a change into the record (or starts one); the result does not depend on arrival order. */
export function applyDeploymentChange(
  config: ToillessConfig,
  current: DeploymentRecord | undefined,
  change: DeploymentChange,
): DeploymentRecord {
  const statuses = mergeStatuses(current?.statuses ?? [], change.status);
  const decided = decideOutcome(statuses);
  const createdAt =
    current === undefined || Date.parse(change.createdAt) < Date.parse(current.createdAt)
      ? change.createdAt
      : current.createdAt;
  return {
    schemaVersion: DEPLOYMENT_SCHEMA_VERSION,
    repository: current?.repository ?? change.repository,
    environment: current?.environment ?? change.environment,
    deploymentId: current?.deploymentId ?? change.deploymentId,
    source: current?.source ?? change.source,
    sha: current?.sha ?? change.sha,
    ref: current?.ref || change.ref,
    createdAt,
    production: isProductionEnvironment(config, current?.environment ?? change.environment),
    statuses,
    outcome: decided.outcome,
    ...(decided.finishedAt === undefined ? {} : { finishedAt: decided.finishedAt }),
    ...(current?.leadTime === undefined ? {} : { leadTime: current.leadTime }),
    attributedIncidents: current?.attributedIncidents ?? [],
    announced: current?.announced ?? [],
  };
}

/** The outcome of the latest terminal status by time (success; failure or error = failure), and its time. */
export function decideOutcome(statuses: readonly DeploymentStatusEntry[]): {
  readonly outcome: DeploymentOutcome;
  readonly finishedAt?: string;
} {
  for (let index = statuses.length - 1; index >= 0; index--) {
    const status = statuses[index] as DeploymentStatusEntry;
    const outcome = TERMINAL_STATES[status.state];
    if (outcome !== undefined) return { outcome, finishedAt: status.at };
  }
  return { outcome: 'pending' };
}

/** Adds a status unless it is known (same status id or run attempt), keeping them ordered. */
function mergeStatuses(
  statuses: readonly DeploymentStatusEntry[],
  added: DeploymentStatusEntry | undefined,
): DeploymentStatusEntry[] {
  if (added === undefined) return [...statuses];
  const identity = statusIdentity(added);
  const known = statuses.find((status) => statusIdentity(status) === identity);
  if (known !== undefined) {
    // The same status delivered twice (a redelivery, or webhook and backfill): keep one, the smallest delivery id.
    if (known.deliveryId <= added.deliveryId) return [...statuses];
    return statuses.map((status) => (status === known ? { ...known, deliveryId: added.deliveryId } : status));
  }
  return [...statuses, normalizeStatus(added)].sort(compareStatuses);
}

function statusIdentity(status: DeploymentStatusEntry): string {
  if (status.statusId !== undefined) return `status:${status.statusId}`;
  if (status.runAttempt !== undefined) return `attempt:${status.runAttempt}`;
  return `at:${status.at}:${status.state}`;
}

/** Fixed field order, so equal statuses serialise to equal bytes. */
function normalizeStatus(status: DeploymentStatusEntry): DeploymentStatusEntry {
  return {
    state: status.state,
    at: status.at,
    ...(status.statusId === undefined ? {} : { statusId: status.statusId }),
    ...(status.runAttempt === undefined ? {} : { runAttempt: status.runAttempt }),
    deliveryId: status.deliveryId,
  };
}

/** By time, then by status id or attempt (GitHub's ids grow), then by state for a total order. */
function compareStatuses(a: DeploymentStatusEntry, b: DeploymentStatusEntry): number {
  return (
    Date.parse(a.at) - Date.parse(b.at) ||
    (a.statusId ?? a.runAttempt ?? 0) - (b.statusId ?? b.runAttempt ?? 0) ||
    (a.state < b.state ? -1 : a.state > b.state ? 1 : 0)
  );
}

/** The record with its fields in one fixed order, so equal records serialise to equal bytes. */
export function canonicalDeploymentRecord(record: DeploymentRecord): DeploymentRecord {
  const facts = record.leadTime;
  return {
    schemaVersion: record.schemaVersion,
    repository: record.repository,
    environment: record.environment,
    deploymentId: record.deploymentId,
    source: record.source,
    sha: record.sha,
    ref: record.ref,
    createdAt: record.createdAt,
    production: record.production,
    statuses: record.statuses.map(normalizeStatus),
    outcome: record.outcome,
    ...(record.finishedAt === undefined ? {} : { finishedAt: record.finishedAt }),
    ...(facts === undefined
      ? {}
      : {
          leadTime: {
            commits: facts.commits.map((commit) => ({
              sha: commit.sha,
              authoredAt: commit.authoredAt,
              ...(commit.pullRequest === undefined ? {} : { pullRequest: commit.pullRequest }),
              ...(commit.firstCommitAt === undefined ? {} : { firstCommitAt: commit.firstCommitAt }),
            })),
            ...(facts.previousSha === undefined ? {} : { previousSha: facts.previousSha }),
            firstDeployment: facts.firstDeployment,
            ...(facts.unresolved ? { unresolved: true } : {}),
            ...(facts.omittedCommits ? { omittedCommits: facts.omittedCommits } : {}),
          },
        }),
    attributedIncidents: [...record.attributedIncidents].sort(),
    announced: [...record.announced].sort(),
  };
}
