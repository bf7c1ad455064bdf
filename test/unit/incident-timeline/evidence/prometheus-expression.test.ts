import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  alertExpression,
  constantValue,
  parseAlertCondition,
  rangeStepSeconds,
  summariseCondition,
} from '../../../../functions/incident-timeline/sources/prometheus.js';

async function fixtureGeneratorUrl(): Promise<string> {
  const text = await readFile(
    new URL('../../../fixtures/alertmanager/firing-fastburnrate.json', import.meta.url),
    'utf8',
  );
  return JSON.parse(text).body.alerts[0].generatorURL;
}

describe('Alert expressions from generatorURL', () => {
  it('reads g0.expr of the captured FastBurnRate alert as a threshold on its error ratio', async () => {
    // Prepare
    const generatorURL = await fixtureGeneratorUrl();

    // Act
    const expr = alertExpression(generatorURL);
    const condition = parseAlertCondition(expr ?? '');

    // Assess
    expect(expr).toBe(
      'sum(rate(http_requests_total{service="sample-app",status_code=~"5.."}[5m])) / sum(rate(http_requests_total{service="sample-app"}[5m])) > 0.144',
    );
    expect(condition).toEqual({
      kind: 'threshold',
      expr,
      lhs: 'sum(rate(http_requests_total{service="sample-app",status_code=~"5.."}[5m])) / sum(rate(http_requests_total{service="sample-app"}[5m]))',
      operator: '>',
      threshold: 0.144,
    });
  });

  it('has no expression for a generatorURL without g0.expr or one that is not a URL', () => {
    expect(alertExpression('http://prometheus:9090/graph?g0.tab=1')).toBeUndefined();
    expect(alertExpression('http://[not a url')).toBeUndefined();
    expect(alertExpression('')).toBeUndefined();
  });

  it('evaluates a constant threshold and unwraps parentheses', () => {
    const condition = parseAlertCondition(
      '(slo:sli_error:ratio_rate5m{service="sample-app"} > (14.4 * 0.01))',
    );

    expect(condition).toMatchObject({
      kind: 'threshold',
      lhs: 'slo:sli_error:ratio_rate5m{service="sample-app"}',
      operator: '>',
    });
    expect(condition.kind === 'threshold' && condition.threshold).toBeCloseTo(0.144, 12);
  });

  it('turns a number on the left into a threshold on the right', () => {
    expect(parseAlertCondition('0.5 < probe_success{job="blackbox"}')).toMatchObject({
      kind: 'threshold',
      lhs: 'probe_success{job="blackbox"}',
      operator: '>',
      threshold: 0.5,
    });
  });

  it('ignores comparison characters inside label values and range selectors', () => {
    expect(parseAlertCondition('rate(http_requests_total{path=">=<"}[5m]) <= 3')).toMatchObject({
      kind: 'threshold',
      lhs: 'rate(http_requests_total{path=">=<"}[5m])',
      operator: '<=',
      threshold: 3,
    });
  });

  it('evaluates multi-window rules, equality, bool and comparisons of two series whole', () => {
    const generated = `(
  slo:sli_error:ratio_rate1h{service="sample-app",slo="availability"} > (14.4 * 0.01)
  and
  slo:sli_error:ratio_rate5m{service="sample-app",slo="availability"} > (14.4 * 0.01)
)
or
(
  slo:sli_error:ratio_rate6h{service="sample-app",slo="availability"} > (6 * 0.01)
  and
  slo:sli_error:ratio_rate30m{service="sample-app",slo="availability"} > (6 * 0.01)
)`;
    for (const expr of [generated, 'up{job="node"} == 0', 'errors > bool 1', 'errors > on(job) limit']) {
      expect(parseAlertCondition(expr)).toEqual({ kind: 'expression', expr });
    }
  });

  it('computes constant arithmetic and refuses anything else', () => {
    expect(constantValue('(14.4 * 0.01)')).toBeCloseTo(0.144, 12);
    expect(constantValue('-2 ^ 2')).toBe(-4);
    expect(constantValue('1e3 / 4 - 0x10')).toBe(234);
    expect(constantValue('vector(1)')).toBeUndefined();
    expect(constantValue('1 +')).toBeUndefined();
  });
});

describe('Condition summaries', () => {
  const at = (minute: number) => new Date(Date.UTC(2026, 10, 28, 8, minute));
  const series = (metric: Record<string, string>, values: number[]) => ({
    metric,
    points: values.map((value, i) => ({ at: at(i), value })),
  });

  it('finds the first point above the threshold and the peak across series', () => {
    const condition = parseAlertCondition('ratio > 0.144');

    const summary = summariseCondition(condition, [
      series({ instance: 'a' }, [0.01, 0.1, 0.15, 0.31, 0.2]),
      series({ instance: 'b' }, [0.01, 0.02, 0.03, 0.4, Number.NaN]),
    ]);

    expect(summary).toEqual({
      firstTrue: { at: at(2), value: 0.15, metric: { instance: 'a' } },
      extreme: { at: at(3), value: 0.4, metric: { instance: 'b' } },
    });
  });

  it('finds the first point below and the lowest value for a < rule', () => {
    const summary = summariseCondition(parseAlertCondition('probe_success < 0.9'), [
      series({}, [1, 1, 0.5, 0, 1]),
    ]);

    expect(summary.firstTrue?.at).toEqual(at(2));
    expect(summary.extreme).toMatchObject({ at: at(3), value: 0 });
  });

  it('takes the first point of a whole expression as the time its condition first held', () => {
    const summary = summariseCondition(parseAlertCondition('a > 1 and b > 1'), [
      {
        metric: {},
        points: [
          { at: at(7), value: 3 },
          { at: at(8), value: 5 },
        ],
      },
    ]);

    expect(summary).toEqual({
      firstTrue: { at: at(7), value: 3, metric: {} },
      extreme: { at: at(8), value: 5, metric: {} },
    });
  });

  it('steps at 15 s for short windows and keeps about 300 points for long ones', () => {
    expect(rangeStepSeconds(at(0), at(40))).toBe(15);
    expect(rangeStepSeconds(new Date('2026-11-20T00:00:00Z'), new Date('2026-11-28T00:00:00Z'))).toBe(2304);
  });
});
