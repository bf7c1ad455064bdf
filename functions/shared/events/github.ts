/**
 * The GitHub webhook events toilless uses, and their normalisation into toilless events.
 * Unknown fields are tolerated (GitHub adds fields without notice); the fields consumers read are enforced.
 */
import * as z from 'zod';
import { builtOnFirstUse } from '../lazily.js';
import { parseWith } from '../validation.js';
import { environmentNameProblem, repositoryNameProblem } from './github-names.js';
import type {
  GitHubDeploymentDetail,
  GitHubDeploymentStatusDetail,
  GitHubPullRequestDetail,
  GitHubPushDetail,
  GitHubWorkflowRunDetail,
  PushedCommit,
  ToillessEvent,
} from './types.js';

/** ISO 8601 with any offset (push commit times carry the author's), normalised to UTC. */
const timestamp = z.iso.datetime({ offset: true }).transform((value) => new Date(value).toISOString());
const nullableText = z.string().nullable().optional();

/** A string that `problem` accepts; otherwise an issue carrying what `problem` says is wrong. */
function nameChecked(problem: (value: string) => string | undefined) {
  return z.string().superRefine((value, context) => {
    const message = problem(value);
    if (message !== undefined) context.addIssue({ code: 'custom', message });
  });
}

/** Names end up in store keys: refused here when a worker could never store them. */
const repositoryFullName = nameChecked(repositoryNameProblem);
const environmentName = nameChecked(environmentNameProblem);

const repository = z.object({ full_name: repositoryFullName, default_branch: z.string().min(1).optional() });

// The schemas of the event types are built on first use: a delivery needs only its own type's.
const deploymentObject = builtOnFirstUse(() =>
  z.object({
    id: z.number().int(),
    sha: z.string().min(1),
    ref: z.string(),
    task: z.string(),
    environment: environmentName,
    created_at: timestamp,
    description: nullableText,
    production_environment: z.boolean().optional(),
  }),
);

export const deploymentEventSchema = builtOnFirstUse(() =>
  z.object({
    action: z.literal('created'),
    deployment: deploymentObject(),
    repository,
  }),
);

export const deploymentStatusEventSchema = builtOnFirstUse(() =>
  z.object({
    action: z.literal('created'),
    deployment_status: z.object({
      id: z.number().int(),
      state: z.enum(['success', 'failure', 'error', 'inactive', 'pending', 'in_progress', 'queued']),
      environment: environmentName,
      created_at: timestamp,
      target_url: nullableText,
      description: nullableText,
    }),
    deployment: deploymentObject(),
    repository,
  }),
);

export const workflowRunEventSchema = builtOnFirstUse(() =>
  z.object({
    action: z.enum(['requested', 'in_progress', 'completed']),
    workflow_run: z.object({
      id: z.number().int(),
      name: z.string(),
      path: z.string().optional(),
      head_sha: z.string().min(1),
      head_branch: z.string().nullable(),
      event: z.string(),
      status: z.string(),
      conclusion: z.string().nullable(),
      run_attempt: z.number().int().positive(),
      run_started_at: timestamp,
      updated_at: timestamp,
      html_url: z.string(),
    }),
    repository,
  }),
);

const commit = builtOnFirstUse(() =>
  z.object({
    id: z.string().min(1),
    message: z.string(),
    timestamp,
  }),
);

export const pushEventSchema = builtOnFirstUse(() =>
  z.object({
    ref: z.string().min(1),
    before: z.string(),
    after: z.string(),
    forced: z.boolean(),
    deleted: z.boolean().default(false),
    commits: z.array(commit()),
    head_commit: commit().nullable(),
    repository: repository.extend({
      /** Epoch seconds in push payloads (ISO elsewhere): the push time when there is no head commit. */
      pushed_at: z.union([z.number(), timestamp]).nullable().optional(),
    }),
  }),
);

export const pullRequestEventSchema = builtOnFirstUse(() =>
  z.object({
    action: z.string().min(1),
    number: z.number().int(),
    pull_request: z.object({
      title: z.string(),
      merged: z.boolean().nullable().optional(),
      merged_at: timestamp.nullable(),
      closed_at: timestamp.nullable(),
      merge_commit_sha: z.string().nullable(),
      created_at: timestamp,
      commits: z.number().int().nonnegative(),
      head: z.object({ sha: z.string().min(1) }),
      base: z.object({ ref: z.string().min(1) }),
    }),
    repository,
  }),
);

/** A closed pull request must say when it closed: that is the event's time. */
const closedPullRequestSchema = builtOnFirstUse(() =>
  z.object({ pull_request: z.object({ closed_at: timestamp }) }),
);

export type GitHubNormalization =
  | { readonly kind: 'event'; readonly event: ToillessEvent }
  | { readonly kind: 'ignored'; readonly reason: string };

const actionOnly = z.object({ action: z.string().min(1) });
const ZERO_SHA = /^0+$/;

/**
 * Turns one GitHub delivery into the toilless event it carries, or says why it carries none.
 * Throws ValidationError (naming the field) when a used event breaks its schema.
 */
export function normalizeGitHubEvent(
  eventName: string,
  payload: unknown,
  deliveryId: string,
): GitHubNormalization {
  const id = `github:${deliveryId}`;
  switch (eventName) {
    case 'ping':
      return ignored('ping: the webhook is reachable; nothing to publish');
    case 'deployment': {
      const { action } = parseWith(actionOnly, payload, 'deployment event');
      if (action !== 'created') return ignored(`deployment action "${action}" is not used`);
      const { deployment: d, repository: r } = parseWith(
        deploymentEventSchema(),
        payload,
        'deployment event',
      );
      const detail: GitHubDeploymentDetail = {
        repository: r.full_name,
        deliveryId,
        deploymentId: d.id,
        sha: d.sha,
        ref: d.ref,
        environment: d.environment,
        task: d.task,
        createdAt: d.created_at,
        ...(d.production_environment === undefined
          ? {}
          : { productionEnvironment: d.production_environment }),
        ...(d.description === undefined ? {} : { description: d.description }),
      };
      return published({ id, type: 'GitHubDeployment', time: d.created_at, detail });
    }
    case 'deployment_status': {
      const { action } = parseWith(actionOnly, payload, 'deployment_status event');
      if (action !== 'created') return ignored(`deployment_status action "${action}" is not used`);
      const parsed = parseWith(deploymentStatusEventSchema(), payload, 'deployment_status event');
      const { deployment_status: s, deployment: d } = parsed;
      const detail: GitHubDeploymentStatusDetail = {
        repository: parsed.repository.full_name,
        deliveryId,
        deploymentId: d.id,
        statusId: s.id,
        state: s.state,
        environment: s.environment,
        sha: d.sha,
        ref: d.ref,
        createdAt: s.created_at,
        deploymentCreatedAt: d.created_at,
        ...(s.target_url === undefined ? {} : { targetUrl: s.target_url }),
        ...(s.description === undefined ? {} : { description: s.description }),
      };
      return published({ id, type: 'GitHubDeploymentStatus', time: s.created_at, detail });
    }
    case 'workflow_run': {
      const { action } = parseWith(actionOnly, payload, 'workflow_run event');
      if (!['requested', 'in_progress', 'completed'].includes(action)) {
        return ignored(`workflow_run action "${action}" is not used`);
      }
      const parsed = parseWith(workflowRunEventSchema(), payload, 'workflow_run event');
      // Only a finished run says whether a deploy pipeline succeeded; the earlier ones are noise.
      if (parsed.action !== 'completed')
        return ignored(`workflow_run action "${action}": only completed runs are used`);
      const run = parsed.workflow_run;
      const detail: GitHubWorkflowRunDetail = {
        repository: parsed.repository.full_name,
        deliveryId,
        runId: run.id,
        name: run.name,
        ...(run.path === undefined ? {} : { workflowPath: run.path }),
        headSha: run.head_sha,
        headBranch: run.head_branch,
        ...(parsed.repository.default_branch ? { defaultBranch: parsed.repository.default_branch } : {}),
        event: run.event,
        status: run.status,
        conclusion: run.conclusion,
        runAttempt: run.run_attempt,
        runStartedAt: run.run_started_at,
        updatedAt: run.updated_at,
        htmlUrl: run.html_url,
      };
      return published({ id, type: 'GitHubWorkflowRun', time: run.updated_at, detail });
    }
    case 'push': {
      const push = parseWith(pushEventSchema(), payload, 'push event');
      if (push.deleted || ZERO_SHA.test(push.after)) {
        return ignored(`push deleting ${push.ref}: no commits to record`);
      }
      const time = push.head_commit?.timestamp ?? pushTime(push.repository.pushed_at);
      if (time === undefined) return ignored(`push to ${push.ref} has neither a head commit nor a push time`);
      const detail: GitHubPushDetail = {
        repository: push.repository.full_name,
        deliveryId,
        ref: push.ref,
        before: push.before,
        after: push.after,
        forced: push.forced,
        commits: push.commits.map(toPushedCommit),
      };
      return published({ id, type: 'GitHubPush', time, detail });
    }
    case 'pull_request': {
      const parsed = parseWith(pullRequestEventSchema(), payload, 'pull_request event');
      if (parsed.action !== 'closed') {
        return ignored(`pull_request action "${parsed.action}": only closed pull requests are used`);
      }
      const pr = parsed.pull_request;
      const { pull_request: closed } = parseWith(closedPullRequestSchema(), payload, 'pull_request event');
      const time = pr.merged_at ?? closed.closed_at;
      const detail: GitHubPullRequestDetail = {
        repository: parsed.repository.full_name,
        deliveryId,
        number: parsed.number,
        title: pr.title,
        merged: pr.merged ?? pr.merged_at !== null,
        mergedAt: pr.merged_at,
        mergeCommitSha: pr.merge_commit_sha,
        headSha: pr.head.sha,
        baseRef: pr.base.ref,
        createdAt: pr.created_at,
        commits: pr.commits,
      };
      return published({ id, type: 'GitHubPullRequest', time, detail });
    }
    default:
      return ignored(`GitHub event "${eventName}" is not used by toilless`);
  }
}

function toPushedCommit(c: z.output<ReturnType<typeof commit>>): PushedCommit {
  return { id: c.id, authoredAt: c.timestamp, title: c.message.split(/\r?\n/, 1)[0] ?? '' };
}

function pushTime(pushedAt: number | string | null | undefined): string | undefined {
  if (typeof pushedAt === 'number') return new Date(pushedAt * 1000).toISOString();
  return pushedAt ?? undefined;
}

function published(event: ToillessEvent): GitHubNormalization {
  return { kind: 'event', event };
}

function ignored(reason: string): GitHubNormalization {
  return { kind: 'ignored', reason };
}
