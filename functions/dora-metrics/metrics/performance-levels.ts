/**
 * DORA performance levels from the boundaries in toilless.yaml `dora.levels`: a value is elite, high or
 * medium when it passes that level's boundary (checked in that order), otherwise low.
 */
import { type DoraLevelName, doraLevelOf } from '../../shared/dora-levels.js';
import type { LevelBoundaries } from '../../shared/stack-config.js';

/** 4 elite, 3 high, 2 medium, 1 low: the value of dora_performance_level. */
export type PerformanceLevel = 1 | 2 | 3 | 4;

export const LEVEL_NAMES: Readonly<Record<PerformanceLevel, string>> = {
  4: 'elite',
  3: 'high',
  2: 'medium',
  1: 'low',
};

const LEVEL_VALUES: Readonly<Record<DoraLevelName, PerformanceLevel>> = {
  elite: 4,
  high: 3,
  medium: 2,
  low: 1,
};

export function performanceLevel(value: number, boundaries: LevelBoundaries): PerformanceLevel {
  return LEVEL_VALUES[doraLevelOf(value, boundaries)];
}
