import { describe, expect, it } from 'vitest';
import type { TimelineEvent } from '../../../functions/incident-timeline/model.js';
import { mergeEvents } from '../../../functions/incident-timeline/timeline-events.js';

const event = (
  summary: string,
  details: Record<string, unknown> = {},
  at = '2026-11-28T08:40:00.000Z',
): TimelineEvent => ({
  at,
  kind: 'log.error',
  source: 'loki',
  summary,
  relevance: 'normal',
  links: [],
  details,
});

describe('Merging timeline events', () => {
  it('replaces re-gathered keyed evidence with its newer copy without announcing it again', () => {
    // Prepare
    const first = event('timeout talking to payments (12 lines)', {
      key: 'loki:template:timeout',
      count: 12,
    });
    const refreshed = event('timeout talking to payments (40 lines)', {
      key: 'loki:template:timeout',
      count: 40,
    });

    // Act
    const merged = mergeEvents([first], [refreshed]);

    // Assess
    expect(merged.events).toEqual([refreshed]);
    expect(merged.added).toEqual([]);
  });

  it('keeps the first copy of an unkeyed event and adds only new ones, in time order', () => {
    // Prepare
    const firing = event('FastBurnRate firing', {}, '2026-11-28T08:39:53.000Z');
    const later = event('connection refused', {}, '2026-11-28T08:45:00.000Z');

    // Act
    const merged = mergeEvents([firing], [later, { ...firing, details: { extra: true } }]);

    // Assess
    expect(merged.events).toEqual([firing, later]);
    expect(merged.added).toEqual([later]);
  });
});
