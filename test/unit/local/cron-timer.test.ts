import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startCronTimer } from '../../../functions/local/cron-timer.js';
import { createLocalRuntime } from '../../../functions/local/local-runtime.js';
import { nextCronRun, parseCron } from '../../../functions/shared/cron.js';
import { systemClock } from '../../../functions/shared/ports/clock.js';
import { StaticSecretSource } from '../../../functions/shared/ports/secrets.js';
import { captureLog } from '../../support/captured-log.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('Cron schedules in the local runtime', () => {
  it('runs at the next cron time in its zone and re-arms for the one after', () => {
    // Prepare: Monday 2026-12-07 06:59 UTC, a minute before 08:00 in Berlin
    vi.useFakeTimers({ now: new Date('2026-12-07T06:59:00Z') });
    const runs: Date[] = [];

    // Act
    const timer = startCronTimer(parseCron('0 8 * * 1'), 'Europe/Berlin', systemClock, () =>
      runs.push(new Date()),
    );
    vi.advanceTimersByTime(59_000);
    const before = runs.length;
    vi.advanceTimersByTime(1_000);

    // Assess
    expect(before).toBe(0);
    expect(runs).toEqual([new Date('2026-12-07T07:00:00Z')]);
    expect(timer.nextRun()).toEqual(new Date('2026-12-14T07:00:00Z'));
    timer.stop();
    vi.advanceTimersByTime(8 * 86_400_000);
    expect(runs).toHaveLength(1);
  });

  it('reaches a run further away than a Node timer can wait', () => {
    // Prepare: yearly, 1 January; Node timers hold at most ~24.8 days
    vi.useFakeTimers({ now: new Date('2026-12-07T00:00:00Z') });
    const runs: Date[] = [];

    // Act
    startCronTimer(parseCron('0 0 1 1 *'), 'UTC', systemClock, () => runs.push(new Date())).nextRun();
    vi.advanceTimersByTime(25 * 86_400_000);

    // Assess
    expect(runs).toEqual([new Date('2027-01-01T00:00:00Z')]);
  });

  it('arms the weekly report with the cron and time zone of toilless.yaml', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'toilless-local-cron-'));
    const log = captureLog('local');
    const startedAt = new Date();
    const runtime = await createLocalRuntime({
      dataDir: dir,
      env: { PROMETHEUS_URL: 'http://127.0.0.1:9' },
      logger: log.logger,
      secrets: new StaticSecretSource({}),
      processMetrics: false,
    });

    try {
      // Assess
      const armed = log.records().find((record) => record.msg === 'cron schedule armed');
      expect(armed).toMatchObject({ schedule: 'WeeklyReport', cron: '0 8 * * 1', timeZone: 'UTC' });
      expect(new Date(armed?.next as string)).toEqual(nextCronRun(parseCron('0 8 * * 1'), 'UTC', startedAt));
    } finally {
      await runtime.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
