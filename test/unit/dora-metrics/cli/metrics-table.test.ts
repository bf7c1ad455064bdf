import { describe, expect, it } from 'vitest';
import { duration, formatDoraTable } from '../../../../functions/dora-metrics/cli/metrics-table.js';
import type { DoraMetrics, WindowMetrics } from '../../../../functions/dora-metrics/metrics/metrics.js';

function window(overrides: Partial<WindowMetrics> = {}): WindowMetrics {
  return {
    window: '7d',
    successes: 12,
    failures: 2,
    successesWithIncident: 1,
    deploymentFrequencyPerDay: 12 / 7,
    leadTimeSeconds: { p50: 5_400, p90: 90_061, count: 30 },
    changeFailureRate: 3 / 14,
    timeToRestoreSeconds: { p50: 95, p90: 95, count: 1 },
    levels: { deploymentFrequency: 4, leadTime: 3, changeFailureRate: 2, timeToRestore: 4 },
    ...overrides,
  };
}

function target(overrides: Partial<DoraMetrics> = {}): DoraMetrics {
  return {
    repository: 'acme/checkout-api',
    environment: 'production',
    production: true,
    computedAt: '2026-11-28T08:00:00.000Z',
    windows: [window()],
    ...overrides,
  };
}

describe('toilless dora show: the metrics table', () => {
  it('says how to get data when there is none', () => {
    // Act
    const table = formatDoraTable([]);

    // Assess
    expect(table).toBe(
      'no deployments recorded yet: send GitHub deployment events or run `toilless dora backfill --repo owner/name`\n',
    );
  });

  it('shows one row per window with values, levels and counts, in aligned columns', () => {
    // Act
    const lines = formatDoraTable([target()]).split('\n');

    // Assess
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^repository\s+environment\s+window\s+deploys\/day\s+lead time p50/);
    expect(lines[1]).toMatch(/^-+ {2}-+/);
    const row = lines[2] as string;
    expect(row).toContain('acme/checkout-api');
    expect(row).toContain('1.71 (elite)');
    expect(row).toContain('1h30m (high)');
    expect(row).toContain('1d1h1m');
    expect(row).toContain('21.4% (medium)');
    expect(row).toContain('1m35s (elite)');
    expect(row.endsWith('12/2')).toBe(true);
    expect(lines[3]).toBe('');
    // every column starts where its header does
    expect(row.indexOf('7d')).toBe(lines[0]?.indexOf('window'));
  });

  it('shows a dash for what a window without deployments cannot measure, and marks non-production', () => {
    // Prepare
    const empty = window({
      window: '30d',
      successes: 0,
      failures: 0,
      deploymentFrequencyPerDay: 0,
      levels: { deploymentFrequency: 1 },
    });
    const { leadTimeSeconds: _l, changeFailureRate: _c, timeToRestoreSeconds: _t, ...unmeasured } = empty;

    // Act
    const row = formatDoraTable([
      target({ environment: 'staging', production: false, windows: [unmeasured] }),
    ]).split('\n')[2] as string;

    // Assess
    expect(row).toContain('staging (non-prod)');
    expect(row).toContain('0.00 (low)');
    expect(row.match(/ - /g)).toHaveLength(4);
    expect(row.endsWith('0/0')).toBe(true);
  });

  it('writes durations in at most three units', () => {
    // Act & Assess
    expect(duration(undefined)).toBe('-');
    expect(duration(0)).toBe('0s');
    expect(duration(95)).toBe('1m35s');
    expect(duration(7_200)).toBe('2h');
    expect(duration(90_061)).toBe('1d1h1m');
    expect(duration(59.6)).toBe('1m');
  });
});
