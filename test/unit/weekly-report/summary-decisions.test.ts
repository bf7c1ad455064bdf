import { rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../../functions/shared/adapters/local/fs-object-store.js';
import { silentLogger } from '../../../functions/shared/log.js';
import { parseToillessConfig } from '../../../functions/shared/stack-config.js';
import {
  budgetPolicyState,
  budgetRemaining,
  compliance,
  doraLevel,
  firingStats,
  rangeStepSeconds,
} from '../../../functions/weekly-report/summary/decisions.js';
import { incidentsOfWindow } from '../../../functions/weekly-report/summary/incidents.js';
import { createTempDir } from '../../support/process.js';

const levels = parseToillessConfig('').dora.levels;

describe('Report summary decisions', () => {
  it('puts the error budget left in the policy state of the runbook: 50% at 0.5, 75% at 0.25, 100% at 0', () => {
    expect(budgetPolicyState(0.51)).toBe('healthy');
    expect(budgetPolicyState(0.5)).toBe('review-50');
    expect(budgetPolicyState(0.26)).toBe('review-50');
    expect(budgetPolicyState(0.25)).toBe('approval-75');
    expect(budgetPolicyState(0)).toBe('freeze-100');
    expect(budgetPolicyState(-0.5)).toBe('freeze-100');
  });

  it('works compliance and the budget left out of event counts', () => {
    // 99.5% good against a 99% target: half the budget spent.
    expect(compliance(5, 1_000)).toBeCloseTo(0.995, 12);
    expect(budgetRemaining(0.995, 0.99)).toBeCloseTo(0.5, 12);
    // 98% against 99%: twice the budget spent.
    expect(budgetRemaining(0.98, 0.99)).toBeCloseTo(-1, 12);
    expect(compliance(0, 0)).toBeNull();
  });

  it('gives DORA levels by the boundaries of toilless.yaml, strict where docs/dora.md says', () => {
    expect(doraLevel(1.5, levels.deploymentFrequency)).toBe('elite');
    expect(doraLevel(1, levels.deploymentFrequency)).toBe('high');
    expect(doraLevel(0.01, levels.deploymentFrequency)).toBe('low');
    // Elite lead time is < 1 h: exactly an hour is high.
    expect(doraLevel(3_600, levels.leadTime)).toBe('high');
    expect(doraLevel(3_599, levels.leadTime)).toBe('elite');
    expect(doraLevel(0.15, levels.changeFailureRate)).toBe('elite');
    expect(doraLevel(0.61, levels.changeFailureRate)).toBe('low');
    expect(doraLevel(8 * 86_400, levels.timeToRestore)).toBe('low');
  });

  it('counts firings as runs of samples and firing time as samples times the step', () => {
    // Two runs: 0-240 (5 samples) and 1200-1320 (3 samples), 60 s apart.
    expect(firingStats([0, 60, 120, 180, 240, 1_200, 1_260, 1_320], 60)).toEqual({
      firings: 2,
      firingSeconds: 480,
    });
    expect(firingStats([], 60)).toEqual({ firings: 0, firingSeconds: 0 });
  });

  it('steps range queries in whole minutes under 11,000 points', () => {
    expect(rangeStepSeconds(0, 86_400_000)).toBe(60);
    expect(rangeStepSeconds(0, 7 * 86_400_000)).toBe(120);
    expect(rangeStepSeconds(0, 30 * 86_400_000)).toBe(300);
  });
});

describe('Incidents of the week', () => {
  it('lists the incidents that started in the window from the store, skipping unreadable records', async () => {
    // Prepare
    const dir = await createTempDir('report-incidents');
    const store = new FsObjectStore(dir);
    const timeline = (id: string, fields: Record<string, unknown>) =>
      store.put(`incidents/${id}/timeline.json`, JSON.stringify({ id, ...fields }));
    await timeline('a', {
      title: 'checkout slow',
      severity: 'warning',
      startedAt: '2026-12-01T10:00:00Z',
      resolvedAt: '2026-12-01T10:45:00Z',
    });
    await timeline('b', { title: 'checkout down', severity: 'critical', startedAt: '2026-11-30T00:00:00Z' });
    await timeline('before', { title: 'old', severity: 'critical', startedAt: '2026-11-29T23:59:59Z' });
    await timeline('after', { title: 'next week', severity: 'critical', startedAt: '2026-12-07T00:00:00Z' });
    await store.put('incidents/broken/timeline.json', '{not json');
    await store.put('incidents/groups/abc.json', '{}');
    const window = {
      from: new Date('2026-11-30T00:00:00Z'),
      to: new Date('2026-12-07T00:00:00Z'),
      isoWeek: '2026-W49',
    };

    try {
      // Act
      const incidents = await incidentsOfWindow(store, window, silentLogger);

      // Assess
      expect(incidents).toEqual([
        {
          title: 'checkout down',
          severity: 'critical',
          openedAt: new Date('2026-11-30T00:00:00Z'),
          resolvedAt: null,
          link: 'incidents/b/timeline.md',
        },
        {
          title: 'checkout slow',
          severity: 'warning',
          openedAt: new Date('2026-12-01T10:00:00Z'),
          resolvedAt: new Date('2026-12-01T10:45:00Z'),
          link: 'incidents/a/timeline.md',
        },
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
