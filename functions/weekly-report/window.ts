/**
 * The time range a report covers: by default the previous ISO week (Monday 00:00 to Monday 00:00 UTC),
 * or what `toilless report --from/--to` asks for. Pure: the caller passes the time.
 */
import { parseDurationMs } from '../shared/duration.js';
import { ValidationError } from '../shared/errors.js';
import type { ReportWindow } from './model.js';

const DAY_MS = 86_400_000;
/** Longer than a quarter is no weekly report: a range query of it would also be too coarse to read. */
const MAX_WINDOW_MS = 93 * DAY_MS;

/** The ISO 8601 week of a UTC instant, as in the store key: "2026-W49" (the year is the week's, not the date's). */
export function isoWeekOf(at: Date): string {
  const day = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  // The Thursday of this week decides the year and the week number.
  day.setUTCDate(day.getUTCDate() + 4 - weekday);
  const year = day.getUTCFullYear();
  const week = Math.ceil(((day.getTime() - Date.UTC(year, 0, 1)) / DAY_MS + 1) / 7);
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/** Monday 00:00 UTC of the ISO week that holds `at`. */
export function isoWeekStart(at: Date): Date {
  const midnight = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate());
  const weekday = new Date(midnight).getUTCDay() || 7;
  return new Date(midnight - (weekday - 1) * DAY_MS);
}

/** The whole ISO week before the one `now` falls in. */
export function previousIsoWeek(now: Date): ReportWindow {
  const to = isoWeekStart(now);
  const from = new Date(to.getTime() - 7 * DAY_MS);
  return { from, to, isoWeek: isoWeekOf(from) };
}

/** The store key of a report: reports/<yyyy>-W<ww>/report.pdf. */
export function reportKey(window: ReportWindow): string {
  return `reports/${window.isoWeek}/report.pdf`;
}

/**
 * A time as the CLI takes it: "now", a duration back from now ("-7d", "-36h"), or an ISO 8601 date or
 * date-time ("2026-11-30", "2026-11-30T08:00:00Z"; a date alone is midnight UTC).
 */
export function parseReportTime(text: string, now: Date, flag: string): Date {
  const trimmed = text.trim();
  if (trimmed === 'now') return now;
  if (trimmed.startsWith('-')) {
    try {
      return new Date(now.getTime() - parseDurationMs(trimmed.slice(1)));
    } catch (error) {
      throw invalid(flag, text, (error as Error).message);
    }
  }
  if (/^\d{4}-\d{2}-\d{2}(?:T[\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/.test(trimmed)) {
    const date = new Date(
      /T/.test(trimmed) && !/(Z|[+-]\d{2}:?\d{2})$/.test(trimmed) ? `${trimmed}Z` : trimmed,
    );
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw invalid(flag, text, 'use now, a duration back such as -7d, or an ISO date such as 2026-11-30');
}

function invalid(flag: string, text: string, why: string): ValidationError {
  const shown = JSON.stringify(text.slice(0, 64));
  return new ValidationError(`${flag} ${shown} is not a time: ${why}`, [{ path: flag, message: why }]);
}

/**
 * The window of a run: the previous ISO week when neither end is given; otherwise `from` (default 7
 * days before `to`) to `to` (default now). Named after the ISO week `from` falls in.
 */
export function reportWindow(
  now: Date,
  request: { readonly from?: string; readonly to?: string } = {},
): ReportWindow {
  if (request.from === undefined && request.to === undefined) return previousIsoWeek(now);
  const to = request.to === undefined ? now : parseReportTime(request.to, now, '--to');
  const from =
    request.from === undefined
      ? new Date(to.getTime() - 7 * DAY_MS)
      : parseReportTime(request.from, now, '--from');
  if (from.getTime() >= to.getTime()) {
    throw new ValidationError(`--from (${from.toISOString()}) must be before --to (${to.toISOString()})`, [
      { path: '--from', message: 'after --to' },
    ]);
  }
  if (to.getTime() - from.getTime() > MAX_WINDOW_MS) {
    throw new ValidationError('a report covers at most 93 days: narrow --from/--to', [
      { path: '--from', message: 'window longer than 93 days' },
    ]);
  }
  return { from, to, isoWeek: isoWeekOf(from) };
}
