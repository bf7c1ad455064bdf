/** Durations written the Prometheus way ("90s", "5m", "1h30m", "7d", "2w"), as used across stack-config and the CLI. */
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

const DURATION = /^(?:\d+(?:ms|s|m|h|d|w|y))+$/;

/** The longest duration text read at all: a sum of a few units never needs more. */
const MAX_DURATION_TEXT = 64;

export interface DurationLimits {
  /** The longest duration accepted, in milliseconds. @default Number.MAX_SAFE_INTEGER */
  readonly maxMs?: number;
}

/**
 * Milliseconds of a duration. Throws a RangeError for anything that is not one, and for a duration
 * longer than `limits.maxMs` (or too long to be exact): a sum such as "99999999999y" is no time a
 * Date can hold.
 */
export function parseDurationMs(text: string, limits: DurationLimits = {}): number {
  const trimmed = text.trim();
  if (trimmed.length > MAX_DURATION_TEXT || !DURATION.test(trimmed)) {
    throw new RangeError(
      `invalid duration ${JSON.stringify(text.slice(0, MAX_DURATION_TEXT))}: use a number and a unit, e.g. 30s, 5m, 2h, 7d`,
    );
  }
  let total = 0;
  for (const match of trimmed.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) {
    total += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
  }
  const maxMs = limits.maxMs ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isFinite(total) || total > maxMs || total > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(
      `duration ${JSON.stringify(trimmed)} is too long: at most ${formatDuration(Math.min(maxMs, Number.MAX_SAFE_INTEGER))}`,
    );
  }
  return total;
}

/** The shortest Prometheus duration string for a whole number of milliseconds, e.g. 5400000 -> "1h30m". */
export function formatDuration(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0) throw new RangeError(`cannot format ${ms} ms as a duration`);
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const unit of ['y', 'w', 'd', 'h', 'm', 's', 'ms']) {
    const size = UNIT_MS[unit] as number;
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out;
}
