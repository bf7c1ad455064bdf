import { describe, expect, it } from 'vitest';
import type { ReportWindow } from '../../../functions/weekly-report/model.js';
import {
  builtInVariables,
  chooseStep,
  panelReducer,
  parseInterval,
  reduceSeries,
  seriesLegend,
  substituteVariables,
} from '../../../functions/weekly-report/native/query-plan.js';

const WEEK: ReportWindow = {
  from: new Date('2026-11-30T00:00:00Z'),
  to: new Date('2026-12-07T00:00:00Z'),
  isoWeek: '2026-W49',
};

describe('Native report query plan', () => {
  it('chooses a round step giving at most 400 points, never below the panel minimum', () => {
    expect(chooseStep(WEEK)).toBe(1800); // 336 points
    expect(chooseStep({ ...WEEK, from: new Date(WEEK.to.getTime() - 3_600_000) })).toBe(15); // 241 points
    expect(chooseStep(WEEK, parseInterval('1d'))).toBe(86_400);
  });

  it('reads Grafana interval strings', () => {
    expect(parseInterval('15s')).toBe(15);
    expect(parseInterval('>1m')).toBe(60);
    expect(parseInterval('1w')).toBe(604_800);
    expect(parseInterval('soon')).toBeUndefined();
    expect(parseInterval(null)).toBeUndefined();
  });

  it('computes the built-in variables as Grafana does', () => {
    const values = builtInVariables(WEEK, 1800, 15);
    expect(values.__range).toBe('604800s');
    expect(values.__interval).toBe('1800s');
    // max(interval + scrape interval, 4 x scrape interval)
    expect(values.__rate_interval).toBe('1815s');
    expect(builtInVariables(WEEK, 15, 15).__rate_interval).toBe('60s');
    expect(values.__from).toBe(String(WEEK.from.getTime()));
  });

  it('substitutes $name, {name} in braces and [[name]], leaving unknown variables as written', () => {
    const values = { service: 'shop', __rate_interval: '60s' };
    expect(substituteVariables('rate(x{service="$service"}[$__rate_interval])', values)).toBe(
      'rate(x{service="shop"}[60s])',
    );
    expect(substituteVariables(`\${service}-[[service]]-$unknown`, values)).toBe('shop-shop-$unknown');
  });

  it('names series by legendFormat, else by metric and labels', () => {
    expect(seriesLegend('{{route}} {{status}}', { route: '/a', status: '200' })).toBe('/a 200');
    expect(seriesLegend('{{missing}} p95', {})).toBe('p95');
    expect(seriesLegend(undefined, { __name__: 'up', job: 'x', instance: 'a' })).toBe(
      'up{instance="a", job="x"}',
    );
    expect(seriesLegend('', {})).toBe('value');
  });

  it('reduces a series with the panel calculation, lastNotNull by default', () => {
    const values = [1, 4, Number.NaN, 2, Number.NaN];
    expect(panelReducer([])).toBe('lastNotNull');
    expect(panelReducer(['median'])).toBe('lastNotNull');
    expect(reduceSeries(values, panelReducer(['mean']))).toBeCloseTo(7 / 3);
    expect(reduceSeries(values, 'lastNotNull')).toBe(2);
    expect(reduceSeries(values, 'last')).toBeNaN();
    expect(reduceSeries(values, 'max')).toBe(4);
    expect(reduceSeries(values, 'range')).toBe(3);
    expect(reduceSeries(values, 'diff')).toBe(1);
    expect(reduceSeries(values, 'count')).toBe(3);
    expect(reduceSeries([], 'mean')).toBeNull();
  });
});
