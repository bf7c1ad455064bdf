/**
 * The incident timeline's data model: what is stored at incidents/<id>/timeline.json and what the
 * evidence sources return. Stored documents carry a schema version so later readers can migrate them.
 */

export const TIMELINE_SCHEMA_VERSION = 1;

export type TimelineEventKind =
  | 'alert.firing'
  | 'alert.resolved'
  | 'severity.changed'
  | 'deployment'
  | 'metric'
  | 'log.spike'
  | 'log.error'
  | 'trace.error'
  | 'trace.slow'
  | 'source.unavailable'
  /** Something from the payload or a source that could not be used, and what was done instead. */
  | 'note';

/** `toilless`: the timeline worker itself, e.g. when evidence gathering as a whole failed. */
export type EvidenceSource = 'alertmanager' | 'prometheus' | 'loki' | 'tempo' | 'deployments' | 'toilless';

/** high: shown first and in the Slack summary; normal: in the timeline; low: in the appendix. */
export type Relevance = 'high' | 'normal' | 'low';

export interface TimelineLink {
  readonly title: string;
  readonly url: string;
}

export interface TimelineEvent {
  /** UTC ISO 8601, as reported by the source (sources' clocks may differ: `source` says whose). */
  readonly at: string;
  readonly kind: TimelineEventKind;
  readonly source: EvidenceSource;
  readonly severity?: string;
  readonly summary: string;
  readonly relevance: Relevance;
  readonly links: readonly TimelineLink[];
  readonly details: Readonly<Record<string, unknown>>;
}

export interface IncidentAlert {
  readonly fingerprint: string;
  readonly alertname: string;
  readonly status: 'firing' | 'resolved';
  readonly severity: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  /** Set once resolved. */
  readonly endsAt?: string;
  readonly generatorURL: string;
}

/** What the evidence sources are asked: one service, one time window, the alerts that define it. */
export interface EvidenceRequest {
  readonly incidentId: string;
  readonly service: string;
  readonly alerts: readonly IncidentAlert[];
  /** Estimated onset: the earliest startsAt minus the rule's `for` and an evaluation interval, when known. */
  readonly onset: Date;
  /** Query window: from 30 minutes before onset to now (or resolution). */
  readonly from: Date;
  readonly to: Date;
  /** Aborted when the overall budget runs out; sources must stop and return what they have. */
  readonly signal: AbortSignal;
}

/**
 * Gathers evidence from Prometheus, Loki, Tempo and the stored deployments. Never rejects: a source
 * that fails, is slow or is down contributes a `source.unavailable` event instead.
 */
export type EvidenceGatherer = (request: EvidenceRequest) => Promise<readonly TimelineEvent[]>;

export type IncidentStatus = 'open' | 'resolved';

/** A Slack message as composed when its change happened (replies keep what was true then). */
export interface SlackMessageDraft {
  readonly text: string;
  readonly blocks?: readonly Record<string, unknown>[];
}

/**
 * Slack work not done yet. Recorded in the timeline before it is attempted, so that a Slack outage
 * never loses it: the next update of the incident tries again.
 */
export interface SlackWork {
  /** Deterministic, so the same work enqueued twice is kept once. */
  readonly id: string;
  /** post-root and update-root render the incident as it is when they run; reply sends `message`. */
  readonly kind: 'post-root' | 'reply' | 'update-root' | 'upload-timeline';
  readonly message?: SlackMessageDraft;
  readonly attempts: number;
  readonly lastError?: string;
}

export interface IncidentSlackThread {
  /** The root message (channel id and ts): replies go to its thread, resolution edits it. */
  readonly thread?: { readonly channel: string; readonly ts: string };
  readonly pending: readonly SlackWork[];
}

/** Which toilless events of the incident are still to be published. */
export type IncidentEventType = 'IncidentOpened' | 'IncidentResolved';

/** Who is doing the incident's pending work, so that concurrent updates do it once. */
export interface WorkClaim {
  /** Random token of the worker invocation holding the claim. */
  readonly holder: string;
  /** UTC ISO 8601; a claim older than the lease is taken over (its holder crashed). */
  readonly since: string;
}

/** incidents/<id>/timeline.json */
export interface IncidentTimeline {
  readonly schemaVersion: number;
  readonly id: string;
  readonly status: IncidentStatus;
  readonly title: string;
  readonly service: string;
  /** The worst severity reached: never downgraded. */
  readonly severity: string;
  /** The earliest startsAt of the incident's alerts (UTC ISO 8601). */
  readonly startedAt: string;
  /** Estimated onset: see EvidenceRequest.onset. */
  readonly onset: string;
  /** The latest endsAt, once every alert resolved. */
  readonly resolvedAt?: string;
  readonly groupKey: string;
  /** The Alertmanager receiver and externalURL of the last applied notification. */
  readonly receiver: string;
  readonly externalURL: string;
  /** The group's incident before this one (this one is a re-fire after it resolved). */
  readonly previousIncidentId?: string;
  /** The group's incident after this one. */
  readonly nextIncidentId?: string;
  /** The previous incident's resolution: alerts that started by then belong to that incident. */
  readonly openedAfter?: string;
  /** Alerts left out of the last applied notification (Alertmanager `max_alerts`). */
  readonly truncatedAlerts: number;
  readonly alerts: readonly IncidentAlert[];
  /** Sorted by `at`, then kind. */
  readonly events: readonly TimelineEvent[];
  readonly slack: IncidentSlackThread;
  readonly pendingEvents: readonly IncidentEventType[];
  readonly workClaim?: WorkClaim;
  /** Ids of the last AlertNotification events that changed this incident, newest last (bounded). */
  readonly appliedNotifications: readonly string[];
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** incidents/groups/<sha256(groupKey)>.json: the group's current incident. */
export interface GroupPointer {
  readonly schemaVersion: number;
  readonly groupKey: string;
  readonly incidentId: string;
  readonly previousIncidentId?: string;
  /** The previous incident's resolvedAt (see IncidentTimeline.openedAfter). */
  readonly openedAfter?: string;
}
