/**
 * DORA performance levels from the boundaries in toilless.yaml `dora.levels`: a value is elite, high or
 * medium when it passes that level's boundary (checked in that order), otherwise low.
 */
import type { LevelBoundaries, LevelBoundary } from '../../shared/stack-config.js';

/** 4 elite, 3 high, 2 medium, 1 low: the value of dora_performance_level. */
export type PerformanceLevel = 1 | 2 | 3 | 4;

export const LEVEL_NAMES: Readonly<Record<PerformanceLevel, string>> = {
  4: 'elite',
  3: 'high',
  2: 'medium',
  1: 'low',
};

export function performanceLevel(value: number, boundaries: LevelBoundaries): PerformanceLevel {
  if (passes(value, boundaries.elite)) return 4;
  if (passes(value, boundaries.high)) return 3;
  if (passes(value, boundaries.medium)) return 2;
  return 1;
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
