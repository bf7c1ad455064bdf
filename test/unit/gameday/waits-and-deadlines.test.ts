import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEADLINE_MARGIN_MS,
  firingDeadlineMs,
  loadPlatformTimings,
  longestWindowMs,
  notificationDeadlineMs,
} from '../../../bin/gameday/rule-timings.js';
import { waitFor } from '../../../bin/gameday/waits.js';
import type { Clock } from '../../../functions/shared/ports/clock.js';

/** Time moves only when the code under test sleeps. */
class SteppingClock implements Clock {
  readonly sleeps: number[] = [];
  constructor(private ms = Date.parse('2026-12-06T10:00:00Z')) {}
  now(): Date {
    return new Date(this.ms);
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.ms += ms;
  }
}

const STACK_CONFIG = join(import.meta.dirname, '..', '..', '..', 'stack-config');

describe('waiting for an expectation', () => {
  it('returns the value and the time it was seen', async () => {
    const clock = new SteppingClock();
    let calls = 0;
    const outcome = await waitFor(async () => (++calls === 3 ? { value: 'firing' } : { seen: 'pending' }), {
      clock,
      deadlineMs: 60_000,
      pollMs: 1000,
      signal: new AbortController().signal,
    });
    expect(outcome).toEqual({ kind: 'seen', value: 'firing', at: new Date('2026-12-06T10:00:02Z') });
  });

  it('gives up at the deadline, never sleeping past it, and says what it saw last', async () => {
    const clock = new SteppingClock();
    const outcome = await waitFor(async () => ({ seen: 'HighLatencyP95 pending' }), {
      clock,
      deadlineMs: 2500,
      pollMs: 1000,
      signal: new AbortController().signal,
    });
    expect(outcome).toEqual({ kind: 'timed-out', after: 2500, lastSeen: 'HighLatencyP95 pending' });
    expect(clock.sleeps).toEqual([1000, 1000, 500]);
  });

  it('counts a probe that throws as a miss and reports its error', async () => {
    const clock = new SteppingClock();
    const outcome = await waitFor(
      async () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:9093');
      },
      { clock, deadlineMs: 1000, pollMs: 500, signal: new AbortController().signal },
    );
    expect(outcome).toMatchObject({
      kind: 'timed-out',
      lastSeen: 'error: connect ECONNREFUSED 127.0.0.1:9093',
    });
  });

  it('stops at once when the run is aborted', async () => {
    const clock = new SteppingClock();
    const stop = new AbortController();
    let calls = 0;
    const outcome = await waitFor(
      async () => {
        if (++calls === 2) stop.abort();
        return { seen: 'nothing' };
      },
      { clock, deadlineMs: 3_600_000, pollMs: 1000, signal: stop.signal },
    );
    expect(outcome).toEqual({ kind: 'aborted', lastSeen: 'nothing' });
    expect(calls).toBe(2);
  });
});

describe('deadlines from the shipped rules', () => {
  const timings = loadPlatformTimings(STACK_CONFIG);

  it("reads each alert's for and window from the rule files", () => {
    expect(timings.alerts.get('HighChangeFailureRate')).toMatchObject({ forMs: 600_000 });
    expect(timings.alerts.get('HighLatencyP95')).toEqual({
      alert: 'HighLatencyP95',
      forMs: 300_000,
      windowMs: 300_000,
    });
    expect(timings.alerts.get('HighCPUCritical')).toEqual({
      alert: 'HighCPUCritical',
      forMs: 300_000,
      windowMs: 300_000,
    });
    expect(timings.evaluationIntervalMs).toBe(15_000);
    expect(timings.groupWaitMs).toBe(30_000);
    expect(timings.groupIntervalMs).toBe(300_000);
  });

  it('counts the windows of recorded burn-rate series, up to one hour', () => {
    expect(longestWindowMs('slo:sli_error:ratio_rate1h{a="b"} > 1 and slo:sli_error:ratio_rate5m > 1')).toBe(
      3_600_000,
    );
    expect(longestWindowMs('rate(x[30m]) or slo:sli_error:ratio_rate3d > 1')).toBe(3_600_000);
    expect(longestWindowMs('rate(x[90s:15s])')).toBe(90_000);
    expect(longestWindowMs('up == 0')).toBe(0);
  });

  it('are the window plus for plus two evaluations and scrapes, scaled, plus a fixed margin', () => {
    const shipped = 300_000 + 300_000 + 2 * 15_000 + 2 * 15_000;
    expect(firingDeadlineMs(timings, 'HighLatencyP95', { factor: 1, timeoutScale: 1 })).toBe(
      shipped + DEADLINE_MARGIN_MS,
    );
    expect(firingDeadlineMs(timings, 'HighLatencyP95', { factor: 0.05, timeoutScale: 1 })).toBe(
      shipped * 0.05 + DEADLINE_MARGIN_MS,
    );
    expect(firingDeadlineMs(timings, 'HighLatencyP95', { factor: 0.05, timeoutScale: 2 })).toBe(
      (shipped * 0.05 + DEADLINE_MARGIN_MS) * 2,
    );
    expect(notificationDeadlineMs(timings, { factor: 1, timeoutScale: 1 })).toBe(
      30_000 + 300_000 + 30_000 + DEADLINE_MARGIN_MS,
    );
  });

  it('refuses an alert the shipped rules do not define', () => {
    expect(() => firingDeadlineMs(timings, 'NoSuchAlert', { factor: 1, timeoutScale: 1 })).toThrow(
      /no alerting rule named NoSuchAlert/,
    );
  });
});
