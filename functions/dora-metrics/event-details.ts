/**
 * The detail fields the DORA worker reads, checked on arrival: the bus checks only the envelope. Times are
 * normalised to UTC ISO 8601, so that equal facts give byte-identical records whatever their source.
 */
import * as z from 'zod';
import type {
  GitHubDeploymentDetail,
  GitHubDeploymentStatusDetail,
  GitHubPullRequestDetail,
  GitHubPushDetail,
  GitHubWorkflowRunDetail,
  IncidentOpenedDetail,
  IncidentResolvedDetail,
  ToillessEvent,
} from '../shared/events/types.js';
import { builtOnFirstUse } from '../shared/lazily.js';
import { parseWith } from '../shared/validation.js';

const time = z.iso.datetime({ offset: true }).transform((value) => new Date(value).toISOString());
const text = z.string().min(1);

const gitHub = { repository: text, deliveryId: text };

// Built on first use: an event needs only its own type's schema.
const deploymentSchema = builtOnFirstUse(() =>
  z.looseObject({
    ...gitHub,
    deploymentId: z.number().int(),
    sha: text,
    ref: z.string(),
    environment: text,
    createdAt: time,
  }),
);

const deploymentStatusSchema = builtOnFirstUse(() =>
  z.looseObject({
    ...gitHub,
    deploymentId: z.number().int(),
    statusId: z.number().int(),
    state: z.enum(['success', 'failure', 'error', 'inactive', 'pending', 'in_progress', 'queued']),
    environment: text,
    sha: text,
    ref: z.string(),
    createdAt: time,
    deploymentCreatedAt: time,
  }),
);

const workflowRunSchema = builtOnFirstUse(() =>
  z.looseObject({
    ...gitHub,
    runId: z.number().int(),
    name: z.string(),
    headSha: text,
    headBranch: z.string().nullable(),
    // Absent when the payload does not name it; never present as undefined (details arrive as JSON).
    defaultBranch: z.string().exactOptional(),
    conclusion: z.string().nullable(),
    runAttempt: z.number().int().positive(),
    runStartedAt: time,
    updatedAt: time,
  }),
);

const pushSchema = builtOnFirstUse(() =>
  z.looseObject({
    ...gitHub,
    ref: text,
    before: text,
    after: text,
    commits: z.array(z.looseObject({ id: text, authoredAt: time, title: z.string() })),
  }),
);

const pullRequestSchema = builtOnFirstUse(() =>
  z.looseObject({
    ...gitHub,
    number: z.number().int(),
    merged: z.boolean(),
    mergedAt: time.nullable(),
    mergeCommitSha: z.string().nullable(),
    headSha: text,
    baseRef: text,
  }),
);

const incidentOpenedSchema = builtOnFirstUse(() =>
  z.looseObject({
    incidentId: text,
    title: z.string(),
    services: z.array(text),
    severity: z.string(),
    startedAt: time,
  }),
);

const incidentResolvedSchema = builtOnFirstUse(() => incidentOpenedSchema().extend({ resolvedAt: time }));

/** The event with its detail checked and its times normalised; throws ValidationError naming the field. */
export function checkedDetail(
  event: ToillessEvent,
):
  | { readonly type: 'GitHubDeployment'; readonly detail: GitHubDeploymentDetail }
  | { readonly type: 'GitHubDeploymentStatus'; readonly detail: GitHubDeploymentStatusDetail }
  | { readonly type: 'GitHubWorkflowRun'; readonly detail: GitHubWorkflowRunDetail }
  | { readonly type: 'GitHubPush'; readonly detail: GitHubPushDetail }
  | { readonly type: 'GitHubPullRequest'; readonly detail: GitHubPullRequestDetail }
  | { readonly type: 'IncidentOpened'; readonly detail: IncidentOpenedDetail }
  | { readonly type: 'IncidentResolved'; readonly detail: IncidentResolvedDetail }
  | undefined {
  const what = `${event.type} event ${event.id}`;
  switch (event.type) {
    case 'GitHubDeployment':
      return {
        type: event.type,
        detail: { ...event.detail, ...parseWith(deploymentSchema(), event.detail, what) },
      };
    case 'GitHubDeploymentStatus':
      return {
        type: event.type,
        detail: { ...event.detail, ...parseWith(deploymentStatusSchema(), event.detail, what) },
      };
    case 'GitHubWorkflowRun':
      return {
        type: event.type,
        detail: { ...event.detail, ...parseWith(workflowRunSchema(), event.detail, what) },
      };
    case 'GitHubPush':
      return {
        type: event.type,
        detail: { ...event.detail, ...parseWith(pushSchema(), event.detail, what) },
      };
    case 'GitHubPullRequest':
      return {
        type: event.type,
        detail: { ...event.detail, ...parseWith(pullRequestSchema(), event.detail, what) },
      };
    case 'IncidentOpened':
      return {
        type: event.type,
        detail: { ...event.detail, ...parseWith(incidentOpenedSchema(), event.detail, what) },
      };
    case 'IncidentResolved':
      return {
        type: event.type,
        detail: { ...event.detail, ...parseWith(incidentResolvedSchema(), event.detail, what) },
      };
    default:
      return undefined;
  }
}
