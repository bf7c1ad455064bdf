/**
 * Grafana's unit ids turned into text, as Grafana shows them: "percentunit" 0.9991 -> "99.91%", "s" 5400
 * -> "1.50 hour", "bytes" 8e9 -> "7.45 GiB". Pure; used for stat values, axis ticks and table cells.
 * An unknown unit id is shown as a suffix, as Grafana does for a custom unit ("x" -> "14.4 x").
 */

export interface UnitOptions {
  /** Fixed decimals (the panel's `decimals`); automatic from the size of the value when absent. */
  readonly decimals?: number;
}

/** Decimals Grafana would pick for a value of this size: none for whole numbers, else 3 significant digits (at most 3 decimals). */
export function autoDecimals(value: number): number {
  const size = Math.abs(value);
  if (Number.isInteger(value) || size >= 100) return 0;
  if (size >= 10) return 1;
  if (size >= 1) return 2;
  return Math.min(3, Math.max(0, 2 - Math.floor(Math.log10(size))));
}

function fixed(value: number, decimals: number | undefined): string {
  const text = value.toFixed(decimals ?? autoDecimals(value));
  return text === '-0' || /^-0\.0*$/.test(text) ? text.slice(1) : text;
}

/** Scales by `factor` through the suffixes, e.g. 1536 bytes -> 1.50 KiB. */
function scaled(
  value: number,
  factor: number,
  suffixes: readonly string[],
  options: UnitOptions,
  separator = ' ',
): string {
  let index = 0;
  let scaledValue = value;
  while (Math.abs(scaledValue) >= factor && index < suffixes.length - 1) {
    scaledValue /= factor;
    index += 1;
  }
  const suffix = suffixes[index] ?? '';
  return `${fixed(scaledValue, options.decimals)}${suffix === '' ? '' : `${separator}${suffix}`}`;
}

const SHORT = ['', 'K', 'Mil', 'Bil', 'Tri', 'Quadr'];
const IEC_BYTES = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
const SI_BYTES = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

/** Durations from seconds, in Grafana's words: ns, µs, ms, s, min, hour, day, week, year. */
function duration(seconds: number, options: UnitOptions): string {
  const size = Math.abs(seconds);
  if (size === 0) return `0 s`;
  if (size < 1e-6) return `${fixed(seconds * 1e9, options.decimals)} ns`;
  if (size < 1e-3) return `${fixed(seconds * 1e6, options.decimals)} µs`;
  if (size < 1) return `${fixed(seconds * 1e3, options.decimals)} ms`;
  if (size < 60) return `${fixed(seconds, options.decimals)} s`;
  if (size < 3600) return `${fixed(seconds / 60, options.decimals)} min`;
  if (size < 86_400) return `${fixed(seconds / 3600, options.decimals)} hour`;
  if (size < 604_800) return `${fixed(seconds / 86_400, options.decimals)} day`;
  if (size < 31_536_000) return `${fixed(seconds / 604_800, options.decimals)} week`;
  return `${fixed(seconds / 31_536_000, options.decimals)} year`;
}

const WORD_UNITS: readonly [string, number][] = [
  ['year', 31_536_000],
  ['day', 86_400],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1],
];

/** Grafana's "duration (d hh:mm:ss)" family in words, the two largest parts: "40 days", "1 day, 3 hours". */
function durationWords(seconds: number): string {
  const sign = seconds < 0 ? '-' : '';
  let rest = Math.round(Math.abs(seconds));
  if (rest === 0) return '0 seconds';
  const parts: string[] = [];
  for (const [name, size] of WORD_UNITS) {
    const count = Math.floor(rest / size);
    if (count > 0 || parts.length > 0) {
      if (count > 0) parts.push(`${count} ${name}${count === 1 ? '' : 's'}`);
      rest -= count * size;
      if (parts.length === 2 || (parts.length === 1 && count === 0)) break;
    }
  }
  return `${sign}${parts.slice(0, 2).join(', ')}`;
}

/** The text Grafana shows for `value` in `unit`; null, NaN and ±Inf as Grafana shows them. */
export function formatValue(
  value: number | null,
  unit: string | undefined,
  options: UnitOptions = {},
): string {
  if (value === null || Number.isNaN(value)) return 'No data';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  switch (unit ?? 'short') {
    case 'none':
      return fixed(value, options.decimals);
    case 'short':
      return scaled(value, 1000, SHORT, options);
    case 'percent':
      return `${fixed(value, options.decimals)}%`;
    case 'percentunit':
      return `${fixed(value * 100, options.decimals)}%`;
    case 'ns':
      return duration(value / 1e9, options);
    case 'µs':
    case 'us':
      return duration(value / 1e6, options);
    case 'ms':
      return duration(value / 1e3, options);
    case 's':
      return duration(value, options);
    case 'm':
      return duration(value * 60, options);
    case 'h':
      return duration(value * 3600, options);
    case 'd':
      return duration(value * 86_400, options);
    case 'dtdurations':
      return durationWords(value);
    case 'dtdurationms':
      return durationWords(value / 1000);
    case 'bytes':
      return scaled(value, 1024, IEC_BYTES, options);
    case 'decbytes':
      return scaled(value, 1000, SI_BYTES, options);
    case 'bits':
      return scaled(value, 1000, ['b', 'kb', 'Mb', 'Gb', 'Tb'], options);
    case 'Bps':
    case 'binBps':
      return `${scaled(value, 1024, IEC_BYTES, options)}/s`;
    case 'decBps':
      return `${scaled(value, 1000, SI_BYTES, options)}/s`;
    case 'reqps':
      return `${scaled(value, 1000, SHORT, options)} req/s`;
    case 'rps':
      return `${scaled(value, 1000, SHORT, options)} rd/s`;
    case 'wps':
      return `${scaled(value, 1000, SHORT, options)} wr/s`;
    case 'ops':
      return `${scaled(value, 1000, SHORT, options)} ops/s`;
    case 'reqpm':
      return `${scaled(value, 1000, SHORT, options)} req/m`;
    case 'dateTimeAsIso':
      return new Date(value).toISOString().replace('T', ' ').slice(0, 19);
    default:
      // A custom unit: Grafana shows the id as a suffix.
      return `${scaled(value, 1000, SHORT, options)} ${unit}`;
  }
}

/**
 * Axis ticks: "nice" values (1, 2, 2.5, 5 x 10^n) covering [min, max], about `count` of them. For a
 * flat series (min = max) the range is widened so that the line sits in the middle.
 */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  let low = min;
  let high = max;
  if (low === high) {
    const pad = low === 0 ? 1 : Math.abs(low) * 0.1;
    low -= pad;
    high += pad;
  }
  const rough = (high - low) / Math.max(1, count - 1);
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 2.5, 5, 10].find((factor) => factor * magnitude >= rough) ?? 10) * magnitude;
  const first = Math.floor(low / step + 1e-9) * step;
  const ticks: number[] = [];
  for (let tick = first; tick <= high + step * 1e-9 || ticks.length < 2; tick += step) {
    ticks.push(Number(tick.toPrecision(12)));
    if (ticks.length > 50) break;
  }
  if ((ticks.at(-1) ?? high) < high) ticks.push(Number(((ticks.at(-1) ?? high) + step).toPrecision(12)));
  return ticks;
}

/** Units shown without scaling, and the factor from value to shown number. */
const UNSCALED: Readonly<Record<string, number>> = { percentunit: 100, percent: 1, none: 1 };

/** Decimals needed to write `step` exactly (at most 6): 0.05 -> 2, 2.5 -> 1, 5 -> 0. */
function stepDecimals(step: number): number {
  for (let decimals = 0; decimals < 6; decimals += 1) {
    const scaledStep = Math.abs(step) * 10 ** decimals;
    if (Math.abs(scaledStep - Math.round(scaledStep)) < 1e-6) return decimals;
  }
  return 6;
}

/**
 * Tick labels in `unit`: the panel's decimals when set; for percent and plain numbers the decimals of
 * the tick step, the same on every label (99.80%, 99.85%, ... 100.00%); for scaled units (bytes, s,
 * req/s) Grafana's automatic decimals, with more added until neighbouring labels differ.
 */
export function formatTicks(ticks: readonly number[], unit: string | undefined, decimals?: number): string[] {
  if (decimals !== undefined) return ticks.map((tick) => formatValue(tick, unit, { decimals }));
  const factor = UNSCALED[unit ?? 'short'];
  if (factor !== undefined && ticks.length >= 2) {
    const step = ((ticks[1] ?? 0) - (ticks[0] ?? 0)) * factor;
    return ticks.map((tick) => formatValue(tick, unit, { decimals: stepDecimals(step) }));
  }
  let labels = ticks.map((tick) => formatValue(tick, unit));
  for (let extra = 1; extra <= 6 && new Set(labels).size < labels.length; extra += 1) {
    labels = ticks.map((tick) => formatValue(tick, unit, { decimals: autoDecimals(tick) + extra }));
  }
  return labels;
}
