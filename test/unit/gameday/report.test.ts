import { describe, expect, it } from 'vitest';
import { expectationFromWait, notApplicable } from '../../../bin/gameday/expectations.js';
import type { GamedayResult, ScenarioResult } from '../../../bin/gameday/result.js';
import { expectationsPassed } from '../../../bin/gameday/result.js';
import { renderGamedayMarkdown } from '../../../bin/gameday/run.js';

const TRIGGER = '2026-12-06T10:00:00.000Z';

function latency(overrides: Partial<ScenarioResult> = {}): ScenarioResult {
  return {
    name: 'latency',
    passed: true,
    startedAt: TRIGGER,
    finishedAt: '2026-12-06T10:12:00.000Z',
    milestones: {
      trigger: TRIGGER,
      firing: '2026-12-06T10:06:05.000Z',
      notified: '2026-12-06T10:06:40.000Z',
    },
    expectations: [
      {
        id: 'alert-firing:HighLatencyP95',
        description: 'HighLatencyP95 fires in Prometheus',
        outcome: { status: 'held', at: '2026-12-06T10:06:05.000Z', detail: 'active since 10:01' },
      },
      notApplicable(
        'timeline-logs',
        'the timeline holds the slow log lines (Loki)',
        'Loki is not configured here',
      ),
    ],
    incidentId: '20261206T1006-sample-app-0a1b2c3d',
    ...overrides,
  };
}

function result(scenarios: ScenarioResult[], overrides: Partial<GamedayResult> = {}): GamedayResult {
  return {
    passed: scenarios.every((s) => s.passed),
    startedAt: TRIGGER,
    finishedAt: '2026-12-06T10:12:00.000Z',
    aborted: false,
    scenarios,
    report: { pdf: { status: 'skipped', why: 'Prometheus is not reachable' } },
    ...overrides,
  };
}

describe('expectations', () => {
  it('pass when every applicable one held; not applicable ones do not count against', () => {
    expect(expectationsPassed(latency().expectations)).toBe(true);
    const failed = expectationFromWait('x', 'x fires', {
      kind: 'timed-out',
      after: 90_000,
      lastSeen: 'x pending',
    });
    expect(expectationsPassed([...latency().expectations, failed])).toBe(false);
    expect(failed.outcome).toEqual({ status: 'failed', seen: 'not within 90 s; last seen: x pending' });
  });

  it('say an aborted wait was stopped, not that the platform failed', () => {
    const stopped = expectationFromWait('x', 'x fires', { kind: 'aborted', lastSeen: 'x pending' });
    expect(stopped.outcome).toEqual({
      status: 'failed',
      seen: 'the run was stopped before it was seen; last seen: x pending',
    });
  });
});

describe('the game-day Markdown report', () => {
  it('has a table per scenario with each expectation, its result and its time from the trigger', () => {
    const text = renderGamedayMarkdown(result([latency()]));
    expect(text).toContain('## latency: passed');
    expect(text).toContain('| HighLatencyP95 fires in Prometheus | held | +6 min 5 s | active since 10:01 |');
    expect(text).toContain(
      '| the timeline holds the slow log lines (Loki) | not applicable |  | Loki is not configured here |',
    );
    expect(text).toContain('| incident at toilless | 2026-12-06T10:06:40.000Z | +6 min 40 s |');
    expect(text).toContain('| Slack message | not seen |  |');
    expect(text).toContain('No dashboard PDF: Prometheus is not reachable.');
  });

  it('says the rule windows were shortened and the shipped rules unchanged when a time scale is set', () => {
    const text = renderGamedayMarkdown(
      result([latency()], { timeScale: { factor: 0.05, description: 'rules/*.yml for and windows x0.05' } }),
    );
    expect(text).toContain('rule windows shortened by a factor of 1/20; the shipped rules are unchanged.');
    expect(renderGamedayMarkdown(result([latency()]))).not.toContain('shortened');
    const thirtieth = renderGamedayMarkdown(
      result([latency()], { timeScale: { factor: 1 / 30, description: '' } }),
    );
    expect(thirtieth).toContain('rule windows shortened by a factor of 1/30;');
  });

  it('marks a failed expectation and the scenario, with what was seen', () => {
    const failing = latency({
      passed: false,
      expectations: [
        {
          id: 'alert-firing:FastBurnRate',
          description: 'FastBurnRate fires in Prometheus',
          outcome: { status: 'failed', seen: 'not within 5 min; last seen: FastBurnRate pending' },
        },
      ],
    });
    const text = renderGamedayMarkdown(result([failing]));
    expect(text).toContain('## latency: FAILED');
    expect(text).toContain(
      '| FastBurnRate fires in Prometheus | **failed** |  | not within 5 min; last seen: FastBurnRate pending |',
    );
    expect(text).toMatch(/^Some expectations failed: 0 held, 1 failed/m);
  });

  it('keeps text from the platform inside its cell: no pipes, line breaks, links or HTML', () => {
    const hostile = latency({
      expectations: [
        {
          id: 'x',
          description: 'x',
          outcome: { status: 'failed', seen: 'a | b\n# heading [link](http://evil) <img src=x>' },
        },
      ],
    });
    const row = renderGamedayMarkdown(result([hostile]))
      .split('\n')
      .find((line) => line.startsWith('| x |'));
    expect(row).toBe('| x | **failed** |  | a \\| b # heading \\[link\\](http://evil) \\<img src=x\\> |');
  });
});
