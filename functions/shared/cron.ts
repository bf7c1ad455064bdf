/**
 * Cron schedules as operators write them in toilless.yaml: the familiar five fields (minute, hour,
 * day of month, month, day of week) in an IANA time zone. The one place they are read: the CDK stack
 * turns them into EventBridge Scheduler's six-field `cron(...)`, the local runtime asks for the next run.
 * Runtime-free (lib/ imports it at synth).
 *
 * The two syntaxes differ where it hurts: EventBridge numbers days of the week 1-7 from Sunday (cron:
 * 0-7, 0 and 7 both Sunday), wants `?` in one of the two day fields and has a year field. Days of the
 * week are therefore written as names in the EventBridge form, never as numbers.
 */

export interface CronSchedule {
  /** The expression as written, e.g. "0 8 * * 1". */
  readonly expression: string;
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly daysOfMonth: readonly number[];
  readonly months: readonly number[];
  /** 0 = Sunday ... 6 = Saturday (7 is read as 0). */
  readonly daysOfWeek: readonly number[];
  /** The day fields as written were `*`: cron matches a day when both match, else when either does. */
  readonly anyDayOfMonth: boolean;
  readonly anyDayOfWeek: boolean;
}

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Names for values, starting at `min` (months) or 0 (days of the week). */
  readonly names?: readonly string[];
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTH_NAMES },
  { name: 'day of week', min: 0, max: 7, names: DAY_NAMES },
];

/** Parses a five-field cron expression; throws a RangeError naming the field that is wrong. */
export function parseCron(expression: string): CronSchedule {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) {
    throw new RangeError(
      `cron "${expression}": expected five fields (minute hour day-of-month month day-of-week), e.g. "0 8 * * 1" for Mondays 08:00`,
    );
  }
  const values = parts.map((part, index) => parseField(part, FIELDS[index] as FieldSpec, expression));
  const [minutes, hours, daysOfMonth, months, rawDaysOfWeek] = values as [
    number[],
    number[],
    number[],
    number[],
    number[],
  ];
  const daysOfWeek = [...new Set(rawDaysOfWeek.map((day) => day % 7))].sort((a, b) => a - b);
  return {
    expression: parts.join(' '),
    minutes,
    hours,
    daysOfMonth,
    months,
    daysOfWeek,
    anyDayOfMonth: parts[2] === '*' || parts[2] === '?',
    anyDayOfWeek: parts[4] === '*' || parts[4] === '?',
  };
}

function parseField(text: string, spec: FieldSpec, expression: string): number[] {
  const fail = (why: string): never => {
    throw new RangeError(`cron "${expression}": ${spec.name} "${text}" ${why}`);
  };
  const value = (token: string): number => {
    const named = spec.names?.indexOf(token.toUpperCase()) ?? -1;
    if (named >= 0) return spec.names === MONTH_NAMES ? named + 1 : named;
    if (!/^\d+$/.test(token)) fail(`is not a number${spec.names ? ' or a name' : ''}`);
    const number = Number(token);
    if (number < spec.min || number > spec.max) fail(`is outside ${spec.min}-${spec.max}`);
    return number;
  };
  const result = new Set<number>();
  for (const item of text.split(',')) {
    const [range = '', stepText] = item.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) fail('has a step that is not a positive whole number');
    let from: number;
    let to: number;
    if (range === '*' || (range === '?' && spec.name.startsWith('day'))) {
      from = spec.min;
      to = spec.max;
    } else if (range.includes('-')) {
      const [a = '', b = ''] = range.split('-');
      from = value(a);
      to = value(b);
      if (from > to) fail('is a range that ends before it starts');
    } else {
      from = value(range);
      to = stepText === undefined ? from : spec.max;
    }
    for (let v = from; v <= to; v += step) result.add(v);
  }
  return [...result].sort((a, b) => a - b);
}

/**
 * The EventBridge Scheduler form, `cron(minutes hours day-of-month month day-of-week year)` without
 * `cron( )`. EventBridge cannot say "this day of month or this weekday" (cron's rule when both are
 * restricted): that is refused with what to write instead.
 */
export function eventBridgeCron(schedule: CronSchedule): string {
  const [minute, hour, dayOfMonth, month] = schedule.expression.split(' ') as [
    string,
    string,
    string,
    string,
  ];
  if (!schedule.anyDayOfMonth && !schedule.anyDayOfWeek) {
    throw new RangeError(
      `cron "${schedule.expression}": EventBridge Scheduler cannot run on a day of the month OR a day of the week: restrict only one of the two day fields`,
    );
  }
  const dayOfWeek = schedule.anyDayOfWeek
    ? '?'
    : schedule.daysOfWeek.map((day) => DAY_NAMES[day] as string).join(',');
  return [
    minute,
    hour,
    schedule.anyDayOfWeek ? dayOfMonth.replace('?', '*') : '?',
    month,
    dayOfWeek,
    '*',
  ].join(' ');
}

/** Throws a RangeError when `timeZone` is not an IANA zone name this runtime knows. */
export function assertTimeZone(timeZone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw new RangeError(`time zone "${timeZone}" is not an IANA zone name such as UTC or Europe/Berlin`);
  }
}

interface WallClock {
  readonly month: number;
  readonly day: number;
  readonly weekday: number;
  readonly hour: number;
  readonly minute: number;
}

const WEEKDAYS: Readonly<Record<string, number>> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

function wallClock(format: Intl.DateTimeFormat, at: Date): WallClock {
  const parts: Record<string, string> = {};
  for (const part of format.formatToParts(at)) parts[part.type] = part.value;
  return {
    month: Number(parts.month),
    day: Number(parts.day),
    weekday: WEEKDAYS[parts.weekday as string] as number,
    hour: Number(parts.hour) % 24,
    minute: Number(parts.minute),
  };
}

/**
 * The first minute after `after` at which the schedule fires in `timeZone`, as EventBridge Scheduler
 * would run it (wall-clock times a DST change skips are skipped). Undefined when none within 366 days.
 */
export function nextCronRun(schedule: CronSchedule, timeZone: string, after: Date): Date | undefined {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    month: 'numeric',
    day: 'numeric',
    weekday: 'short',
    hour: 'numeric',
    minute: 'numeric',
  });
  const dayMatches = (clock: WallClock) => {
    const byMonthDay = schedule.daysOfMonth.includes(clock.day);
    const byWeekday = schedule.daysOfWeek.includes(clock.weekday);
    if (schedule.anyDayOfMonth && schedule.anyDayOfWeek) return true;
    if (schedule.anyDayOfMonth) return byWeekday;
    if (schedule.anyDayOfWeek) return byMonthDay;
    return byMonthDay || byWeekday;
  };
  const limit = after.getTime() + 366 * 86_400_000;
  // Whole minutes, stepping over hours and days that cannot match (offsets are whole minutes everywhere).
  let at = Math.floor(after.getTime() / 60_000) * 60_000 + 60_000;
  while (at <= limit) {
    const clock = wallClock(format, new Date(at));
    if (!schedule.months.includes(clock.month) || !dayMatches(clock)) {
      // An hour short of the wall-clock midnight: a day a DST change shortens must not be overshot.
      at += Math.max(60, (23 - clock.hour) * 60 + (60 - clock.minute) - 60) * 60_000;
    } else if (!schedule.hours.includes(clock.hour)) {
      at += (60 - clock.minute) * 60_000;
    } else if (!schedule.minutes.includes(clock.minute)) {
      at += 60_000;
    } else {
      return new Date(at);
    }
  }
  return undefined;
}
