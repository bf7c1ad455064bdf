import { describe, expect, it } from 'vitest';
import { countingFailures, logWorkerSignal } from '../../../functions/shared/worker-signals.js';
import { captureLog } from '../../support/captured-log.js';

describe('Worker signals on Lambda', () => {
  it('logs a failed delivery as one worker-failure line naming the subscriber, and rethrows', async () => {
    // Prepare
    const log = captureLog('dora-metrics');
    const failure = new Error('remote-write answered 500');

    // Act
    const run = countingFailures(log.logger, 'dora-metrics', async () => {
      throw failure;
    });

    // Assess
    await expect(run).rejects.toBe(failure);
    expect(log.records()).toEqual([
      expect.objectContaining({
        level: 'warn',
        metric: 'toilless_worker_failures_total',
        subscriber: 'dora-metrics',
        err: expect.objectContaining({ message: 'remote-write answered 500' }),
      }),
    ]);
  });

  it('logs nothing for a delivery that succeeds and passes its result through', async () => {
    const log = captureLog('dora-metrics');

    const result = await countingFailures(log.logger, 'dora-metrics', async () => 42);

    expect(result).toBe(42);
    expect(log.records()).toEqual([]);
  });

  it('logs an unavailable evidence source with the counter name and its source label', () => {
    const log = captureLog('incident-timeline');

    logWorkerSignal(log.logger, { metric: 'toilless_evidence_sources_unavailable_total', source: 'loki' });

    expect(log.records()).toEqual([
      expect.objectContaining({ metric: 'toilless_evidence_sources_unavailable_total', source: 'loki' }),
    ]);
    expect(log.records()[0]).not.toHaveProperty('err');
  });
});
