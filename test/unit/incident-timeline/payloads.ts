/** Alertmanager payloads for the incident timeline tests: the captured deliveries and variations of them. */
import { readFile } from 'node:fs/promises';
import {
  type Alert,
  type AlertmanagerPayload,
  alertmanagerPayloadSchema,
} from '../../../functions/shared/events/alertmanager.js';
import { toAlertNotification } from '../../../functions/shared/events/alertmanager-event.js';
import type { ToillessEvent } from '../../../functions/shared/events/types.js';

/** The body of a delivery captured from Alertmanager 0.25 (test/fixtures/alertmanager/). */
export async function capturedPayload(name: string): Promise<AlertmanagerPayload> {
  const text = await readFile(new URL(`../../fixtures/alertmanager/${name}`, import.meta.url), 'utf8');
  return alertmanagerPayloadSchema.parse(JSON.parse(text).body);
}

/** The AlertNotification the intake publishes for a payload. */
export function notificationOf(
  payload: AlertmanagerPayload,
  receivedAt = new Date('2026-11-28T08:45:00Z'),
): ToillessEvent<'AlertNotification'> {
  return toAlertNotification(payload, receivedAt);
}

/** The same group with every alert resolved at `endsAt`, as Alertmanager sends it once all ended. */
export function resolvedAll(payload: AlertmanagerPayload, endsAt: string): AlertmanagerPayload {
  return {
    ...payload,
    status: 'resolved',
    alerts: payload.alerts.map((alert) => ({ ...alert, status: 'resolved', endsAt })),
  };
}

/** The group with the given alerts; the payload status follows them as Alertmanager computes it. */
export function withAlerts(payload: AlertmanagerPayload, alerts: readonly Alert[]): AlertmanagerPayload {
  return {
    ...payload,
    status: alerts.some((alert) => alert.status === 'firing') ? 'firing' : 'resolved',
    alerts: [...alerts],
  };
}

/** One group by service only, so that a warning and a critical of sample-app land in it together. */
export const SAMPLE_APP_GROUP = '{}:{service="sample-app"}';

export function slowBurnWarning(startsAt = '2026-11-28T08:30:00Z'): Alert {
  return {
    status: 'firing',
    labels: { alertname: 'SlowBurnRate', service: 'sample-app', severity: 'warning', slo: 'availability' },
    annotations: {
      summary: 'sample-app is burning its error budget 3x too fast',
      runbook_url: 'runbooks/slow-burn-rate.md',
      dashboard_url: '/d/slo-error-budget/slo-error-budget?var-service=sample-app',
    },
    startsAt,
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus:9090/graph?g0.expr=slow',
    fingerprint: '5e1a9c0d2b7f4e31',
  };
}

export function fastBurnCritical(startsAt = '2026-11-28T08:39:53Z'): Alert {
  return {
    status: 'firing',
    labels: { alertname: 'FastBurnRate', service: 'sample-app', severity: 'critical', slo: 'availability' },
    annotations: {
      summary: 'sample-app is burning its error budget 20x too fast',
      runbook_url: 'runbooks/fast-burn-rate.md',
    },
    startsAt,
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus:9090/graph?g0.expr=fast',
    fingerprint: 'b3f4b4334fc7f969',
  };
}

export function resolved(alert: Alert, endsAt: string): Alert {
  return { ...alert, status: 'resolved', endsAt };
}

/** A sample-app group keyed by service only, carrying `alerts`. */
export async function sampleAppGroup(alerts: readonly Alert[]): Promise<AlertmanagerPayload> {
  const base = await capturedPayload('firing-fastburnrate.json');
  return withAlerts(
    {
      ...base,
      groupKey: SAMPLE_APP_GROUP,
      groupLabels: { service: 'sample-app' },
      commonLabels: { service: 'sample-app' },
      commonAnnotations: {},
    },
    alerts,
  );
}
