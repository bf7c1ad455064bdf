/** Times as the timeline needs them: compared exactly, stored and shown in UTC. */

/**
 * A sortable UTC form with nanoseconds: Alertmanager's times carry up to nine fractional digits, which
 * Date drops, and two activations of one alert may differ only there.
 */
export function instantKey(timestamp: string): string {
  // Sorting a notification's alerts and events compares the same few times thousands of times.
  let key = instantKeys.get(timestamp);
  if (key === undefined) {
    key = computeInstantKey(timestamp);
    if (instantKeys.size >= MAX_CACHED_KEYS) instantKeys.clear();
    instantKeys.set(timestamp, key);
  }
  return key;
}

const MAX_CACHED_KEYS = 10_000;
const instantKeys = new Map<string, string>();

function computeInstantKey(timestamp: string): string {
  const ms = Date.parse(timestamp);
  if (Number.isNaN(ms)) throw new RangeError(`not an ISO 8601 time: ${JSON.stringify(timestamp)}`);
  const fraction = (/\.(\d+)/.exec(timestamp)?.[1] ?? '').padEnd(9, '0').slice(0, 9);
  const seconds = new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19);
  return `${seconds}.${fraction}Z`;
}

export function compareInstants(a: string, b: string): number {
  const ka = instantKey(a);
  const kb = instantKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** UTC ISO 8601 with milliseconds, the form the timeline stores. */
export function toIso(timestamp: string | Date): string {
  return (typeof timestamp === 'string' ? new Date(timestamp) : timestamp).toISOString();
}

/** `08:39:53 UTC` */
export function utcTime(timestamp: string): string {
  return `${toIso(timestamp).slice(11, 19)} UTC`;
}

/** `2026-11-28 08:39:53 UTC` */
export function utcDateTime(timestamp: string): string {
  const iso = toIso(timestamp);
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

/** `2026-11-28` */
export function utcDate(timestamp: string): string {
  return toIso(timestamp).slice(0, 10);
}

/** `1h 2m 3s`, for people; whole seconds, never negative. */
export function humanDuration(ms: number): string {
  let rest = Math.max(0, Math.round(ms / 1000));
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0 || parts.length === 0) parts.push(`${rest}s`);
  return parts.join(' ');
}

export function msBetween(from: string, to: string): number {
  return Date.parse(to) - Date.parse(from);
}
