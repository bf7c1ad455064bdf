/**
 * The DORA performance level of a value by toilless.yaml `dora.levels` (docs/dora.md): the first of
 * elite, high and medium whose boundary it passes, else low. The DORA worker writes it as a number
 * (dora_performance_level) and the weekly report shows it by name.
 */
import type { LevelBoundaries, LevelBoundary } from './stack-config.js';

export type DoraLevelName = 'elite' | 'high' | 'medium' | 'low';

export function doraLevelOf(value: number, boundaries: LevelBoundaries): DoraLevelName {
  if (passes(value, boundaries.elite)) return 'elite';
  if (passes(value, boundaries.high)) return 'high';
  if (passes(value, boundaries.medium)) return 'medium';
  return 'low';
}

function passes(value: number, boundary: LevelBoundary): boolean {
  switch (boundary.comparison) {
    case '<':
      return value < boundary.value;
    case '<=':
      return value <= boundary.value;
    case '>':
      return value > boundary.value;
    case '>=':
      return value >= boundary.value;
  }
}
