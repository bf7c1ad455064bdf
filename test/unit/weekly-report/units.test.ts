import { describe, expect, it } from 'vitest';
import { formatTicks, formatValue, niceTicks } from '../../../functions/weekly-report/pdf/units.js';

describe('Grafana unit formatting', () => {
  it.each([
    [0.99874, 'percentunit', undefined, '99.9%'],
    [0.99874, 'percentunit', 2, '99.87%'],
    [0.6, 'percentunit', undefined, '60%'],
    [42.5, 'percent', undefined, '42.5%'],
    [5400, 's', undefined, '1.50 hour'],
    [0.5, 's', undefined, '500 ms'],
    [0.000_25, 's', undefined, '250 µs'],
    [45, 's', undefined, '45 s'],
    [1800, 's', undefined, '30 min'],
    [2 * 86_400, 's', undefined, '2 day'],
    [250, 'ms', undefined, '250 ms'],
    [90_000, 'ms', undefined, '1.50 min'],
    [10.2, 'reqps', undefined, '10.2 req/s'],
    [12_500, 'reqps', undefined, '12.5 K req/s'],
    [8e9, 'bytes', undefined, '7.45 GiB'],
    [1536, 'bytes', undefined, '1.50 KiB'],
    [1.5e6, 'decbytes', undefined, '1.50 MB'],
    [100_000, 'Bps', undefined, '97.7 KiB/s'],
    [1_500_000, 'short', undefined, '1.50 Mil'],
    [12, 'short', undefined, '12'],
    [0.4, 'short', undefined, '0.400'],
    [3, 'none', 0, '3'],
    [1234.5678, 'none', undefined, '1235'],
    [14.4, 'x', undefined, '14.4 x'],
    [40 * 86_400, 'dtdurations', undefined, '40 days'],
    [86_400 + 3 * 3600, 'dtdurations', undefined, '1 day, 3 hours'],
  ])('shows %s in %s (decimals %s) as %s', (value, unit, decimals, expected) => {
    expect(formatValue(value, unit, decimals === undefined ? {} : { decimals })).toBe(expected);
  });

  it('shows a missing value, NaN and infinities as Grafana does', () => {
    expect(formatValue(null, 'percentunit')).toBe('No data');
    expect(formatValue(Number.NaN, 's')).toBe('No data');
    expect(formatValue(Number.POSITIVE_INFINITY, 's')).toBe('+Inf');
    expect(formatValue(Number.NEGATIVE_INFINITY, 'short')).toBe('-Inf');
  });

  it('never shows minus zero', () => {
    expect(formatValue(-0.0001, 'none', { decimals: 1 })).toBe('0.0');
  });

  it('picks round axis ticks covering the data', () => {
    expect(niceTicks(0, 10.2, 5)).toEqual([0, 5, 10, 15]);
    expect(niceTicks(0, 9, 5)).toEqual([0, 2.5, 5, 7.5, 10]);
    expect(niceTicks(0.9985, 1, 4)).toEqual([0.9985, 0.999, 0.9995, 1]);
    expect(niceTicks(3, 3)).toEqual([2.6, 2.8, 3, 3.2, 3.4]);
  });

  it('adds decimals to tick labels until neighbours differ', () => {
    expect(formatTicks([0.998, 0.9985, 0.999, 0.9995, 1], 'percentunit')).toEqual([
      '99.80%',
      '99.85%',
      '99.90%',
      '99.95%',
      '100.00%',
    ]);
    expect(formatTicks([0, 5, 10], 'reqps')).toEqual(['0 req/s', '5 req/s', '10 req/s']);
    expect(formatTicks([0, 2.5, 5], 'none')).toEqual(['0.0', '2.5', '5.0']);
    expect(formatTicks([1.5, 1.5001], 's')).toEqual(['1.5000 s', '1.5001 s']);
    expect(formatTicks([0, 0.5, 1], 'percentunit', 1)).toEqual(['0.0%', '50.0%', '100.0%']);
  });
});
