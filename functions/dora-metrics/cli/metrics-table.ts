/** `toilless dora show`: the current metrics and levels as a plain-text table for a terminal. */
import type { DoraMetrics } from '../metrics/metrics.js';
import type { PerformanceLevel } from '../metrics/performance-levels.js';

const LEVEL_NAMES: Readonly<Record<number, string>> = { 4: 'elite', 3: 'high', 2: 'medium', 1: 'low' };

export function formatDoraTable(metrics: readonly DoraMetrics[]): string {
  if (metrics.length === 0) {
    return 'no deployments recorded yet: send GitHub deployment events or run `toilless dora backfill --repo owner/name`\n';
  }
  const header = [
    'repository',
    'environment',
    'window',
    'deploys/day',
    'lead time p50',
    'lead time p90',
    'change failure',
    'restore p50',
    'deploys ok/failed',
  ];
  const rows = metrics.flatMap((target) =>
    target.windows.map((window) => [
      target.repository,
      target.environment + (target.production ? '' : ' (non-prod)'),
      window.window,
      `${window.deploymentFrequencyPerDay.toFixed(2)} ${level(window.levels.deploymentFrequency)}`,
      window.leadTimeSeconds
        ? `${duration(window.leadTimeSeconds.p50)} ${level(window.levels.leadTime)}`
        : '-',
      window.leadTimeSeconds ? duration(window.leadTimeSeconds.p90) : '-',
      window.changeFailureRate === undefined
        ? '-'
        : `${(window.changeFailureRate * 100).toFixed(1)}% ${level(window.levels.changeFailureRate)}`,
      window.timeToRestoreSeconds
        ? `${duration(window.timeToRestoreSeconds.p50)} ${level(window.levels.timeToRestore)}`
        : '-',
      `${window.successes}/${window.failures}`,
    ]),
  );
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    `${cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd()}\n`;
  return line(header) + line(widths.map((width) => '-'.repeat(width))) + rows.map(line).join('');
}

function level(value: PerformanceLevel | undefined): string {
  return value === undefined ? '' : `(${LEVEL_NAMES[value] ?? value})`;
}

/** 95 -> "1m35s", 7200 -> "2h", 90061 -> "1d1h1m". */
export function duration(seconds: number | undefined): string {
  if (seconds === undefined) return '-';
  const units: [string, number][] = [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ];
  let rest = Math.round(seconds);
  const parts: string[] = [];
  for (const [unit, size] of units) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
    if (parts.length === 3) break;
  }
  return parts.length === 0 ? '0s' : parts.join('');
}
