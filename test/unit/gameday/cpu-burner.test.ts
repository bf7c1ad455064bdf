import { describe, expect, it } from 'vitest';
import { startCpuBurn } from '../../../bin/gameday/cpu-burner.js';

describe('the CPU burner', () => {
  it('stops every thread soon after the signal aborts', async () => {
    const stop = new AbortController();
    const burn = startCpuBurn({ maxMs: 60_000, threads: 2, signal: stop.signal });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const abortedAt = Date.now();
    stop.abort();
    await burn.finished;
    // Far below its 60 s limit: the abort, not the limit, ended it (with room for a loaded machine).
    expect(Date.now() - abortedAt).toBeLessThan(5000);
    expect(burn.threads).toBe(2);
  });

  it('ends by itself when its time limit passes', async () => {
    const started = Date.now();
    const burn = startCpuBurn({ maxMs: 100, threads: 1 });
    await burn.finished;
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('stops at once when the signal is already aborted', async () => {
    const burn = startCpuBurn({ maxMs: 60_000, threads: 1, signal: AbortSignal.abort() });
    await burn.stop();
    await expect(burn.finished).resolves.toBeUndefined();
  });
});
