/**
 * A backfill of one repository's history from the GitHub REST API: webhooks only carry what happens
 * after they are set up, and GitHub does not retry failed deliveries.
 *
 * REST records are wrapped into the webhook payloads GitHub would have delivered for them and passed
 * through the same normaliser, so a backfilled event has exactly the shape of a webhook one. Each gets a
 * deterministic delivery id, `backfill:<kind>:<github id>` (event id `github:backfill:<kind>:<id>`), and
 * events are handled oldest first: re-running a backfill hands the worker the same events again, and its
 * idempotency makes that change nothing.
 */
import {
  type GitHubClient,
  type GitHubDeployment,
  type GitHubDeploymentStatus,
  type GitHubPullRequest,
  parseRepository,
} from '../../shared/clients/github.js';
import { ValidationError } from '../../shared/errors.js';
import { normalizeGitHubEvent } from '../../shared/events/github.js';
import type { ToillessEvent } from '../../shared/events/types.js';

export type BackfillPhase =
  | 'deployments'
  | 'deployment-statuses'
  | 'pull-requests'
  | 'pull-request-details'
  | 'events';

export interface BackfillProgress {
  readonly phase: BackfillPhase;
  /** Items finished in this phase so far. */
  readonly done: number;
  /** Items the phase has in all, once known (listing phases page until the start date and do not know). */
  readonly total?: number;
}

/** The GitHub webhook event a REST record stands for (also the `<kind>` of its delivery id). */
export type BackfillKind = 'deployment' | 'deployment_status' | 'pull_request';

export interface BackfillOptions {
  readonly github: GitHubClient;
  /** owner/name */
  readonly repository: string;
  /** Deployments created and pull requests merged from this time on are read. */
  readonly since: Date;
  /** Only deployments to this GitHub environment. @default all */
  readonly environment?: string;
  /** Receives each event, oldest first, e.g. the DORA worker's `handle`. A failure stops the backfill. */
  readonly handle: (event: ToillessEvent) => Promise<void>;
  /** Called as each item is read or handled, e.g. to draw a progress line. @default none */
  readonly onProgress?: (progress: BackfillProgress) => void;
}

export interface SkippedRecord {
  readonly kind: BackfillKind;
  readonly id: number;
  readonly reason: string;
}

export interface BackfillResult {
  readonly repository: string;
  readonly deployments: number;
  readonly deploymentStatuses: number;
  /** Merged pull requests. */
  readonly pullRequests: number;
  /** Events passed to `handle`. */
  readonly events: number;
  /** Records the webhook normaliser refuses (a field it needs is missing): left out, with the reason. */
  readonly skipped: readonly SkippedRecord[];
}

/** Order of kinds at the same instant: a merge comes before the deployment of it, a deployment before its statuses. */
const KIND_ORDER: Readonly<Record<BackfillKind, number>> = {
  pull_request: 0,
  deployment: 1,
  deployment_status: 2,
};

interface Pending {
  readonly kind: BackfillKind;
  readonly githubId: number;
  readonly event: ToillessEvent;
}

export async function backfillRepository(options: BackfillOptions): Promise<BackfillResult> {
  const { github, since } = options;
  const { owner, repo } = parseRepository(options.repository);
  const repository = `${owner}/${repo}`;
  const progress = options.onProgress ?? (() => {});
  const pending: Pending[] = [];
  const skipped: SkippedRecord[] = [];

  const add = (kind: BackfillKind, githubId: number, payload: unknown): void => {
    const deliveryId = `backfill:${kind}:${githubId}`;
    try {
      const normalized = normalizeGitHubEvent(kind, payload, deliveryId);
      if (normalized.kind === 'event') pending.push({ kind, githubId, event: normalized.event });
      else skipped.push({ kind, id: githubId, reason: normalized.reason });
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      skipped.push({ kind, id: githubId, reason: error.message });
    }
  };

  const deployments: GitHubDeployment[] = [];
  for await (const deployment of github.listDeployments(repository, {
    since,
    ...(options.environment === undefined ? {} : { environment: options.environment }),
  })) {
    deployments.push(deployment);
    progress({ phase: 'deployments', done: deployments.length });
  }

  let statuses = 0;
  for (const [index, deployment] of deployments.entries()) {
    const repositoryOfDeployment = { full_name: nameFromApiUrl(deployment.repository_url) ?? repository };
    add('deployment', deployment.id, { action: 'created', deployment, repository: repositoryOfDeployment });
    const ofDeployment: GitHubDeploymentStatus[] = [];
    for await (const status of github.listDeploymentStatuses(repository, deployment.id))
      ofDeployment.push(status);
    for (const status of ofDeployment) {
      add('deployment_status', status.id, {
        action: 'created',
        deployment_status: status,
        deployment,
        repository: repositoryOfDeployment,
      });
    }
    statuses += ofDeployment.length;
    progress({ phase: 'deployment-statuses', done: index + 1, total: deployments.length });
  }

  const merged: number[] = [];
  for await (const pull of github.listMergedPullRequests(repository, { since })) {
    merged.push(pull.number);
    progress({ phase: 'pull-requests', done: merged.length });
  }
  for (const [index, number] of merged.entries()) {
    // The list lacks `merged` and `commits`, which the webhook payload (and so the event) carries.
    const pull: GitHubPullRequest = await github.getPullRequest(repository, number);
    add('pull_request', pull.id, {
      action: 'closed',
      number: pull.number,
      pull_request: pull,
      repository: { full_name: pull.base.repo?.full_name ?? repository },
    });
    progress({ phase: 'pull-request-details', done: index + 1, total: merged.length });
  }

  pending.sort(
    (a, b) =>
      Date.parse(a.event.time) - Date.parse(b.event.time) ||
      KIND_ORDER[a.kind] - KIND_ORDER[b.kind] ||
      a.githubId - b.githubId,
  );
  for (const [index, { event }] of pending.entries()) {
    await options.handle(event);
    progress({ phase: 'events', done: index + 1, total: pending.length });
  }

  return {
    repository,
    deployments: deployments.length,
    deploymentStatuses: statuses,
    pullRequests: merged.length,
    events: pending.length,
    skipped,
  };
}

/** `owner/name` with GitHub's own casing from an API URL ending in /repos/{owner}/{name}, as webhooks carry it. */
function nameFromApiUrl(url: string | undefined): string | undefined {
  const match = /\/repos\/([^/]+)\/([^/?#]+)\/?$/.exec(url ?? '');
  return match ? `${match[1]}/${match[2]}` : undefined;
}
