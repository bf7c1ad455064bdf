import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../functions/shared/errors.js';
import {
  isoWeekOf,
  parseReportTime,
  previousIsoWeek,
  reportKey,
  reportWindow,
} from '../../../functions/weekly-report/window.js';

describe('Report window', () => {
  it.each([
    // 2026-12-31 is a Thursday: 2026 has 53 ISO weeks, and Jan 1-3 2027 still belong to 2026-W53.
    ['2026-12-28T00:00:00Z', '2026-W53'],
    ['2027-01-03T23:59:59Z', '2026-W53'],
    ['2027-01-04T00:00:00Z', '2027-W01'],
    // 2024-12-30 (Monday) starts 2025-W01: the date's year is not the week's.
    ['2024-12-30T08:00:00Z', '2025-W01'],
    ['2025-12-28T12:00:00Z', '2025-W52'],
    ['2026-12-06T07:00:00Z', '2026-W49'],
  ])('names %s the ISO week %s', (at, week) => {
    expect(isoWeekOf(new Date(at))).toBe(week);
  });

  it('covers the previous ISO week, Monday 00:00 to Monday 00:00 UTC, by default', () => {
    // Act: a Monday 08:00 run, as the default schedule makes it
    const window = reportWindow(new Date('2026-12-07T08:00:00Z'));

    // Assess
    expect(window).toEqual({
      from: new Date('2026-11-30T00:00:00Z'),
      to: new Date('2026-12-07T00:00:00Z'),
      isoWeek: '2026-W49',
    });
    expect(reportKey(window)).toBe('reports/2026-W49/report.pdf');
  });

  it('crosses the year boundary: the first run of 2027 reports 2026-W53, the next 2027-W01', () => {
    expect(previousIsoWeek(new Date('2027-01-04T08:00:00Z'))).toEqual({
      from: new Date('2026-12-28T00:00:00Z'),
      to: new Date('2027-01-04T00:00:00Z'),
      isoWeek: '2026-W53',
    });
    expect(previousIsoWeek(new Date('2027-01-11T08:00:00Z')).isoWeek).toBe('2027-W01');
  });

  it('reports the week before even when run on a Sunday night', () => {
    // 2026-12-06 is a Sunday: its own week is not over, so the week before it is reported.
    expect(previousIsoWeek(new Date('2026-12-06T23:30:00Z')).isoWeek).toBe('2026-W48');
  });

  it('takes --from and --to as now, a duration back, or an ISO date', () => {
    // Prepare
    const now = new Date('2026-12-06T10:00:00Z');

    // Act
    const window = reportWindow(now, { from: '-7d', to: 'now' });
    const dated = reportWindow(now, { from: '2026-11-01', to: '2026-11-08T12:00' });

    // Assess
    expect(window).toEqual({ from: new Date('2026-11-29T10:00:00Z'), to: now, isoWeek: '2026-W48' });
    expect(dated.from).toEqual(new Date('2026-11-01T00:00:00Z'));
    expect(dated.to).toEqual(new Date('2026-11-08T12:00:00Z'));
    expect(reportWindow(now, { to: '-1d' }).from).toEqual(new Date('2026-11-28T10:00:00Z'));
  });

  it('refuses a time it cannot read, an empty window and one longer than a quarter, saying which flag', () => {
    const now = new Date('2026-12-06T10:00:00Z');
    expect(() => parseReportTime('yesterday', now, '--from')).toThrow(
      /--from "yesterday" is not a time: use now, a duration back such as -7d/,
    );
    expect(() => reportWindow(now, { from: '-7x' })).toThrow(ValidationError);
    expect(() => reportWindow(now, { from: 'now', to: '-1h' })).toThrow(/--from .* must be before --to/);
    expect(() => reportWindow(now, { from: '-200d' })).toThrow(/at most 93 days/);
  });
});
