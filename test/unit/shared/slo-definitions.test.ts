import { describe, expect, it } from 'vitest';
import { parseSloDefinitions, SloDefinitionError } from '../../../functions/shared/slo-definitions.js';

const availability = `
services:
  checkout:
    availability:
      description: Orders accepted without a server error.
      objective: 99.9
      sli:
        type: availability
        metric: http_requests_total
        selector: 'service="checkout"'
        badSelector: 'status_code=~"5.."'
`;

function problemsOf(text: string): readonly string[] {
  try {
    parseSloDefinitions(text);
  } catch (error) {
    if (error instanceof SloDefinitionError) return error.problems;
    throw error;
  }
  throw new Error('expected slos.yaml to be rejected');
}

function withSlo(slo: string): string {
  return `services:\n  sample-app:\n    latency:\n${slo
    .trim()
    .split('\n')
    .map((line) => `      ${line}`)
    .join('\n')}\n`;
}

describe('SLO definitions (slos.yaml)', () => {
  it('derives the objective and error budget as exact decimals', () => {
    // Act
    const [slo] = parseSloDefinitions(availability);

    // Assess
    expect(slo).toMatchObject({
      service: 'checkout',
      name: 'availability',
      objectivePercent: '99.9',
      objective: '0.999',
      errorBudget: '0.001',
      period: '30d',
      periodDays: 30,
      minEvents: 0,
      sli: {
        type: 'availability',
        metric: 'http_requests_total',
        selector: [{ name: 'service', operator: '=', quotedValue: '"checkout"' }],
        bad: [{ name: 'status_code', operator: '=~', quotedValue: '"5.."' }],
      },
    });
  });

  it('reads a latency threshold written as a number the way client libraries write le', () => {
    // Act
    const [slo] = parseSloDefinitions(
      withSlo(`
objective: 95
sli:
  type: latency
  metric: http_request_duration_seconds
  selector: '{service="sample-app", status_code!~"5.."}'
  threshold: 0.5`),
    );

    // Assess
    expect(slo?.sli).toEqual({
      type: 'latency',
      metric: 'http_request_duration_seconds',
      selector: [
        { name: 'service', operator: '=', quotedValue: '"sample-app"' },
        { name: 'status_code', operator: '!~', quotedValue: '"5.."' },
      ],
      threshold: '0.5',
    });
  });

  it('names the service, SLO and field of an objective out of range', () => {
    // Act
    const error = (() => {
      try {
        parseSloDefinitions(
          withSlo(
            'objective: 150\nsli: {type: raw, errorQuery: "e[{{window}}]", totalQuery: "t[{{window}}]"}',
          ),
        );
      } catch (caught) {
        return caught as Error;
      }
      return undefined;
    })();

    // Assess
    expect(error).toBeInstanceOf(SloDefinitionError);
    expect(error?.message).toBe(
      'slos.yaml: sample-app/latency: objective: must be between 0 and 100 (exclusive)',
    );
  });

  it('rejects an objective so loose that the fast-burn page could never fire', () => {
    // Act
    const problems = problemsOf(
      withSlo('objective: 93\nsli: {type: raw, errorQuery: "e[{{window}}]", totalQuery: "t[{{window}}]"}'),
    );

    // Assess
    expect(problems).toEqual([
      'sample-app/latency: objective: 93 is too loose for burn-rate alerting: the fast-burn page needs an error ' +
        'ratio above 14.4 x the 7% budget = 100.8%, which can never happen, so the page could never fire; ' +
        'use an objective above 93.06',
    ]);
  });

  it('accepts the loosest objective that can still page', () => {
    // Act
    const [slo] = parseSloDefinitions(
      withSlo('objective: 93.1\nsli: {type: raw, errorQuery: "e[{{window}}]", totalQuery: "t[{{window}}]"}'),
    );

    // Assess
    expect(slo?.errorBudget).toBe('0.069');
  });

  it('lists every problem with its field', () => {
    // Act
    const problems = problemsOf(
      withSlo(`
objective: 99
period: 2d
minEvents: -1
sli:
  type: latency
  metric: http_request_duration_seconds_bucket
  selector: 'service=sample-app'
  threshold: 500ms`),
    );

    // Assess
    expect(problems).toEqual([
      'sample-app/latency: period: must be a whole number of days, at least 7d (the longest alert window is 3d), e.g. 30d',
      'sample-app/latency: minEvents: must be 0 or more',
      'sample-app/latency: sli.metric: give the histogram name without _bucket, e.g. http_request_duration_seconds',
      expect.stringMatching(
        /^sample-app\/latency: sli\.selector: cannot read label matchers at "service=sample-app"/,
      ),
      'sample-app/latency: sli.threshold: must be a positive number written exactly as the le label of a histogram bucket, e.g. "0.5"',
    ]);
  });

  it('requires the window placeholder in raw queries', () => {
    // Act
    const problems = problemsOf(
      withSlo(
        'objective: 99\nsli: {type: raw, errorQuery: "sum(rate(e[5m]))", totalQuery: "sum(rate(t[{{window}}]))"}',
      ),
    );

    // Assess
    expect(problems).toEqual([
      'sample-app/latency: sli.errorQuery: must contain the range placeholder [{{window}}], e.g. sum(rate(my_errors_total[{{window}}]))',
    ]);
  });

  it('points at misspelt fields and unknown SLI types', () => {
    // Act
    const problems = problemsOf(withSlo('objectve: 99\nsli: {type: ratio}'));

    // Assess
    expect(problems).toEqual([
      'sample-app/latency: objective: must be a number of percent, e.g. 99 or 99.9',
      'sample-app/latency: sli.type: needs type: availability (a counter), latency (a histogram) or raw (PromQL queries)',
      'sample-app/latency: unknown field "objectve": check the spelling',
    ]);
  });

  it('refuses service names that cannot be labels and file names', () => {
    // Act
    const problems = problemsOf('services:\n  Sample_App: {}\n');

    // Assess
    expect(problems).toEqual(['services: "Sample_App": service names are lower-case kebab-case']);
  });

  it('says when the file is not YAML', () => {
    // Act
    const problems = problemsOf('services: [unclosed');

    // Assess
    expect(problems[0]).toMatch(/^not valid YAML: /);
  });
});
