import { describe, expect, it } from 'vitest';
import {
  compareInstants,
  humanDuration,
  instantKey,
  msBetween,
  toIso,
  utcDate,
  utcDateTime,
  utcTime,
} from '../../../functions/incident-timeline/timestamps.js';

describe('Timeline timestamps', () => {
  it('orders two activations that differ only in nanoseconds, which Date cannot tell apart', () => {
    // Prepare
    const earlier = '2026-11-28T08:39:53.123456781Z';
    const later = '2026-11-28T08:39:53.123456789Z';

    // Act & Assess
    expect(Date.parse(earlier)).toBe(Date.parse(later));
    expect(compareInstants(earlier, later)).toBe(-1);
    expect(compareInstants(later, earlier)).toBe(1);
    expect(compareInstants(later, later)).toBe(0);
  });

  it('gives one key to one instant written with different offsets and precisions', () => {
    // Act & Assess
    expect(instantKey('2026-11-28T09:39:53.5+01:00')).toBe('2026-11-28T08:39:53.500000000Z');
    expect(instantKey('2026-11-28T08:39:53.500Z')).toBe('2026-11-28T08:39:53.500000000Z');
    expect(instantKey('2026-11-28T08:39:53Z')).toBe('2026-11-28T08:39:53.000000000Z');
  });

  it('refuses a text that is not a time, quoting it', () => {
    // Act & Assess
    expect(() => instantKey('yesterday')).toThrow(new RangeError('not an ISO 8601 time: "yesterday"'));
  });

  it('shows times in UTC for people', () => {
    // Act & Assess
    expect(toIso('2026-11-28T09:39:53+01:00')).toBe('2026-11-28T08:39:53.000Z');
    expect(utcTime('2026-11-28T08:39:53.999Z')).toBe('08:39:53 UTC');
    expect(utcDateTime('2026-11-29T00:30:00+01:00')).toBe('2026-11-28 23:30:00 UTC');
    expect(utcDate('2026-11-29T00:30:00+01:00')).toBe('2026-11-28');
  });

  it('writes durations in days, hours, minutes and whole seconds, never negative', () => {
    // Act & Assess
    expect(humanDuration(0)).toBe('0s');
    expect(humanDuration(1_499)).toBe('1s');
    expect(humanDuration(3_723_000)).toBe('1h 2m 3s');
    expect(humanDuration(86_400_000 + 60_000)).toBe('1d 1m');
    expect(humanDuration(-5_000)).toBe('0s');
    expect(msBetween('2026-11-28T08:00:00Z', '2026-11-28T08:01:30Z')).toBe(90_000);
  });
});
