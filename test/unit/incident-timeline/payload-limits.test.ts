import { describe, expect, it } from 'vitest';
import type { IncidentAlert } from '../../../functions/incident-timeline/model.js';
import {
  checkAlertTimes,
  isUsableTime,
  payloadDurationMs,
} from '../../../functions/incident-timeline/payload-limits.js';
import type { Alert } from '../../../functions/shared/events/alertmanager.js';
import { fastBurnCritical, resolved } from './payloads.js';

const NOW = new Date('2026-11-28T08:45:00Z');
const unknown = () => undefined;

function known(alert: Partial<IncidentAlert>): (fingerprint: string) => IncidentAlert | undefined {
  return () => ({
    fingerprint: 'b3f4b4334fc7f969',
    alertname: 'FastBurnRate',
    status: 'firing',
    severity: 'critical',
    labels: {},
    annotations: {},
    startsAt: '2026-11-28T08:39:53.000Z',
    generatorURL: '',
    ...alert,
  });
}

describe('Limits on the times and durations of a payload', () => {
  describe('durations', () => {
    it('reads durations up to a year and nothing longer', () => {
      // Act & Assess
      expect(payloadDurationMs('5m')).toBe(300_000);
      expect(payloadDurationMs(' 1h30m ')).toBe(5_400_000);
      expect(payloadDurationMs('365d')).toBe(365 * 86_400_000);
      expect(payloadDurationMs('366d')).toBeUndefined();
      expect(payloadDurationMs('99999999999y')).toBeUndefined();
    });

    it('takes a missing, empty or malformed duration as unknown, without throwing', () => {
      // Act & Assess
      expect(payloadDurationMs(undefined)).toBeUndefined();
      expect(payloadDurationMs('  ')).toBeUndefined();
      expect(payloadDurationMs('five minutes')).toBeUndefined();
      expect(payloadDurationMs('-5m')).toBeUndefined();
    });
  });

  describe('times', () => {
    it('uses times from 2000 to a day ahead of the clock', () => {
      // Act & Assess
      expect(isUsableTime('2000-01-01T00:00:00Z', NOW)).toBe(true);
      expect(isUsableTime('1999-12-31T23:59:59Z', NOW)).toBe(false);
      expect(isUsableTime('0001-01-01T00:00:00Z', NOW)).toBe(false);
      expect(isUsableTime('2026-11-29T08:45:00Z', NOW)).toBe(true);
      expect(isUsableTime('2026-11-29T08:45:01Z', NOW)).toBe(false);
      expect(isUsableTime('not a time', NOW)).toBe(false);
    });
  });

  describe('checking the alerts of a notification', () => {
    it('passes usable alerts through as the same objects, with no notes', () => {
      // Prepare
      const alert = fastBurnCritical();

      // Act
      const checked = checkAlertTimes([alert], unknown, NOW);

      // Assess
      expect(checked.alerts[0]).toBe(alert);
      expect(checked.notes).toEqual([]);
    });

    it('replaces an unusable start by the processing time for a new alert, with a note naming the field', () => {
      // Prepare
      const alert = fastBurnCritical('3026-01-01T00:00:00Z');

      // Act
      const checked = checkAlertTimes([alert], unknown, NOW);

      // Assess
      expect(checked.alerts[0]?.startsAt).toBe(NOW.toISOString());
      expect(checked.notes).toEqual([
        {
          at: NOW.toISOString(),
          kind: 'note',
          source: 'alertmanager',
          summary:
            'FastBurnRate: startsAt "3026-01-01T00:00:00Z" is not a usable time (before 2000, or more than a day ahead): ignored, the time it was processed is used',
          relevance: 'normal',
          links: [],
          details: {
            key: 'note:startsAt:b3f4b4334fc7f969',
            fingerprint: 'b3f4b4334fc7f969',
            alertname: 'FastBurnRate',
            field: 'startsAt',
            value: '3026-01-01T00:00:00Z',
          },
        },
      ]);
    });

    it('keeps the start already recorded for a known alert', () => {
      // Act
      const checked = checkAlertTimes([fastBurnCritical('0001-01-01T00:00:00Z')], known({}), NOW);

      // Assess
      expect(checked.alerts[0]?.startsAt).toBe('2026-11-28T08:39:53.000Z');
      expect(checked.notes[0]?.summary).toMatch(/the start already recorded is kept$/);
    });

    it('keeps the recorded end of the same activation for a resolved alert with an unusable end', () => {
      // Prepare
      const alert = resolved(fastBurnCritical('2026-11-28T08:39:53.000Z'), 'garbage');

      // Act
      const checked = checkAlertTimes([alert], known({ endsAt: '2026-11-28T08:44:00.000Z' }), NOW);

      // Assess
      expect(checked.alerts[0]?.endsAt).toBe('2026-11-28T08:44:00.000Z');
      expect(checked.notes[0]?.summary).toMatch(/endsAt "garbage" .*the end already recorded is kept$/);
    });

    it('never lets a replaced end come before the start', () => {
      // Prepare: a start in the near future (allowed skew) and an unusable end replaced by now
      const alert = resolved(fastBurnCritical('2026-11-28T20:00:00.000Z'), '0001-01-01T00:00:00Z');

      // Act
      const checked = checkAlertTimes([alert], unknown, NOW);

      // Assess
      expect(checked.alerts[0]?.endsAt).toBe('2026-11-28T20:00:00.000Z');
    });

    it('leaves the end of a firing alert alone, as Alertmanager sends it unset', () => {
      // Prepare: firing alerts carry Go's zero time as endsAt
      const alert = fastBurnCritical();

      // Act
      const checked = checkAlertTimes([alert], unknown, NOW);

      // Assess
      expect(checked.alerts[0]?.endsAt).toBe('0001-01-01T00:00:00Z');
    });

    it('removes an unusable for annotation, quoting at most 64 characters of it', () => {
      // Prepare
      const alert: Alert = {
        ...fastBurnCritical(),
        annotations: { summary: 'kept', for: 'x'.repeat(500) },
      };

      // Act
      const checked = checkAlertTimes([alert], unknown, NOW);

      // Assess
      expect(checked.alerts[0]?.annotations).toEqual({ summary: 'kept' });
      expect(checked.notes[0]?.details).toMatchObject({ field: 'for', value: `${'x'.repeat(64)}…` });
      expect(checked.notes[0]?.summary).toContain('is not a duration of at most 365 days');
    });

    it('checks each alert on its own: one bad alert does not change the others', () => {
      // Prepare
      const good = fastBurnCritical();
      const bad = { ...fastBurnCritical('0001-01-01T00:00:00Z'), fingerprint: 'aaaa' };

      // Act
      const checked = checkAlertTimes([good, bad], unknown, NOW);

      // Assess
      expect(checked.alerts[0]).toBe(good);
      expect(checked.alerts[1]?.startsAt).toBe(NOW.toISOString());
      expect(checked.notes.map((note) => note.details.key)).toEqual(['note:startsAt:aaaa']);
    });
  });
});
