/**
 * Bounds on what a notification's alerts say about time. Everything in a payload is attacker-controlled,
 * so a time or duration is used only when it is finite and sane; anything else is treated as unknown,
 * the rest of the notification is still applied, and the timeline carries a note saying what was dropped.
 */

import { parseDurationMs } from '../shared/duration.js';
import type { Alert } from '../shared/events/alertmanager.js';
import type { IncidentAlert, TimelineEvent } from './model.js';

/** The longest `for` (or any duration) read from a payload: no alert rule waits longer. */
export const MAX_PAYLOAD_DURATION_MS = 365 * 86_400_000;
/** Payload times before this are not real alert times (Go's zero time is 0001-01-01). */
export const EARLIEST_PAYLOAD_TIME_MS = Date.UTC(2000, 0, 1);
/** How far ahead of our clock a payload time may be (clock skew between Prometheus and us). */
export const MAX_FUTURE_SKEW_MS = 86_400_000;
/** Values quoted in notes are cut to this length. */
const MAX_QUOTED = 64;

/** A duration from a payload, at most MAX_PAYLOAD_DURATION_MS; undefined when absent or unusable. */
export function payloadDurationMs(text: string | undefined): number | undefined {
  const value = text?.trim();
  if (!value) return undefined;
  try {
    return parseDurationMs(value, { maxMs: MAX_PAYLOAD_DURATION_MS });
  } catch {
    return undefined;
  }
}

/** Whether a payload time is one the timeline can use: a real instant from 2000 to a day ahead of `now`. */
export function isUsableTime(timestamp: string, now: Date): boolean {
  const ms = Date.parse(timestamp);
  return Number.isFinite(ms) && ms >= EARLIEST_PAYLOAD_TIME_MS && ms <= now.getTime() + MAX_FUTURE_SKEW_MS;
}

export interface CheckedAlerts {
  /** The alerts with unusable times replaced and unusable annotations removed. */
  readonly alerts: readonly Alert[];
  /** One note per field that was dropped or replaced. */
  readonly notes: readonly TimelineEvent[];
}

/**
 * The alerts with their times and durations checked. An unusable startsAt becomes the one the incident
 * already knows for the alert, else `now`; an unusable endsAt of a resolved alert the known one of the
 * same activation, else `now`; an unusable `for` annotation is removed.
 */
export function checkAlertTimes(
  alerts: readonly Alert[],
  known: (fingerprint: string) => IncidentAlert | undefined,
  now: Date,
): CheckedAlerts {
  const notes: TimelineEvent[] = [];
  const checked = alerts.map((alert) => {
    const alertname = alert.labels.alertname ?? 'unnamed';
    const note = (field: string, value: string, consequence: string) =>
      notes.push(dropNote(alert.fingerprint, alertname, field, value, consequence, now));
    const previous = known(alert.fingerprint);
    let { startsAt, endsAt } = alert;
    let annotations = alert.annotations;
    if (!isUsableTime(startsAt, now)) {
      note(
        'startsAt',
        startsAt,
        previous ? 'the start already recorded is kept' : 'the time it was processed is used',
      );
      startsAt = previous?.startsAt ?? now.toISOString();
    }
    if (alert.status === 'resolved' && !isUsableTime(endsAt, now)) {
      const sameActivation = previous?.endsAt !== undefined && previous.startsAt === startsAt;
      note(
        'endsAt',
        endsAt,
        sameActivation ? 'the end already recorded is kept' : 'the time it was processed is used',
      );
      endsAt = sameActivation && previous?.endsAt !== undefined ? previous.endsAt : now.toISOString();
      if (Date.parse(endsAt) < Date.parse(startsAt)) endsAt = startsAt;
    }
    const forText = annotations.for;
    if (forText !== undefined && forText.trim() !== '' && payloadDurationMs(forText) === undefined) {
      note('for', forText, 'the onset is estimated without it');
      const { for: _dropped, ...rest } = annotations;
      annotations = rest;
    }
    return startsAt === alert.startsAt && endsAt === alert.endsAt && annotations === alert.annotations
      ? alert
      : { ...alert, startsAt, endsAt, annotations };
  });
  return { alerts: checked, notes };
}

function dropNote(
  fingerprint: string,
  alertname: string,
  field: string,
  value: string,
  consequence: string,
  now: Date,
): TimelineEvent {
  const what =
    field === 'for'
      ? `is not a duration of at most ${MAX_PAYLOAD_DURATION_MS / 86_400_000} days`
      : 'is not a usable time (before 2000, or more than a day ahead)';
  return {
    at: now.toISOString(),
    kind: 'note',
    source: 'alertmanager',
    summary: `${alertname}: ${field} ${JSON.stringify(quoted(value))} ${what}: ignored, ${consequence}`,
    relevance: 'normal',
    links: [],
    details: { key: `note:${field}:${fingerprint}`, fingerprint, alertname, field, value: quoted(value) },
  };
}

function quoted(value: string): string {
  return value.length > MAX_QUOTED ? `${value.slice(0, MAX_QUOTED)}…` : value;
}
