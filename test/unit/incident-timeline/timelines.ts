/** Timelines for the tests of the worker's parts, decided by planNotification as the worker does it. */
import { type ChangingPlan, planNotification } from '../../../functions/incident-timeline/lifecycle.js';
import type { IncidentTimeline } from '../../../functions/incident-timeline/model.js';
import type { AlertmanagerPayload } from '../../../functions/shared/events/alertmanager.js';
import { capturedPayload, notificationOf } from './payloads.js';

export const DECIDED_AT = new Date('2026-11-28T08:45:00Z');

/** The plan of a group's first notification (the captured FastBurnRate delivery unless given). */
export async function openingPlan(
  payload?: AlertmanagerPayload,
  now = DECIDED_AT,
): Promise<Extract<ChangingPlan, { kind: 'open' }>> {
  const body = payload ?? (await capturedPayload('firing-fastburnrate.json'));
  const plan = planNotification({}, { id: notificationOf(body, now).id, payload: body }, now);
  if (plan.kind !== 'open') throw new Error(`expected the payload to open an incident, got ${plan.kind}`);
  return plan;
}

/** The timeline a group's first notification opens. */
export async function openedTimeline(payload?: AlertmanagerPayload): Promise<IncidentTimeline> {
  return (await openingPlan(payload)).timeline;
}
