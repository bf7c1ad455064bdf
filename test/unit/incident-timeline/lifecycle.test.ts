import { describe, expect, it } from 'vitest';
import { groupPointerKey, incidentIdFor } from '../../../functions/incident-timeline/incident-identity.js';
import {
  type AlertNotificationInput,
  type GroupState,
  MAX_APPLIED_NOTIFICATIONS,
  type NotificationPlan,
  planNotification,
} from '../../../functions/incident-timeline/lifecycle.js';
import type { IncidentTimeline } from '../../../functions/incident-timeline/model.js';
import { worseSeverity } from '../../../functions/incident-timeline/severity.js';
import type { AlertmanagerPayload } from '../../../functions/shared/events/alertmanager.js';
import {
  capturedPayload,
  fastBurnCritical,
  notificationOf,
  resolved,
  resolvedAll,
  sampleAppGroup,
  slowBurnWarning,
} from './payloads.js';

const NOW = new Date('2026-11-28T08:45:00Z');

function input(payload: AlertmanagerPayload): AlertNotificationInput {
  return { id: notificationOf(payload).id, payload };
}

/** The timeline a changing plan leads to; fails the test when the plan changes nothing. */
function timelineOf(plan: NotificationPlan): IncidentTimeline {
  if (plan.kind === 'unchanged') throw new Error(`expected a change, got unchanged (${plan.reason})`);
  return plan.timeline;
}

/** Applies the payloads in order, as the worker would store them. */
function applyAll(payloads: readonly AlertmanagerPayload[]): {
  state: GroupState;
  plans: NotificationPlan[];
} {
  let state: GroupState = {};
  const plans: NotificationPlan[] = [];
  for (const payload of payloads) {
    const plan = planNotification(state, input(payload), NOW);
    plans.push(plan);
    if (plan.kind === 'open') state = { pointer: plan.pointer, current: plan.timeline };
    if (plan.kind === 'update') state = { ...state, current: plan.timeline };
  }
  return { state, plans };
}

describe('Incident identity', () => {
  it('names an incident by the minute of its first alert, its service and a hash of group and start', () => {
    // Act
    const id = incidentIdFor(
      '{}:{service="sample-app", severity="critical"}',
      '2026-11-28T08:39:53Z',
      'sample-app',
    );

    // Assess
    expect(id).toMatch(/^20261128T0839-sample-app-[0-9a-f]{8}$/);
    expect(
      incidentIdFor(
        '{}:{service="sample-app", severity="critical"}',
        '2026-11-28T08:39:53.000Z',
        'sample-app',
      ),
    ).toBe(id);
    expect(incidentIdFor('{}:{service="sample-app"}', '2026-11-28T08:39:53Z', 'sample-app')).not.toBe(id);
  });

  it('keeps ids and pointer keys URL- and store-safe whatever the labels hold', () => {
    // Act
    const id = incidentIdFor('{}/{a="b"}:{c="d"}', '2026-11-28T08:39:53Z', 'Payments / EU (prod)');
    const key = groupPointerKey('{}/{a="b"}:{c="d"}');

    // Assess
    expect(id).toMatch(/^20261128T0839-payments-eu-prod-[0-9a-f]{8}$/);
    expect(key).toMatch(/^incidents\/groups\/[0-9a-f]{64}\.json$/);
  });
});

describe('Incident lifecycle', () => {
  it('opens an incident from the first firing notification of a group', async () => {
    // Prepare
    const payload = await capturedPayload('firing-fastburnrate.json');

    // Act
    const plan = planNotification({}, input(payload), NOW);

    // Assess
    expect(plan.kind).toBe('open');
    const timeline = timelineOf(plan);
    expect(timeline).toMatchObject({
      status: 'open',
      title: 'FastBurnRate on sample-app',
      service: 'sample-app',
      severity: 'critical',
      startedAt: '2026-11-28T08:39:53.000Z',
      onset: '2026-11-28T08:39:38.000Z',
      groupKey: payload.groupKey,
    });
    expect(timeline.events.map((event) => event.kind)).toEqual(['alert.firing']);
  });

  it('changes nothing for a notification it already applied', async () => {
    // Prepare
    const payload = await capturedPayload('firing-fastburnrate.json');
    const { state } = applyAll([payload]);

    // Act
    const plan = planNotification(state, input(payload), NOW);

    // Assess
    expect(plan).toEqual({ kind: 'unchanged', reason: 'already applied', incidentId: state.current?.id });
  });

  it("changes nothing for a resend whose only difference is the firing alert's ValidUntil", async () => {
    // Prepare
    const payload = await capturedPayload('firing-fastburnrate.json');
    const { state } = applyAll([payload]);
    const resend = {
      ...payload,
      alerts: payload.alerts.map((alert) => ({ ...alert, endsAt: '2026-11-28T08:50:00Z' })),
    };

    // Act
    const plan = planNotification(state, input(resend), NOW);

    // Assess
    expect(input(resend).id).not.toBe(input(payload).id);
    expect(plan).toMatchObject({ kind: 'unchanged', reason: 'no change' });
  });

  it('does not roll back: a firing copy arriving after the resolution of the same activation is stale', async () => {
    // Prepare
    const firing = await capturedPayload('firing-fastburnrate.json');
    const resolvedPayload = await capturedPayload('resolved-fastburnrate.json');
    const { state } = applyAll([resolvedPayload]);

    // Act
    const plan = planNotification(state, input(firing), NOW);

    // Assess
    expect(state.current?.status).toBe('resolved');
    expect(plan).toMatchObject({ kind: 'unchanged', reason: 'stale' });
  });

  it('records the firing it never saw when the first notification of a group is already resolved', async () => {
    // Prepare
    const resolvedPayload = await capturedPayload('resolved-fastburnrate.json');

    // Act
    const timeline = timelineOf(planNotification({}, input(resolvedPayload), NOW));

    // Assess
    expect(timeline.status).toBe('resolved');
    expect(timeline.resolvedAt).toBe('2026-11-28T08:43:01.000Z');
    expect(timeline.events.map((event) => [event.kind, event.at])).toEqual([
      ['alert.firing', '2026-11-28T08:39:53.000Z'],
      ['alert.resolved', '2026-11-28T08:43:01.000Z'],
    ]);
  });

  it('keeps an older resolve from ending a newer activation of the same alert', async () => {
    // Prepare
    const first = fastBurnCritical('2026-11-28T08:00:00Z');
    const second = fastBurnCritical('2026-11-28T08:20:00Z');
    const { state } = applyAll([await sampleAppGroup([second])]);

    // Act
    const plan = planNotification(
      state,
      input(await sampleAppGroup([resolved(first, '2026-11-28T08:10:00Z')])),
      NOW,
    );

    // Assess
    expect(plan).toMatchObject({ kind: 'unchanged', reason: 'no change' });
  });

  it('resolves when every alert of the group resolved, at the latest endsAt', async () => {
    // Prepare
    const payload = await capturedPayload('firing-grouped-node-warnings.json');
    const [cpu, memory] = payload.alerts as [(typeof payload.alerts)[0], (typeof payload.alerts)[0]];
    const cpuResolved = { ...payload, alerts: [resolved(cpu, '2026-11-28T08:50:00Z'), memory] };
    const bothResolved = resolvedAll(payload, '2026-11-28T08:55:00Z');

    // Act
    const { plans } = applyAll([payload, cpuResolved, bothResolved]);

    // Assess
    expect(plans.map((plan) => timelineOf(plan).status)).toEqual(['open', 'open', 'resolved']);
    expect(timelineOf(plans[2] as NotificationPlan).resolvedAt).toBe('2026-11-28T08:55:00.000Z');
    expect(timelineOf(plans[0] as NotificationPlan).title).toBe('HighCPUWarning, HighMemoryWarning on node');
  });

  it('does not resolve on a resolved payload that left out alerts, and resolves on a complete one', async () => {
    // Prepare
    const truncated = await capturedPayload('firing-truncated-max-alerts-1.json');
    const truncatedResolved = resolvedAll(truncated, '2026-11-28T08:50:00Z');
    const [carried] = truncatedResolved.alerts;
    const leftOut = {
      ...(carried as (typeof truncatedResolved.alerts)[0]),
      labels: { ...carried?.labels, instance: 'https://pay.example/health' },
      fingerprint: '7c2e0a5b9d14f683',
      endsAt: '2026-11-28T08:52:00Z',
    };
    const completeResolved = {
      ...truncatedResolved,
      truncatedAlerts: 0,
      alerts: [...truncatedResolved.alerts, leftOut],
    };

    // Act
    const { plans } = applyAll([truncated, truncatedResolved, completeResolved]);

    // Assess
    const [opened, stillOpen, closed] = plans.map(timelineOf);
    expect(opened?.truncatedAlerts).toBe(1);
    expect(stillOpen?.status).toBe('open');
    expect(stillOpen?.alerts.every((alert) => alert.status === 'resolved')).toBe(true);
    expect(closed?.status).toBe('resolved');
    expect(closed?.truncatedAlerts).toBe(0);
    expect(closed?.resolvedAt).toBe('2026-11-28T08:52:00.000Z');
  });

  it('records an escalation as severity.changed and never downgrades the incident', async () => {
    // Prepare
    const warning = slowBurnWarning();
    const critical = fastBurnCritical();
    const payloads = [
      await sampleAppGroup([warning]),
      await sampleAppGroup([warning, critical]),
      await sampleAppGroup([warning, resolved(critical, '2026-11-28T08:44:00Z')]),
    ];

    // Act
    const { plans } = applyAll(payloads);

    // Assess
    const [first, escalated, deescalated] = plans.map(timelineOf);
    expect(first?.severity).toBe('warning');
    expect(escalated?.severity).toBe('critical');
    expect(deescalated?.severity).toBe('critical');
    const changes = deescalated?.events.filter((event) => event.kind === 'severity.changed');
    expect(changes).toEqual([
      expect.objectContaining({
        at: '2026-11-28T08:39:53.000Z',
        details: expect.objectContaining({ from: 'warning', to: 'critical' }),
      }),
    ]);
    expect(plans[1]).toMatchObject({ changes: { severity: { from: 'warning', to: 'critical' } } });
  });

  it('ranks unknown severities below none, and none below info', () => {
    // Act / Assess
    expect(worseSeverity('page', 'none')).toBe('none');
    expect(worseSeverity('none', 'info')).toBe('info');
    expect(worseSeverity('error', 'warning')).toBe('error');
    expect(worseSeverity('critical', 'error')).toBe('critical');
    expect(worseSeverity('page', 'ticket')).toBe('page');
  });

  it('opens a new incident linked to the previous one when the group fires again after resolving', async () => {
    // Prepare
    const firing = await capturedPayload('firing-fastburnrate.json');
    const resolvedPayload = await capturedPayload('resolved-fastburnrate.json');
    const refire = {
      ...firing,
      alerts: firing.alerts.map((alert) => ({ ...alert, startsAt: '2026-11-28T09:10:00Z' })),
    };

    // Act
    const { plans } = applyAll([firing, resolvedPayload, refire]);

    // Assess
    const [opened, closed, reopened] = plans;
    expect(reopened?.kind).toBe('open');
    const next = timelineOf(reopened as NotificationPlan);
    expect(next.id).not.toBe(timelineOf(opened as NotificationPlan).id);
    expect(next.id).toMatch(/^20261128T0910-sample-app-/);
    expect(next.previousIncidentId).toBe(timelineOf(closed as NotificationPlan).id);
    expect(next.openedAfter).toBe('2026-11-28T08:43:01.000Z');
    expect(next.startedAt).toBe('2026-11-28T09:10:00.000Z');
    expect(reopened).toMatchObject({
      pointer: { incidentId: next.id, previousIncidentId: next.previousIncidentId },
    });
  });

  it('keeps a late copy of the previous incident out of the new one', async () => {
    // Prepare
    const firing = await capturedPayload('firing-fastburnrate.json');
    const refire = {
      ...firing,
      alerts: firing.alerts.map((alert) => ({ ...alert, startsAt: '2026-11-28T09:10:00Z' })),
    };
    const { state } = applyAll([firing, await capturedPayload('resolved-fastburnrate.json'), refire]);

    // Act
    const plan = planNotification(state, input(firing), NOW);

    // Assess
    expect(plan).toMatchObject({ kind: 'unchanged', reason: 'no change' });
  });

  it('estimates the onset from a `for` annotation when the alert carries one', async () => {
    // Prepare
    const alert = { ...fastBurnCritical(), annotations: { ...fastBurnCritical().annotations, for: '2m' } };

    // Act
    const timeline = timelineOf(planNotification({}, input(await sampleAppGroup([alert])), NOW));

    // Assess
    expect(timeline.onset).toBe('2026-11-28T08:37:38.000Z');
  });

  it('applies a copy whose only difference is that it left out fewer alerts', async () => {
    // Prepare
    const truncated = await capturedPayload('firing-truncated-max-alerts-1.json');
    const truncatedResolved = resolvedAll(truncated, '2026-11-28T08:50:00Z');
    const { state } = applyAll([truncated, truncatedResolved]);

    // Act
    const plan = planNotification(state, input({ ...truncatedResolved, truncatedAlerts: 0 }), NOW);

    // Assess
    expect(timelineOf(plan).status).toBe('resolved');
  });

  it('remembers a bounded number of applied notifications', async () => {
    // Prepare
    const payloads: AlertmanagerPayload[] = [];
    for (let minute = 10; minute < 10 + MAX_APPLIED_NOTIFICATIONS + 5; minute++) {
      const startsAt = `2026-11-28T${String(8 + Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}:00Z`;
      payloads.push(await sampleAppGroup([slowBurnWarning(startsAt)]));
    }

    // Act
    const { state } = applyAll(payloads);

    // Assess
    expect(state.current?.appliedNotifications).toHaveLength(MAX_APPLIED_NOTIFICATIONS);
    expect(state.current?.appliedNotifications.at(-1)).toBe(input(payloads.at(-1) as AlertmanagerPayload).id);
  });
});
