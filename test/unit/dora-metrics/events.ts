/**
 * DORA test events: GitHub's documented webhook payloads (@octokit/webhooks-examples) with their ids,
 * times and shas set for a scenario, normalised exactly as the intake does; and incident events as the
 * incident timeline publishes them.
 */
import { normalizeGitHubEvent } from '../../../functions/shared/events/github.js';
import type { EventType, ToillessEvent } from '../../../functions/shared/events/types.js';
import { type GitHubPayload, githubExample } from '../../support/github-examples.js';

/** The repository of GitHub's examples. */
export const REPOSITORY = 'Codertocat/Hello-World';

/** A readable 40-character sha: `sha('a')` is "aaaa...a". */
export function sha(letter: string): string {
  return letter.repeat(40 / letter.length).slice(0, 40);
}

export const ZERO = '0'.repeat(40);

let deliveries = 0;

/** A delivery id as GitHub sends them: unique per delivery, repeated by a redelivery. */
export function newDelivery(): string {
  deliveries++;
  return `72d3162e-cc78-11e3-81ab-${deliveries.toString(16).padStart(12, '0')}`;
}

function normalized<T extends EventType>(name: string, payload: GitHubPayload, delivery: string, type: T) {
  const result = normalizeGitHubEvent(name, payload, delivery);
  if (result.kind !== 'event') throw new Error(`the ${name} payload was ignored: ${result.reason}`);
  if (result.event.type !== type) throw new Error(`expected ${type}, got ${result.event.type}`);
  return result.event as ToillessEvent<T>;
}

export interface DeploymentFacts {
  readonly id: number;
  readonly sha: string;
  readonly environment?: string;
  readonly createdAt: string;
  readonly repository?: string;
}

function deploymentObject(payload: GitHubPayload, facts: DeploymentFacts): void {
  payload.deployment.id = facts.id;
  payload.deployment.sha = facts.sha;
  payload.deployment.ref = 'master';
  payload.deployment.environment = facts.environment ?? 'production';
  payload.deployment.created_at = facts.createdAt;
  payload.deployment.updated_at = facts.createdAt;
  if (facts.repository !== undefined) payload.repository.full_name = facts.repository;
}

/** A `deployment` webhook (created). */
export function deploymentCreated(
  facts: DeploymentFacts,
  delivery = newDelivery(),
): ToillessEvent<'GitHubDeployment'> {
  const payload = githubExample('deployment', (p) => p.deployment.task === 'deploy');
  deploymentObject(payload, facts);
  return normalized('deployment', payload, delivery, 'GitHubDeployment');
}

export interface StatusFacts {
  readonly statusId: number;
  readonly state: 'success' | 'failure' | 'error' | 'inactive' | 'pending' | 'in_progress' | 'queued';
  readonly at: string;
}

/** A `deployment_status` webhook (created) of the deployment. */
export function deploymentStatus(
  deployment: DeploymentFacts,
  status: StatusFacts,
  delivery = newDelivery(),
): ToillessEvent<'GitHubDeploymentStatus'> {
  const payload = githubExample('deployment_status', (p) => p.deployment_status.state === 'success');
  deploymentObject(payload, deployment);
  payload.deployment_status.id = status.statusId;
  payload.deployment_status.state = status.state;
  payload.deployment_status.environment = deployment.environment ?? 'production';
  payload.deployment_status.created_at = status.at;
  payload.deployment_status.updated_at = status.at;
  return normalized('deployment_status', payload, delivery, 'GitHubDeploymentStatus');
}

export interface RunFacts {
  readonly runId: number;
  readonly name: string;
  readonly branch: string;
  readonly sha: string;
  readonly conclusion: string;
  readonly attempt: number;
  readonly startedAt: string;
  readonly updatedAt: string;
  /** The repository's default branch. @default 'main' */
  readonly defaultBranch?: string;
}

/** A completed `workflow_run` webhook. */
export function workflowRunCompleted(
  run: RunFacts,
  delivery = newDelivery(),
): ToillessEvent<'GitHubWorkflowRun'> {
  const payload = githubExample(
    'workflow_run',
    (p) => p.action === 'completed' && p.workflow_run.conclusion === 'success',
  );
  payload.repository.full_name = REPOSITORY;
  payload.repository.default_branch = run.defaultBranch ?? 'main';
  Object.assign(payload.workflow_run, {
    id: run.runId,
    name: run.name,
    head_branch: run.branch,
    head_sha: run.sha,
    conclusion: run.conclusion,
    run_attempt: run.attempt,
    run_started_at: run.startedAt,
    updated_at: run.updatedAt,
  });
  return normalized('workflow_run', payload, delivery, 'GitHubWorkflowRun');
}

export interface PushFacts {
  readonly ref?: string;
  readonly before: string;
  readonly after: string;
  readonly commits: readonly { readonly sha: string; readonly authoredAt: string }[];
}

/** A `push` webhook with the given commits (author times as GitHub sends them, with an offset). */
export function pushed(push: PushFacts, delivery = newDelivery()): ToillessEvent<'GitHubPush'> {
  const payload = githubExample('push', (p) => p.ref === 'refs/heads/master' && p.commits.length > 0);
  const template = payload.commits[0];
  payload.ref = push.ref ?? 'refs/heads/master';
  payload.before = push.before;
  payload.after = push.after;
  payload.created = push.before === ZERO;
  payload.commits = push.commits.map((commit) => ({
    ...template,
    id: commit.sha,
    message: `change ${commit.sha.slice(0, 7)}`,
    timestamp: commit.authoredAt,
  }));
  payload.head_commit = payload.commits.at(-1) ?? null;
  return normalized('push', payload, delivery, 'GitHubPush');
}

/**
 * Pushes to master of one commit each, `parent` -> the first -> the second ...: `[name, authoredAt]`
 * per commit, the name passed through sha().
 */
export function commitsToMaster(
  parent: string,
  ...commits: readonly (readonly [name: string, authoredAt: string])[]
): ToillessEvent<'GitHubPush'>[] {
  return commits.map(([name, authoredAt], index) =>
    pushed({
      before: sha(index === 0 ? parent : (commits[index - 1]?.[0] ?? parent)),
      after: sha(name),
      commits: [{ sha: sha(name), authoredAt }],
    }),
  );
}

export interface PullRequestFacts {
  readonly number: number;
  readonly mergedAt: string;
  readonly mergeCommitSha: string;
  readonly headSha: string;
}

/** A `pull_request` webhook closing the pull request by a merge into master. */
export function pullRequestMerged(
  pull: PullRequestFacts,
  delivery = newDelivery(),
): ToillessEvent<'GitHubPullRequest'> {
  const payload = githubExample('pull_request', (p) => p.action === 'closed');
  payload.number = pull.number;
  payload.pull_request.number = pull.number;
  payload.pull_request.merged = true;
  payload.pull_request.merged_at = pull.mergedAt;
  payload.pull_request.closed_at = pull.mergedAt;
  payload.pull_request.merge_commit_sha = pull.mergeCommitSha;
  payload.pull_request.head.sha = pull.headSha;
  return normalized('pull_request', payload, delivery, 'GitHubPullRequest');
}

export interface IncidentFacts {
  readonly id: string;
  readonly services: readonly string[];
  readonly severity: string;
  readonly startedAt: string;
  readonly resolvedAt?: string;
}

/** IncidentOpened as the incident timeline publishes it. */
export function incidentOpened(incident: IncidentFacts): ToillessEvent<'IncidentOpened'> {
  return {
    id: `incident:${incident.id}:opened`,
    type: 'IncidentOpened',
    time: incident.startedAt,
    detail: {
      incidentId: incident.id,
      title: `${incident.services.join(', ')} is failing`,
      services: incident.services,
      severity: incident.severity,
      startedAt: incident.startedAt,
    },
  };
}

/** IncidentResolved as the incident timeline publishes it. */
export function incidentResolved(
  incident: IncidentFacts & { readonly resolvedAt: string },
): ToillessEvent<'IncidentResolved'> {
  const opened = incidentOpened(incident).detail;
  return {
    id: `incident:${incident.id}:resolved`,
    type: 'IncidentResolved',
    time: incident.resolvedAt,
    detail: {
      ...opened,
      resolvedAt: incident.resolvedAt,
      durationSeconds: (Date.parse(incident.resolvedAt) - Date.parse(incident.startedAt)) / 1000,
    },
  };
}
