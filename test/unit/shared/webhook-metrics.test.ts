import { describe, expect, it } from 'vitest';
import { withFirstZeros } from '../../../functions/shared/adapters/aws/intake-metrics-push.js';
import { pushDue } from '../../../functions/shared/adapters/aws/metered-webhook-lambda.js';
import { IntakeCounters, WEBHOOK_DURATION } from '../../../functions/shared/webhook-metrics.js';

const LABELS = { job: 'toilless', instance: 'fn/1' };

function byName(counters: IntakeCounters): Record<string, number> {
  return Object.fromEntries(
    counters.series(LABELS, 5_000).map((series) => [
      `${series.labels.__name__}{${Object.entries(series.labels)
        .filter(([name]) => !['__name__', 'job', 'instance'].includes(name))
        .map(([name, value]) => `${name}=${value}`)
        .join(',')}}`,
      series.samples[0]?.value ?? Number.NaN,
    ]),
  );
}

describe('Intake counters', () => {
  it('count answers by route and status, their latency as a cumulative histogram, and published events by type', () => {
    // Prepare
    const counters = new IntakeCounters();

    // Act
    counters.answered('/webhooks/github', 200, 0.004);
    counters.answered('/webhooks/github', 200, 0.3);
    counters.answered('/webhooks/github', 503, 7);
    counters.published(['GitHubPush', 'GitHubPush', 'GitHubWorkflowRun']);

    // Assess
    const series = byName(counters);
    expect(series).toMatchObject({
      'toilless_webhook_requests_total{route=/webhooks/github,status=200}': 2,
      'toilless_webhook_requests_total{route=/webhooks/github,status=503}': 1,
      'toilless_webhook_request_duration_seconds_bucket{route=/webhooks/github,le=0.0025}': 0,
      'toilless_webhook_request_duration_seconds_bucket{route=/webhooks/github,le=0.005}': 1,
      'toilless_webhook_request_duration_seconds_bucket{route=/webhooks/github,le=0.25}': 1,
      'toilless_webhook_request_duration_seconds_bucket{route=/webhooks/github,le=0.5}': 2,
      'toilless_webhook_request_duration_seconds_bucket{route=/webhooks/github,le=2.5}': 2,
      'toilless_webhook_request_duration_seconds_bucket{route=/webhooks/github,le=+Inf}': 3,
      'toilless_webhook_request_duration_seconds_count{route=/webhooks/github}': 3,
      'toilless_events_published_total{type=GitHubPush}': 2,
      'toilless_events_published_total{type=GitHubWorkflowRun}': 1,
    });
    expect(series['toilless_webhook_request_duration_seconds_sum{route=/webhooks/github}']).toBeCloseTo(
      7.304,
    );
    expect(Object.keys(series).filter((name) => name.includes('_bucket'))).toHaveLength(
      WEBHOOK_DURATION.buckets.length + 1,
    );
  });

  it('give every series the push labels, which win over none of their own', () => {
    // Prepare
    const counters = new IntakeCounters();
    counters.answered('/webhooks/alertmanager', 401, 0.001);

    // Act
    const [first] = counters.series(LABELS, 5_000);

    // Assess
    expect(first).toEqual({
      labels: {
        __name__: 'toilless_webhook_requests_total',
        route: '/webhooks/alertmanager',
        status: '401',
        job: 'toilless',
        instance: 'fn/1',
      },
      samples: [{ value: 1, timestampMs: 5_000 }],
    });
  });
});

describe('First zeros of pushed series', () => {
  it('put a 0 before the value of each series Prometheus has not seen, and leave the known ones alone', () => {
    // Prepare
    const series = [
      { labels: { __name__: 'a_total' }, samples: [{ value: 3, timestampMs: 9_000 }] },
      { labels: { __name__: 'b_total' }, samples: [{ value: 1, timestampMs: 9_000 }] },
    ];
    const known = new Set([JSON.stringify([['__name__', 'a_total']])]);

    // Act
    const pushed = withFirstZeros(series, known, 4_000);

    // Assess
    expect(pushed.map((one) => one.samples)).toEqual([
      [{ value: 3, timestampMs: 9_000 }],
      [
        { value: 0, timestampMs: 4_000 },
        { value: 1, timestampMs: 9_000 },
      ],
    ]);
  });

  it('add no zero that would not come before the value', () => {
    // Act
    const pushed = withFirstZeros(
      [{ labels: { __name__: 'a_total' }, samples: [{ value: 1, timestampMs: 4_000 }] }],
      new Set(),
      4_000,
    );

    // Assess
    expect(pushed[0]?.samples).toEqual([{ value: 1, timestampMs: 4_000 }]);
  });
});

describe('Push pacing', () => {
  it('pushes on the first answer of an environment, then once the interval has passed', () => {
    // Assess
    expect(pushDue(undefined, 1_000, 2_000)).toBe(true);
    expect(pushDue(1_000, 2_999, 2_000)).toBe(false);
    expect(pushDue(1_000, 3_000, 2_000)).toBe(true);
  });
});
