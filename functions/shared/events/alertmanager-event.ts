/** An Alertmanager notification as a toilless event. */
import { createHash } from 'node:crypto';
import type { AlertmanagerPayload } from './alertmanager.js';
import type { ToillessEvent } from './types.js';

/**
 * Wraps a validated payload. The id hashes what makes a notification distinct (group, status, and each
 * alert's fingerprint, status and times), so Alertmanager's re-sends of an unchanged group share it.
 */
export function toAlertNotification(
  payload: AlertmanagerPayload,
  receivedAt: Date,
): ToillessEvent<'AlertNotification'> {
  const time = receivedAt.toISOString();
  return {
    id: `alertmanager:${notificationDigest(payload)}`,
    type: 'AlertNotification',
    time,
    detail: { receivedAt: time, payload },
  };
}

/** sha256 (hex) over groupKey, status and the alerts' (fingerprint, status, startsAt, endsAt), order-free. */
export function notificationDigest(payload: AlertmanagerPayload): string {
  const alerts = payload.alerts
    .map((alert) => JSON.stringify([alert.fingerprint, alert.status, alert.startsAt, alert.endsAt]))
    .sort(compare);
  // JSON keeps field boundaries unambiguous: no value can forge a separator.
  return createHash('sha256')
    .update(JSON.stringify([payload.groupKey, payload.status, payload.truncatedAlerts, alerts]))
    .digest('hex');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
