/** Time units (Loki times are nanosecond bigints) and the per-query limits. */

export const MS = 1_000_000n;
export const SECOND = 1_000_000_000n;
/** Points per series of a metric query, as Loki (and Prometheus) allow. */
export const MAX_POINTS = 11_000;

export interface Limits {
  readonly maxEntries: number;
  readonly maxSeries: number;
}
