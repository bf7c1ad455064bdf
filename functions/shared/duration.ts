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

export function parseDurationMs(text: string): number {
  const trimmed = text.trim();
  if (!DURATION.test(trimmed)) {
    throw new RangeError(
      `invalid duration ${JSON.stringify(text)}: use a number and a unit, e.g. 30s, 5m, 2h, 7d`,
    );
  }
  let total = 0;
  for (const match of trimmed.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) {
    total += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
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
