/** Query parameters (limit, direction, times, step) with Loki's error texts. */
import { BadRequest } from './bad-request.js';
import { type Limits, MS, SECOND } from './limits.js';

export function parseLimit(value: string | undefined, limits: Limits): number {
  if (value === undefined || value === '') return 100;
  if (!/^[+-]?\d+$/.test(value))
    throw new BadRequest(`strconv.Atoi: parsing ${JSON.stringify(value)}: invalid syntax`);
  const limit = Number(value);
  if (limit <= 0) throw new BadRequest('limit must be a positive value');
  if (limit > limits.maxEntries) {
    throw new BadRequest(
      `max entries limit per query exceeded, limit > max_entries_limit_per_query (${limit} > ${limits.maxEntries})`,
    );
  }
  return limit;
}

export function parseDirection(value: string | undefined): 'backward' | 'forward' {
  if (value === undefined || value === '') return 'backward';
  const lower = value.toLowerCase();
  if (lower === 'backward' || lower === 'forward') return lower;
  throw new BadRequest(`invalid direction '${value}'`);
}

export function parseRange(params: Record<string, string>): { start: bigint; end: bigint } {
  const now = BigInt(Date.now()) * MS;
  const end = params['end'] ? parseTime(params['end'], 'end') : now;
  const start = params['start']
    ? parseTime(params['start'], 'start')
    : (end < now ? end : now) - 3600n * SECOND;
  return { start, end };
}

/** Loki's parseTimestamp: float seconds (ms precision), integers (<= 10 digits are seconds, else ns), RFC3339. */
export function parseTime(value: string, name: string): bigint {
  if (value.includes('.') && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value)) {
    const seconds = Number(value);
    const whole = Math.trunc(seconds);
    return BigInt(whole) * SECOND + BigInt(Math.round((seconds - whole) * 1000)) * MS;
  }
  if (/^[+-]?\d+$/.test(value)) {
    const number = BigInt(value);
    if (number > 9223372036854775807n || number < -9223372036854775808n) {
      throw new BadRequest(
        `could not parse '${name}' parameter: strconv.ParseInt: parsing ${JSON.stringify(value)}: value out of range`,
      );
    }
    return value.replace(/^[+-]/, '').length <= 10 ? number * SECOND : number;
  }
  const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(value);
  const ms = Date.parse(value.replace(/\.\d+/, ''));
  if (rfc3339 && Number.isFinite(ms)) {
    const fraction = (rfc3339[2] ?? '').padEnd(9, '0');
    return BigInt(Math.floor(ms / 1000)) * SECOND + BigInt(fraction);
  }
  throw new BadRequest(
    `could not parse '${name}' parameter: strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`,
  );
}

/** A step as float seconds ("300", "0.5") or a Prometheus duration ("60s", "1m"); default range/250. */
export function parseStep(value: string | undefined, start: bigint, end: bigint): bigint {
  let stepNs: bigint;
  if (value === undefined || value === '') {
    const seconds = (end - start) / SECOND / 250n;
    stepNs = (seconds > 1n ? seconds : 1n) * SECOND;
  } else if (/^[+-]?(\d+\.?\d*|\.\d+)$/.test(value)) {
    stepNs = BigInt(Math.round(Number(value) * 1000)) * MS;
  } else {
    const ms = parseDurationMs(value);
    if (ms === undefined) throw new BadRequest(`not a valid duration string: ${JSON.stringify(value)}`);
    stepNs = BigInt(ms) * MS;
  }
  if (stepNs <= 0n) {
    throw new BadRequest(
      'zero or negative query resolution step widths are not accepted. Try a positive integer',
    );
  }
  if (stepNs % MS !== 0n) stepNs = (stepNs / MS + 1n) * MS;
  return stepNs;
}

export const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

/** Prometheus durations: one or more `<integer><unit>` with units ms, s, m, h, d, w, y. */
export function parseDurationMs(value: string): number | undefined {
  if (!/^(\d+(ms|s|m|h|d|w|y))+$/.test(value)) return undefined;
  let total = 0;
  for (const [, amount, unit] of value.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) {
    total += Number(amount) * (DURATION_UNITS_MS[unit ?? ''] ?? 0);
  }
  return total;
}
