import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type AlertmanagerPayload,
  alertmanagerPayloadSchema,
} from '../../../functions/shared/events/alertmanager.js';
import { toAlertNotification } from '../../../functions/shared/events/alertmanager-event.js';
import { parseWith } from '../../../functions/shared/validation.js';
import { validationErrorOf } from '../../support/expected-errors.js';

/** A captured payload that tests edit field by field. */
// biome-ignore lint/suspicious/noExplicitAny: deep JSON edited in place; a precise type would only restate Alertmanager's
type Payload = Record<string, any>;

const FIXTURES = [
  'firing-fastburnrate.json',
  'firing-grouped-node-warnings.json',
  'firing-truncated-max-alerts-1.json',
  'resolved-fastburnrate.json',
] as const;

/** The body of a delivery captured from Alertmanager 0.25, as a fresh object. */
function delivery(name: (typeof FIXTURES)[number]): Payload {
  const url = new URL(`../../fixtures/alertmanager/${name}`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')).body;
}

function parse(body: unknown): AlertmanagerPayload {
  return parseWith(alertmanagerPayloadSchema, body, 'Alertmanager payload');
}

const RECEIVED_AT = new Date('2026-11-28T08:40:00.123Z');

describe('Alertmanager notification', () => {
  it.each(FIXTURES)('parses the real delivery %s', (name) => {
    // Prepare
    const body = delivery(name);

    // Act
    const payload = parse(body);

    // Assess
    expect(payload.groupKey).toBe(body.groupKey);
    expect(payload.alerts).toHaveLength(body.alerts.length);
  });

  it('keeps the count of alerts Alertmanager left out', () => {
    // Prepare
    const body = delivery('firing-truncated-max-alerts-1.json');

    // Act
    const payload = parse(body);

    // Assess
    expect(payload.truncatedAlerts).toBe(1);
  });

  it('wraps the payload in an AlertNotification received at the given time', () => {
    // Prepare
    const payload = parse(delivery('firing-fastburnrate.json'));

    // Act
    const event = toAlertNotification(payload, RECEIVED_AT);

    // Assess
    expect(event.type).toBe('AlertNotification');
    expect(event.time).toBe('2026-11-28T08:40:00.123Z');
    expect(event.detail).toEqual({ receivedAt: '2026-11-28T08:40:00.123Z', payload });
    expect(event.id).toMatch(/^alertmanager:[0-9a-f]{64}$/);
  });

  it('gives a re-send of the same group the same id, whenever it arrives', () => {
    // Prepare
    const first = parse(delivery('firing-grouped-node-warnings.json'));
    const resent = parse(delivery('firing-grouped-node-warnings.json'));
    resent.alerts.reverse();

    // Act
    const a = toAlertNotification(first, RECEIVED_AT);
    const b = toAlertNotification(resent, new Date('2026-11-28T12:40:00Z'));

    // Assess
    expect(b.id).toBe(a.id);
  });

  it('gives the resolution of a group a different id from its firing', () => {
    // Prepare
    const firing = parse(delivery('firing-fastburnrate.json'));
    const resolved = parse(delivery('resolved-fastburnrate.json'));

    // Act
    const ids = [firing, resolved].map((payload) => toAlertNotification(payload, RECEIVED_AT).id);

    // Assess
    expect(firing.groupKey).toBe(resolved.groupKey);
    expect(ids[0]).not.toBe(ids[1]);
  });

  it('changes the id when an alert of the group changes', () => {
    // Prepare
    const before = parse(delivery('firing-grouped-node-warnings.json'));
    const after = parse(delivery('firing-grouped-node-warnings.json'));
    after.alerts[1]!.status = 'resolved';

    // Act
    const ids = [before, after].map((payload) => toAlertNotification(payload, RECEIVED_AT).id);

    // Assess
    expect(ids[0]).not.toBe(ids[1]);
  });

  it('names the alert field that is missing', () => {
    // Prepare
    const body = delivery('firing-grouped-node-warnings.json');
    delete body.alerts[1].fingerprint;

    // Act
    const error = validationErrorOf(() => parse(body));

    // Assess
    expect(error.issues.map((issue) => issue.path)).toEqual(['alerts.1.fingerprint']);
  });

  it('refuses a payload version it does not know, naming version', () => {
    // Prepare
    const body = { ...delivery('firing-fastburnrate.json'), version: '3' };

    // Act
    const error = validationErrorOf(() => parse(body));

    // Assess
    expect(error.issues).toEqual([
      { path: 'version', message: 'only Alertmanager webhook payload version "4" is supported' },
    ]);
  });

  it('refuses a notification without alerts', () => {
    // Prepare
    const body = { ...delivery('firing-fastburnrate.json'), alerts: [] };

    // Act
    const error = validationErrorOf(() => parse(body));

    // Assess
    expect(error.message).toContain('alerts: a notification carries at least one alert');
  });
});
