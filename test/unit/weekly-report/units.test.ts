import { describe, expect, it } from 'vitest';
import { formatTicks, formatValue, niceTicks } from '../../../functions/weekly-report/pdf/units.js';

/** What Grafana shows for values (the keys) in a unit, with the panel's decimals where it sets them. */
const SHOWN: readonly { unit: string; decimals?: number; values: Readonly<Record<string, string>> }[] = [
  { unit: 'percentunit', values: { 0.99874: '99.9%', 0.6: '60%' } },
  { unit: 'percentunit', decimals: 2, values: { 0.99874: '99.87%' } },
  { unit: 'percent', values: { 42.5: '42.5%' } },
  { unit: 's', values: { 5400: '1.50 hour', 0.5: '500 ms', 0.00025: '250 µs', 45: '45 s' } },
  { unit: 's', values: { 1800: '30 min', [2 * 86_400]: '2 day' } },
  { unit: 'ms', values: { 250: '250 ms', 90000: '1.50 min' } },
  { unit: 'reqps', values: { 10.2: '10.2 req/s', 12500: '12.5 K req/s' } },
  { unit: 'bytes', values: { 8e9: '7.45 GiB', 1536: '1.50 KiB' } },
  { unit: 'decbytes', values: { 1.5e6: '1.50 MB' } },
  { unit: 'Bps', values: { 100000: '97.7 KiB/s' } },
  { unit: 'short', values: { 1500000: '1.50 Mil', 12: '12', 0.4: '0.400' } },
  { unit: 'none', decimals: 0, values: { 3: '3' } },
  { unit: 'none', values: { 1234.5678: '1235' } },
  // Never minus zero.
  { unit: 'none', decimals: 1, values: { [-0.0001]: '0.0' } },
  { unit: 'x', values: { 14.4: '14.4 x' } },
  { unit: 'dtdurations', values: { [40 * 86_400]: '40 days', [86_400 + 3 * 3600]: '1 day, 3 hours' } },
  // As Grafana shows NaN and the infinities.
  { unit: 's', values: { [Number.NaN]: 'No data', [Number.POSITIVE_INFINITY]: '+Inf' } },
  { unit: 'short', values: { [Number.NEGATIVE_INFINITY]: '-Inf' } },
];

/** Axis ticks: [min, max, ticks wanted (undefined: the default), the ticks]. */
const TICKS: readonly (readonly [number, number, number | undefined, number[]])[] = [
  [0, 10.2, 5, [0, 5, 10, 15]],
  [0, 9, 5, [0, 2.5, 5, 7.5, 10]],
  [0.9985, 1, 4, [0.9985, 0.999, 0.9995, 1]],
  [3, 3, undefined, [2.6, 2.8, 3, 3.2, 3.4]],
];

/** Tick labels: [ticks, unit, the panel's decimals, the labels]. */
const TICK_LABELS: readonly (readonly [number[], string, number | undefined, string[]])[] = [
  [
    [0.998, 0.9985, 0.999, 0.9995, 1],
    'percentunit',
    undefined,
    ['99.80%', '99.85%', '99.90%', '99.95%', '100.00%'],
  ],
  [[0, 5, 10], 'reqps', undefined, ['0 req/s', '5 req/s', '10 req/s']],
  [[0, 2.5, 5], 'none', undefined, ['0.0', '2.5', '5.0']],
  [[1.5, 1.5001], 's', undefined, ['1.5000 s', '1.5001 s']],
  [[0, 0.5, 1], 'percentunit', 1, ['0.0%', '50.0%', '100.0%']],
];

describe('Grafana unit formatting', () => {
  it.each(
    SHOWN.flatMap(({ unit, decimals, values }) =>
      Object.entries(values).map(([value, shown]) => ({ value: Number(value), unit, decimals, shown })),
    ),
  )('shows $value in $unit (decimals $decimals) as $shown', ({ value, unit, decimals, shown }) => {
    expect(formatValue(value, unit, decimals === undefined ? {} : { decimals })).toBe(shown);
  });

  it('shows no value as No data', () => {
    expect(formatValue(null, 'percentunit')).toBe('No data');
  });

  it.each(TICKS)('picks round axis ticks covering %s to %s (%s wanted)', (min, max, count, ticks) => {
    expect(niceTicks(min, max, count)).toEqual(ticks);
  });

  it.each(TICK_LABELS)(
    'labels the ticks %j in %s (decimals %s) with decimals until neighbours differ',
    (ticks, unit, decimals, labels) => {
      expect(formatTicks(ticks, unit, decimals)).toEqual(labels);
    },
  );
});
