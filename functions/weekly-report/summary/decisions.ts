/**
 * The summary page's decisions, as plain functions over numbers: the error budget policy state, DORA
 * levels, compliance from event counts, and how often and how long an alert fired.
 */
import { doraLevelOf } from '../../shared/dora-levels.js';
import type { LevelBoundaries } from '../../shared/stack-config.js';
import type { BudgetPolicyState, DoraLevel } from '../model.js';

/** stack-config/runbooks/error-budget-policy.md: 50% consumed at <= 0.50 left, 75% at <= 0.25, 100% at <= 0. */
export function budgetPolicyState(remaining: number): BudgetPolicyState {
  if (remaining <= 0) return 'freeze-100';
  if (remaining <= 0.25) return 'approval-75';
  if (remaining <= 0.5) return 'review-50';
  return 'healthy';
}

/** The share of the period's error budget left: 1 - (1 - compliance) / (1 - target); negative when overspent. */
export function budgetRemaining(compliance: number, target: number): number {
  return 1 - (1 - compliance) / (1 - target);
}

/** Good / valid events; null without events (no data is not 100%). */
export function compliance(badEvents: number, events: number): number | null {
  if (!(events > 0) || !Number.isFinite(badEvents)) return null;
  return Math.min(1, Math.max(0, 1 - badEvents / events));
}

/** The DORA level of a value by toilless.yaml `dora.levels` (docs/dora.md), as the DORA worker rates it. */
export function doraLevel(value: number, boundaries: LevelBoundaries): DoraLevel {
  return doraLevelOf(value, boundaries);
}

/**
 * Firings and firing time of one alert series sampled every `stepSeconds` (the timestamps of a range
 * query of ALERTS{alertstate="firing"}): each sample counts a step of firing; a sample after a gap, or
 * the first one, starts a firing.
 */
export function firingStats(
  timestamps: readonly number[],
  stepSeconds: number,
): { readonly firings: number; readonly firingSeconds: number } {
  let firings = 0;
  let previous: number | undefined;
  for (const at of timestamps) {
    if (previous === undefined || at - previous > stepSeconds * 1.5) firings += 1;
    previous = at;
  }
  return { firings, firingSeconds: timestamps.length * stepSeconds };
}

/**
 * A range query step of whole minutes that keeps a window under Prometheus' 11,000 points per series
 * (a week: 2 minutes). Whole minutes keep the steps on the minute grid rule evaluations run on.
 */
export function rangeStepSeconds(fromMs: number, toMs: number): number {
  return Math.max(1, Math.ceil((toMs - fromMs) / 60_000 / 10_000)) * 60;
}
