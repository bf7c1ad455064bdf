/**
 * toilless's own events: the EventBridge detail-type and the `type` label of
 * toilless_events_published_total. Producers normalise external payloads into these;
 * consumers never see a raw GitHub or Alertmanager body except inside AlertNotification.
 */
import type { AlertmanagerPayload } from './alertmanager.js';

export const EVENT_TYPES = [
  'AlertNotification',
  'GitHubDeployment',
  'GitHubDeploymentStatus',
  'GitHubWorkflowRun',
  'GitHubPush',
  'GitHubPullRequest',
  'IncidentOpened',
  'IncidentResolved',
  'DeploymentRecorded',
  'ReportPublished',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** EventBridge `source` of every toilless event. */
export const EVENT_SOURCE = 'toilless';

export interface AlertNotificationDetail {
  readonly receivedAt: string;
  readonly payload: AlertmanagerPayload;
}

interface GitHubDetail {
  /** owner/name */
  readonly repository: string;
  /** X-GitHub-Delivery of the webhook, or `backfill:<...>` for records read from the REST API. */
  readonly deliveryId: string;
}

export interface GitHubDeploymentDetail extends GitHubDetail {
  readonly deploymentId: number;
  readonly sha: string;
  readonly ref: string;
  readonly environment: string;
  readonly task: string;
  readonly createdAt: string;
  readonly productionEnvironment?: boolean;
  readonly description?: string | null;
}

export type DeploymentState =
  | 'success'
  | 'failure'
  | 'error'
  | 'inactive'
  | 'pending'
  | 'in_progress'
  | 'queued';

export interface GitHubDeploymentStatusDetail extends GitHubDetail {
  readonly deploymentId: number;
  readonly statusId: number;
  readonly state: DeploymentState;
  readonly environment: string;
  readonly sha: string;
  readonly ref: string;
  /** When this status was created: the deployment finished at this time for success/failure/error. */
  readonly createdAt: string;
  readonly deploymentCreatedAt: string;
  readonly targetUrl?: string | null;
  readonly description?: string | null;
}

export interface GitHubWorkflowRunDetail extends GitHubDetail {
  readonly runId: number;
  readonly name: string;
  readonly workflowPath?: string;
  readonly headSha: string;
  readonly headBranch: string | null;
  /** The repository's default branch, when the payload names it. */
  readonly defaultBranch?: string;
  readonly event: string;
  readonly status: string;
  /** success, failure, cancelled, timed_out, startup_failure, ... (null while running). */
  readonly conclusion: string | null;
  readonly runAttempt: number;
  readonly runStartedAt: string;
  readonly updatedAt: string;
  readonly htmlUrl: string;
}

export interface PushedCommit {
  readonly id: string;
  /** Author time: survives rebases, unlike the committer time. */
  readonly authoredAt: string;
  /** First line of the message. */
  readonly title: string;
}

export interface GitHubPushDetail extends GitHubDetail {
  readonly ref: string;
  readonly before: string;
  readonly after: string;
  readonly forced: boolean;
  readonly commits: readonly PushedCommit[];
}

export interface GitHubPullRequestDetail extends GitHubDetail {
  readonly number: number;
  readonly title: string;
  readonly merged: boolean;
  readonly mergedAt: string | null;
  readonly mergeCommitSha: string | null;
  readonly headSha: string;
  readonly baseRef: string;
  readonly createdAt: string;
  readonly commits: number;
}

export interface IncidentOpenedDetail {
  readonly incidentId: string;
  readonly title: string;
  readonly services: readonly string[];
  readonly severity: string;
  readonly startedAt: string;
}

export interface IncidentResolvedDetail extends IncidentOpenedDetail {
  readonly resolvedAt: string;
  readonly durationSeconds: number;
}

export interface DeploymentRecordedDetail {
  readonly repository: string;
  readonly environment: string;
  readonly deploymentId: string;
  readonly sha: string;
  readonly status: 'success' | 'failure';
  readonly production: boolean;
  readonly finishedAt: string;
  /** Services mapped from the repository in stack-config/toilless.yaml. */
  readonly services: readonly string[];
}

export interface ReportPublishedDetail {
  readonly week: string;
  readonly key: string;
  readonly from: string;
  readonly to: string;
}

export interface EventDetails {
  AlertNotification: AlertNotificationDetail;
  GitHubDeployment: GitHubDeploymentDetail;
  GitHubDeploymentStatus: GitHubDeploymentStatusDetail;
  GitHubWorkflowRun: GitHubWorkflowRunDetail;
  GitHubPush: GitHubPushDetail;
  GitHubPullRequest: GitHubPullRequestDetail;
  IncidentOpened: IncidentOpenedDetail;
  IncidentResolved: IncidentResolvedDetail;
  DeploymentRecorded: DeploymentRecordedDetail;
  ReportPublished: ReportPublishedDetail;
}

interface Envelope<T extends EventType> {
  /** Deterministic where possible (delivery id, payload hash) so consumers can deduplicate. */
  readonly id: string;
  readonly type: T;
  /** ISO 8601 UTC. */
  readonly time: string;
  readonly detail: EventDetails[T];
}

export type ToillessEvent<T extends EventType = EventType> = { [K in T]: Envelope<K> }[T];

export function isEventType(value: string): value is EventType {
  return (EVENT_TYPES as readonly string[]).includes(value);
}
