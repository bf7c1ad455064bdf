/** How an incident is named and where it is stored. */
import { createHash } from 'node:crypto';
import type { AlertmanagerPayload } from '../shared/events/alertmanager.js';
import { toIso } from './timestamps.js';

/** Service name used when a group carries no `service` label. */
export const UNKNOWN_SERVICE = 'unknown';

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * `<yyyymmddThhmm of the first startsAt, UTC>-<service>-<8 hex of sha256(groupKey + first startsAt)>`:
 * readable in a listing, URL- and key-safe, and the same for every copy of the notification that opens it.
 */
export function incidentIdFor(groupKey: string, firstStartsAt: string, service: string): string {
  const iso = toIso(firstStartsAt);
  const minute = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}`;
  return `${minute}-${serviceSlug(service)}-${sha256(groupKey + iso).slice(0, 8)}`;
}

/** Lower-case letters, digits and dashes, at most 40 characters. */
export function serviceSlug(service: string): string {
  const slug = service
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return slug === '' ? UNKNOWN_SERVICE : slug;
}

/** The group's `service` label, else the one all its alerts share, else the first alert's. */
export function serviceOf(payload: AlertmanagerPayload): string {
  return (
    payload.groupLabels.service ??
    payload.commonLabels.service ??
    payload.alerts.find((alert) => alert.labels.service)?.labels.service ??
    UNKNOWN_SERVICE
  );
}

export function timelineKey(incidentId: string): string {
  return `incidents/${incidentId}/timeline.json`;
}

export function markdownKey(incidentId: string): string {
  return `incidents/${incidentId}/timeline.md`;
}

/** Keyed by a hash: group keys hold braces, quotes and slashes that do not belong in store keys. */
export function groupPointerKey(groupKey: string): string {
  return `incidents/groups/${sha256(groupKey)}.json`;
}
