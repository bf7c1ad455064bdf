import { describe, expect, it } from 'vitest';
import { eventBridgeCron, nextCronRun, parseCron } from '../../../functions/shared/cron.js';
import { parseToillessConfig } from '../../../functions/shared/stack-config.js';

describe('Cron schedules', () => {
  it('turns five-field cron into EventBridge Scheduler syntax with day names, never numbers', () => {
    // Cron's 1 is Monday; EventBridge's 1 is Sunday: a number passed through would run a day early.
    expect(eventBridgeCron(parseCron('0 8 * * 1'))).toBe('0 8 ? * MON *');
    expect(eventBridgeCron(parseCron('30 6 * * 1-5'))).toBe('30 6 ? * MON,TUE,WED,THU,FRI *');
    expect(eventBridgeCron(parseCron('0 8 * * 0'))).toBe('0 8 ? * SUN *');
    expect(eventBridgeCron(parseCron('0 8 * * 7'))).toBe('0 8 ? * SUN *');
    expect(eventBridgeCron(parseCron('0 9 1 * *'))).toBe('0 9 1 * ? *');
    expect(eventBridgeCron(parseCron('15 7 * * mon'))).toBe('15 7 ? * MON *');
  });

  it('refuses what EventBridge cannot say, and malformed fields, naming the field', () => {
    expect(() => eventBridgeCron(parseCron('0 8 1 * 1'))).toThrow(/restrict only one of the two day fields/);
    expect(() => parseCron('0 8 * *')).toThrow(/expected five fields/);
    expect(() => parseCron('0 25 * * 1')).toThrow(/hour "25" is outside 0-23/);
    expect(() => parseCron('0 8 * * funday')).toThrow(/day of week "funday" is not a number or a name/);
  });

  it('finds the next Monday 08:00 in UTC and in a zone with daylight saving', () => {
    // Prepare: Sunday 2026-12-06
    const sunday = new Date('2026-12-06T07:40:00Z');
    const monday8 = parseCron('0 8 * * 1');

    // Act / Assess: Berlin is UTC+1 in winter, UTC+2 in summer
    expect(nextCronRun(monday8, 'UTC', sunday)).toEqual(new Date('2026-12-07T08:00:00Z'));
    expect(nextCronRun(monday8, 'Europe/Berlin', sunday)).toEqual(new Date('2026-12-07T07:00:00Z'));
    expect(nextCronRun(monday8, 'Europe/Berlin', new Date('2026-06-01T07:00:00Z'))).toEqual(
      new Date('2026-06-08T06:00:00Z'),
    );
    // Exactly at a run: the next one, a week later
    expect(nextCronRun(monday8, 'UTC', new Date('2026-12-07T08:00:00Z'))).toEqual(
      new Date('2026-12-14T08:00:00Z'),
    );
  });

  it('does not skip a run on the night a DST change shortens the day', () => {
    // Europe/Berlin springs forward on Sunday 2026-03-29 (02:00 -> 03:00): Monday 00:30 still runs.
    expect(nextCronRun(parseCron('30 0 * * 1'), 'Europe/Berlin', new Date('2026-03-28T12:00:00Z'))).toEqual(
      new Date('2026-03-29T22:30:00Z'),
    );
  });

  it('reads report.schedule and report.timeZone from toilless.yaml, Mondays 08:00 UTC by default', () => {
    expect(parseToillessConfig('').report).toMatchObject({
      schedule: '0 8 * * 1',
      timeZone: 'UTC',
      mode: 'auto',
    });
    expect(() => parseToillessConfig('report: { schedule: "every monday" }')).toThrow(/five-field cron/);
    expect(() => parseToillessConfig('report: { timeZone: Mars/Olympus }')).toThrow(/IANA time zone/);
  });
});
