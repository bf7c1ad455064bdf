/**
 * An incident's lifecycle as pure functions: given what is stored for an Alertmanager group and one
 * notification, decide whether it opens an incident, updates the current one, or changes nothing.
 * Delivery is at-least-once and unordered, so every decision compares per-alert transitions by time
 * and never rolls an alert back to an older state.
 */

import type { Alert, AlertmanagerPayload } from '../shared/events/alertmanager.js';
import { incidentIdFor, serviceOf } from './incident-identity.js';
import {
  type GroupPointer,
  type IncidentAlert,
  type IncidentTimeline,
  TIMELINE_SCHEMA_VERSION,
  type TimelineEvent,
} from './model.js';
import { checkAlertTimes, payloadDurationMs } from './payload-limits.js';
import { severityOfLabels, worseSeverity } from './severity.js';
import { mergeEvents } from './timeline-events.js';
import { compareInstants, humanDuration, instantKey, msBetween, toIso } from './timestamps.js';

/** Prometheus' default evaluation interval: an alert is noticed at most this long after its condition holds. */
export const EVALUATION_INTERVAL_MS = 15_000;

/** How many applied notification ids an incident remembers: enough for any resend burst. */
export const MAX_APPLIED_NOTIFICATIONS = 50;

/** Alert names and annotations are clipped to these in the titles and summaries built from them. */
const NAME_CHARS = 200;
const SUMMARY_CHARS = 1000;

export interface AlertNotificationInput {
  /** The AlertNotification event id: deterministic, so resends of an unchanged group share it. */
  readonly id: string;
  readonly payload: AlertmanagerPayload;
}

/** What is stored for the group: its pointer and the incident it points to, when there are. */
export interface GroupState {
  readonly pointer?: GroupPointer | undefined;
  readonly current?: IncidentTimeline | undefined;
}

export interface IncidentChanges {
  /** The notification created the incident. */
  readonly opened: boolean;
  /** The notification resolved the incident. */
  readonly resolved: boolean;
  /** Events the notification added (alerts, severity, then evidence once gathered), sorted. */
  readonly events: readonly TimelineEvent[];
  readonly severity?: { readonly from: string; readonly to: string };
  /** Set when the notification left out alerts (Alertmanager `max_alerts`). */
  readonly truncatedAlerts?: number;
}

export type NotificationPlan =
  | {
      readonly kind: 'unchanged';
      readonly reason: 'already applied' | 'no change' | 'stale';
      readonly incidentId?: string;
    }
  | { readonly kind: 'update'; readonly timeline: IncidentTimeline; readonly changes: IncidentChanges }
  | {
      readonly kind: 'open';
      readonly timeline: IncidentTimeline;
      readonly changes: IncidentChanges;
      /** The group pointer naming the new incident. */
      readonly pointer: GroupPointer;
    };

export type ChangingPlan = Exclude<NotificationPlan, { kind: 'unchanged' }>;

/**
 * Decides what one notification does to the group's stored state. Times and durations the alerts carry
 * are checked first: one that cannot be used is replaced or dropped with a note, never a reason to
 * refuse the notification.
 */
export function planNotification(
  state: GroupState,
  received: AlertNotificationInput,
  now: Date,
): NotificationPlan {
  const { current, pointer } = state;
  const knownAlerts = new Map(current?.alerts.map((alert) => [alert.fingerprint, alert]));
  const checked = checkAlertTimes(
    received.payload.alerts,
    (fingerprint) => knownAlerts.get(fingerprint),
    now,
  );
  const input: CheckedNotification = {
    ...received,
    payload: { ...received.payload, alerts: [...checked.alerts] },
    notes: checked.notes,
  };
  if (current === undefined) {
    // A pointer without its timeline: another worker is creating it, or crashed before it could.
    return openIncident(input, now, pointer ?? {});
  }
  // A change of truncatedAlerts alone is news (the notification id covers it too).
  if (
    current.appliedNotifications.includes(input.id) &&
    current.truncatedAlerts === input.payload.truncatedAlerts
  ) {
    return { kind: 'unchanged', reason: 'already applied', incidentId: current.id };
  }
  if (current.status === 'resolved') {
    // Only a re-fire after the resolution matters now; anything older is a late copy.
    const plan = openIncident(input, now, {
      previousIncidentId: current.id,
      openedAfter: current.resolvedAt ?? current.updatedAt,
    });
    return plan.kind === 'unchanged' ? { ...plan, incidentId: current.id } : plan;
  }
  return updateIncident(current, input, now);
}

/** A notification whose alert times were checked, with the notes on what was dropped. */
interface CheckedNotification extends AlertNotificationInput {
  readonly notes: readonly TimelineEvent[];
}

interface OpeningContext {
  /** The id a group pointer already gives the incident. */
  readonly incidentId?: string;
  readonly previousIncidentId?: string;
  readonly openedAfter?: string;
}

/** A new incident from the notification's alerts that started after `context.openedAfter` (all, for a group's first). */
function openIncident(input: CheckedNotification, now: Date, context: OpeningContext): NotificationPlan {
  const { payload } = input;
  const { openedAfter, previousIncidentId } = context;
  const activations = payload.alerts.filter(
    (alert) => openedAfter === undefined || compareInstants(alert.startsAt, openedAfter) > 0,
  );
  const first = sortAlerts(activations)[0];
  if (first === undefined) return { kind: 'unchanged', reason: 'stale' };
  const service = serviceOf(payload);
  const id = context.incidentId ?? incidentIdFor(payload.groupKey, first.startsAt, service);
  const stamp = now.toISOString();
  const links = {
    ...(previousIncidentId !== undefined ? { previousIncidentId } : {}),
    ...(openedAfter !== undefined ? { openedAfter } : {}),
  };
  const skeleton: IncidentTimeline = {
    schemaVersion: TIMELINE_SCHEMA_VERSION,
    id,
    status: 'open',
    title: titleOf(activations, service),
    service,
    severity: severityOfLabels(first.labels),
    startedAt: toIso(first.startsAt),
    onset: toIso(first.startsAt),
    groupKey: payload.groupKey,
    receiver: payload.receiver,
    externalURL: payload.externalURL,
    ...links,
    truncatedAlerts: 0,
    alerts: [],
    events: [],
    slack: { pending: [] },
    pendingEvents: [],
    appliedNotifications: [],
    createdAt: stamp,
    updatedAt: stamp,
  };
  const applied = applyAlerts(skeleton, input, { creating: true });
  return {
    kind: 'open',
    timeline: applied.timeline,
    changes: { ...applied.changes, opened: true },
    pointer: { schemaVersion: TIMELINE_SCHEMA_VERSION, groupKey: payload.groupKey, incidentId: id, ...links },
  };
}

function updateIncident(current: IncidentTimeline, input: CheckedNotification, now: Date): NotificationPlan {
  const applied = applyAlerts(current, input, { creating: false });
  if (!applied.changed) return { kind: 'unchanged', reason: 'no change', incidentId: current.id };
  return {
    kind: 'update',
    timeline: { ...applied.timeline, updatedAt: now.toISOString() },
    changes: applied.changes,
  };
}

interface AppliedAlerts {
  readonly timeline: IncidentTimeline;
  readonly changes: IncidentChanges;
  readonly changed: boolean;
}

/** Applies each alert transition that is newer than what the incident knows, and derives the rest. */
function applyAlerts(
  timeline: IncidentTimeline,
  input: CheckedNotification,
  options: { readonly creating: boolean },
): AppliedAlerts {
  const { payload } = input;
  const alerts = new Map(timeline.alerts.map((alert) => [alert.fingerprint, alert]));
  const events: TimelineEvent[] = [...input.notes];
  let severity = timeline.severity;
  let severityChange: { from: string; to: string } | undefined;
  let transitions = 0;

  for (const incoming of sortAlerts(payload.alerts)) {
    if (timeline.openedAfter !== undefined && compareInstants(incoming.startsAt, timeline.openedAfter) <= 0) {
      continue; // belongs to the previous incident of the group
    }
    const next = toIncidentAlert(incoming);
    const known = alerts.get(next.fingerprint);
    if (known !== undefined && !supersedes(next, known)) continue;
    alerts.set(next.fingerprint, next);
    transitions++;
    const sameActivation = known !== undefined && compareInstants(known.startsAt, next.startsAt) === 0;
    if (next.status === 'firing' || !(sameActivation && known?.status === 'firing')) {
      // A resolved alert whose firing was never seen still fired: both ends belong in the timeline.
      events.push(firingEvent(next));
    }
    if (next.status === 'resolved') events.push(resolvedEvent(next));
    const worse = worseSeverity(severity, next.severity);
    if (worse !== severity) {
      if (!options.creating) {
        const from = severityChange?.from ?? severity;
        severityChange = { from, to: worse };
        events.push(severityChangedEvent(severity, worse, next));
      }
      severity = worse;
    }
  }

  const sorted = [...alerts.values()].sort(compareAlerts);
  const truncatedAlerts = payload.truncatedAlerts;
  const allResolved = sorted.length > 0 && sorted.every((alert) => alert.status === 'resolved');
  // Alertmanager truncates before it computes the status: left-out alerts may still be firing.
  const resolvedNow = timeline.status === 'open' && allResolved && truncatedAlerts === 0;
  const merged = mergeEvents(timeline.events, events);
  const truncationChanged = truncatedAlerts !== timeline.truncatedAlerts;
  const startedAt = sorted.map((alert) => alert.startsAt).sort(compareInstants)[0] ?? timeline.startedAt;

  const resolvedAt = resolvedNow ? latestEnd(sorted) : timeline.resolvedAt;
  const next: IncidentTimeline = {
    ...timeline,
    status: resolvedNow ? 'resolved' : timeline.status,
    severity,
    startedAt: toIso(startedAt),
    onset: estimatedOnset(sorted) ?? timeline.onset,
    ...(resolvedAt !== undefined ? { resolvedAt } : {}),
    receiver: payload.receiver,
    externalURL: payload.externalURL,
    truncatedAlerts,
    alerts: sorted,
    events: merged.events,
    appliedNotifications: [...timeline.appliedNotifications.filter((id) => id !== input.id), input.id].slice(
      -MAX_APPLIED_NOTIFICATIONS,
    ),
  };
  return {
    timeline: next,
    changed: transitions > 0 || resolvedNow || truncationChanged,
    changes: {
      opened: false,
      resolved: resolvedNow,
      events: merged.added,
      ...(severityChange ? { severity: severityChange } : {}),
      // Worth saying when it starts or changes, and when it is what keeps the incident open.
      ...(truncatedAlerts > 0 && (truncationChanged || allResolved) ? { truncatedAlerts } : {}),
    },
  };
}

/**
 * Whether `next` is newer knowledge of one alert than `known`. A later activation (startsAt) wins; within
 * one activation resolved beats firing, so a late firing copy cannot reopen it; a firing supersedes a
 * resolution only when it started after that resolution ended.
 */
export function supersedes(next: IncidentAlert, known: IncidentAlert): boolean {
  const starts = compareInstants(next.startsAt, known.startsAt);
  if (next.status === 'firing') {
    if (known.status === 'firing') return starts > 0;
    return known.endsAt !== undefined ? compareInstants(next.startsAt, known.endsAt) > 0 : starts > 0;
  }
  if (known.status === 'firing') return starts >= 0;
  if (starts !== 0) return starts > 0;
  return (
    known.endsAt === undefined ||
    (next.endsAt !== undefined && compareInstants(next.endsAt, known.endsAt) > 0)
  );
}

export function toIncidentAlert(alert: Alert): IncidentAlert {
  return {
    fingerprint: alert.fingerprint,
    alertname: alert.labels.alertname ?? 'unnamed',
    status: alert.status,
    severity: severityOfLabels(alert.labels),
    labels: sortedRecord(alert.labels),
    annotations: sortedRecord(alert.annotations),
    startsAt: alert.startsAt,
    ...(alert.status === 'resolved' ? { endsAt: alert.endsAt } : {}),
    generatorURL: alert.generatorURL,
  };
}

/** The rule's `for` from an annotation named `for`, when an alert carries a usable one (at most a year). */
export function forDurationMs(alert: IncidentAlert): number | undefined {
  return payloadDurationMs(alert.annotations.for);
}

/** The earliest startsAt minus that alert's `for` and one evaluation interval. */
export function estimatedOnset(alerts: readonly IncidentAlert[]): string | undefined {
  let earliest: number | undefined;
  for (const alert of alerts) {
    const onset = Date.parse(alert.startsAt) - (forDurationMs(alert) ?? 0) - EVALUATION_INTERVAL_MS;
    if (earliest === undefined || onset < earliest) earliest = onset;
  }
  return earliest === undefined ? undefined : new Date(earliest).toISOString();
}

function latestEnd(alerts: readonly IncidentAlert[]): string | undefined {
  const ends = alerts.flatMap((alert) => (alert.endsAt !== undefined ? [alert.endsAt] : []));
  const last = ends.sort(compareInstants).at(-1);
  return last === undefined ? undefined : toIso(last);
}

function titleOf(alerts: readonly Alert[], service: string): string {
  const names = [
    ...new Set(alerts.map((alert) => clip(alert.labels.alertname ?? 'unnamed', NAME_CHARS))),
  ].sort();
  const shown =
    names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ');
  return `${shown} on ${clip(service, NAME_CHARS)}`;
}

/** Text from a payload cut to `max` characters, so that what is built from it stays small. */
function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/** Oldest activation first; the fingerprint breaks ties so that the order never depends on the payload's. */
function sortAlerts(alerts: readonly Alert[]): Alert[] {
  return [...alerts].sort(
    (a, b) => compareInstants(a.startsAt, b.startsAt) || compareText(a.fingerprint, b.fingerprint),
  );
}

function compareAlerts(a: IncidentAlert, b: IncidentAlert): number {
  return compareInstants(a.startsAt, b.startsAt) || compareText(a.fingerprint, b.fingerprint);
}

function firingEvent(alert: IncidentAlert): TimelineEvent {
  const summary = alert.annotations.summary;
  return {
    at: toIso(alert.startsAt),
    kind: 'alert.firing',
    source: 'alertmanager',
    severity: alert.severity,
    summary: `${clip(alert.alertname, NAME_CHARS)} firing${summary ? `: ${clip(summary, SUMMARY_CHARS)}` : ''}`,
    relevance: 'high',
    links: alert.generatorURL ? [{ title: 'Prometheus', url: alert.generatorURL }] : [],
    details: {
      key: `alert:${alert.fingerprint}:firing:${instantKey(alert.startsAt)}`,
      fingerprint: alert.fingerprint,
      alertname: alert.alertname,
      labels: alert.labels,
    },
  };
}

function resolvedEvent(alert: IncidentAlert): TimelineEvent {
  const endsAt = alert.endsAt ?? alert.startsAt;
  return {
    at: toIso(endsAt),
    kind: 'alert.resolved',
    source: 'alertmanager',
    severity: alert.severity,
    summary: `${clip(alert.alertname, NAME_CHARS)} resolved after ${humanDuration(msBetween(alert.startsAt, endsAt))}`,
    relevance: 'high',
    links: [],
    details: {
      key: `alert:${alert.fingerprint}:resolved:${instantKey(alert.startsAt)}:${instantKey(endsAt)}`,
      fingerprint: alert.fingerprint,
      alertname: alert.alertname,
    },
  };
}

function severityChangedEvent(from: string, to: string, alert: IncidentAlert): TimelineEvent {
  return {
    at: toIso(alert.startsAt),
    kind: 'severity.changed',
    source: 'alertmanager',
    severity: to,
    summary: `Severity ${clip(from, NAME_CHARS)} → ${clip(to, NAME_CHARS)} (${clip(alert.alertname, NAME_CHARS)})`,
    relevance: 'high',
    links: [],
    details: {
      key: `severity:${from}:${to}`,
      from,
      to,
      alertname: alert.alertname,
      fingerprint: alert.fingerprint,
    },
  };
}

function sortedRecord(record: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => compareText(a, b)));
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
