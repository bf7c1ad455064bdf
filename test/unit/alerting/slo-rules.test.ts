import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  GENERATED_HEADER,
  renderSloRuleFile,
  renderSloRuleFiles,
} from '../../../functions/alerting/slo-rules.js';
import { parseSloDefinitions } from '../../../functions/shared/slo-definitions.js';

interface Rule {
  readonly record?: string;
  readonly alert?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

interface RuleFile {
  readonly groups: readonly { readonly name: string; readonly rules: readonly Rule[] }[];
}

/** The checkout service's SLO, in slos.yaml's `services:` map. */
const CHECKOUT = `
  checkout:
    availability:
      objective: 99.9
      sli:
        type: availability
        metric: http_requests_total
        selector: 'service="checkout"'
        badSelector: 'status_code=~"5.."'`;

const slos = parseSloDefinitions(`
services:${CHECKOUT}
  mailer:
    delivery:
      objective: 99.5
      period: 28d
      minEvents: 50
      sli:
        type: raw
        errorQuery: sum(rate(mail_failed_total[{{window}}]))
        totalQuery: sum(rate(mail_sent_total[{{window}}])) + sum(rate(mail_failed_total[{{window}}]))
`);

function rulesOf(service: string): Rule[] {
  return (parseYaml(renderSloRuleFile(service, slos)) as RuleFile).groups.flatMap((group) => group.rules);
}

function rule(rules: readonly Rule[], name: string): Rule {
  const found = rules.find((candidate) => candidate.record === name || candidate.alert === name);
  if (found === undefined) throw new Error(`no rule ${name}`);
  return found;
}

describe('SLO rule generation', () => {
  it('writes one file per service, starting with the do-not-edit header', () => {
    // Act
    const files = renderSloRuleFiles(slos);

    // Assess
    expect([...files.keys()]).toEqual(['slo-checkout.yml', 'slo-mailer.yml']);
    for (const text of files.values()) expect(text.split('\n')[0]).toBe(GENERATED_HEADER);
  });

  it('is deterministic', () => {
    // Act
    const first = renderSloRuleFile('checkout', slos);
    const second = renderSloRuleFile('checkout', parseSloDefinitions(`services:${CHECKOUT}\n`));

    // Assess
    expect(second).toBe(first);
  });

  it('records an error ratio per window as bad events over all events in the window', () => {
    // Act
    const ratio = rule(rulesOf('checkout'), 'slo:sli_error:ratio_rate6h');

    // Assess
    expect(ratio.expr.replace(/\s+/g, ' ')).toBe(
      '( sum(rate(http_requests_total{service="checkout",status_code=~"5.."}[6h])) or vector(0) ) / ' +
        '(sum(rate(http_requests_total{service="checkout"}[6h])) > 0)',
    );
    expect(ratio.labels).toEqual({ service: 'checkout', slo: 'availability' });
  });

  it('weights the period ratio by traffic: sums of event rates, not an average of ratios', () => {
    // Act
    const period = rule(rulesOf('mailer'), 'slo:sli_error:ratio_period');

    // Assess
    expect(period.expr.replace(/\s+/g, ' ')).toBe(
      'sum_over_time(slo:sli_bad_events:rate5m{service="mailer",slo="delivery"}[28d]) / ' +
        '(sum_over_time(slo:sli_events:rate5m{service="mailer",slo="delivery"}[28d]) > 0)',
    );
  });

  it('records the objective, budget, burn rates and the unclamped budget remaining', () => {
    // Act
    const rules = rulesOf('checkout');

    // Assess
    expect(rule(rules, 'slo:objective:ratio').expr).toBe('vector(0.999)');
    expect(rule(rules, 'slo:error_budget:ratio').expr).toBe('vector(0.001)');
    expect(rule(rules, 'slo:time_period:days').expr).toBe('vector(30)');
    expect(rule(rules, 'slo:burn_rate:ratio_rate1h').expr).toBe(
      'slo:sli_error:ratio_rate1h{service="checkout",slo="availability"} / 0.001',
    );
    expect(rule(rules, 'slo:error_budget_remaining:ratio').expr).toBe(
      '1 - slo:sli_error:ratio_period{service="checkout",slo="availability"} / 0.001',
    );
  });

  it('pages when both windows of a pair burn fast, and tickets when both burn slowly', () => {
    // Act
    const rules = rulesOf('checkout');
    const fast = rule(rules, 'FastBurnRate');
    const slow = rule(rules, 'SlowBurnRate');

    // Assess
    expect(fast.expr.replace(/\s+/g, ' ')).toBe(
      '( slo:sli_error:ratio_rate1h{service="checkout",slo="availability"} > (14.4 * 0.001) and ' +
        'slo:sli_error:ratio_rate5m{service="checkout",slo="availability"} > (14.4 * 0.001) ) or ' +
        '( slo:sli_error:ratio_rate6h{service="checkout",slo="availability"} > (6 * 0.001) and ' +
        'slo:sli_error:ratio_rate30m{service="checkout",slo="availability"} > (6 * 0.001) )',
    );
    expect(fast.for).toBe('2m');
    expect(fast.labels).toEqual({ severity: 'critical', service: 'checkout', slo: 'availability' });
    expect(fast.annotations?.['runbook_url']).toBe('runbooks/fast-burn-rate.md');
    expect(fast.annotations?.['dashboard_url']).toBe(
      '/d/slo-error-budget/slo-error-budget?var-service=checkout&var-slo=availability',
    );
    expect(fast.annotations?.['description']).toContain(
      'above 1.44% (14.4x the 0.1% budget) over both 1h and 5m',
    );
    expect(slow.expr).toContain(
      'slo:sli_error:ratio_rate3d{service="checkout",slo="availability"} > (1 * 0.001)',
    );
    expect(slow.for).toBeUndefined();
    expect(slow.labels).toEqual({ severity: 'warning', service: 'checkout', slo: 'availability' });
    expect(slow.annotations?.['runbook_url']).toBe('runbooks/slow-burn-rate.md');
  });

  it('fills the window into raw queries', () => {
    // Act
    const ratio = rule(rulesOf('mailer'), 'slo:sli_error:ratio_rate3d');

    // Assess
    expect(ratio.expr).toContain('sum(rate(mail_failed_total[3d]))');
    expect(ratio.expr).toContain('sum(rate(mail_sent_total[3d])) + sum(rate(mail_failed_total[3d]))');
    expect(ratio.expr).not.toContain('{{window}}');
  });

  it('holds an alert pair back until its long window saw minEvents events', () => {
    // Act
    const fast = rule(rulesOf('mailer'), 'FastBurnRate');

    // Assess
    expect(fast.expr.replace(/\s+/g, ' ')).toContain(
      'and on() (sum( sum(rate(mail_sent_total[1h])) + sum(rate(mail_failed_total[1h])) ) * 3600) >= 50',
    );
    expect(fast.expr.replace(/\s+/g, ' ')).toContain('* 21600) >= 50');
  });

  it('does not guard the alerts with a minimum when minEvents is 0', () => {
    // Act
    const fast = rule(rulesOf('checkout'), 'FastBurnRate');

    // Assess
    expect(fast.expr).not.toContain('on()');
  });
});
