/**
 * Grafana's colour names and threshold steps, for values drawn in the PDF. Pure.
 */
import type { ThresholdStep } from '../model.js';

/** Grafana's named colours (the "classic" palette names dashboards use) as hex. */
const NAMED: Readonly<Record<string, string>> = {
  green: '#56A64B',
  'semi-dark-green': '#37872D',
  red: '#E02F44',
  'semi-dark-red': '#C4162A',
  yellow: '#E0B400',
  'semi-dark-yellow': '#CC9D00',
  orange: '#FF780A',
  'semi-dark-orange': '#FA6400',
  blue: '#3274D9',
  purple: '#8F3BB8',
  text: '#202226',
};

/** The colour to draw in, or null for "transparent" (nothing drawn). An unknown name falls back to grey. */
export function grafanaColor(name: string): string | null {
  const lower = name.trim().toLowerCase();
  if (lower === 'transparent') return null;
  if (/^#[0-9a-f]{3}([0-9a-f]{3})?$/.test(lower)) return lower;
  return NAMED[lower] ?? '#6E7079';
}

/** The step a value falls in: the last step whose `value` is at most it (null: the base step). */
export function thresholdStep(
  value: number | null,
  steps: readonly ThresholdStep[] | undefined,
): ThresholdStep | undefined {
  if (steps === undefined || steps.length === 0 || value === null || Number.isNaN(value)) return undefined;
  let current: ThresholdStep | undefined;
  for (const step of steps) {
    if (step.value === null || value >= step.value) current = step;
  }
  return current;
}

/** The colour of a value by its thresholds; `fallback` without thresholds, data or for a transparent step. */
export function thresholdColor(
  value: number | null,
  steps: readonly ThresholdStep[] | undefined,
  fallback: string,
): string {
  const step = thresholdStep(value, steps);
  return (step === undefined ? null : grafanaColor(step.color)) ?? fallback;
}

/** Series colours in Grafana's classic palette order, repeated when a panel has more series. */
const SERIES_PALETTE = [
  '#7EB26D',
  '#EAB839',
  '#6ED0E0',
  '#EF843C',
  '#E24D42',
  '#1F78C1',
  '#BA43A9',
  '#705DA0',
  '#508642',
  '#CCA300',
  '#447EBC',
  '#C15C17',
];

export function seriesColor(index: number): string {
  return SERIES_PALETTE[index % SERIES_PALETTE.length] ?? '#7EB26D';
}
