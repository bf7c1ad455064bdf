import { describe, expect, it } from 'vitest';
import { exploreLogsUrl } from '../../../functions/incident-timeline/incident-links.js';
import { planNotification } from '../../../functions/incident-timeline/lifecycle.js';
import type { IncidentTimeline, TimelineEvent } from '../../../functions/incident-timeline/model.js';
import { renderTimelineMarkdown } from '../../../functions/incident-timeline/timeline-markdown.js';
import { parseToillessConfig } from '../../../functions/shared/stack-config.js';
import { fastBurnCritical, notificationOf, sampleAppGroup } from './payloads.js';

const NOW = new Date('2026-11-28T08:45:00Z');
const config = parseToillessConfig('links:\n  grafanaUrl: https://grafana.example.com/\n');

async function openTimeline(events: readonly TimelineEvent[] = []): Promise<IncidentTimeline> {
  const payload = await sampleAppGroup([fastBurnCritical()]);
  const plan = planNotification({}, { id: notificationOf(payload).id, payload }, NOW);
  if (plan.kind === 'unchanged') throw new Error('expected the payload to open an incident');
  return { ...plan.timeline, events: [...events, ...plan.timeline.events] };
}

function event(at: string, summary: string, relevance: TimelineEvent['relevance']): TimelineEvent {
  return { at, kind: 'log.error', source: 'loki', summary, relevance, links: [], details: {} };
}

describe('Timeline Markdown', () => {
  it('renders the same bytes for the same timeline', async () => {
    // Prepare
    const timeline = await openTimeline();

    // Act
    const first = renderTimelineMarkdown(timeline, config);
    const second = renderTimelineMarkdown(structuredClone(timeline), config);

    // Assess
    expect(second).toBe(first);
    expect(first).toContain('| Status | Open |');
    expect(first).toContain('open for 5m 7s at the last update');
  });

  it('keeps text from sources from turning into Markdown syntax or breaking lines', async () => {
    // Prepare
    const timeline = await openTimeline([
      event(
        '2026-11-28T08:39:00Z',
        'panic: *boom* in [handler] <main>\nat | line 3 of _init_ in http_server',
        'high',
      ),
    ]);

    // Act
    const markdown = renderTimelineMarkdown(timeline, config);

    // Assess
    expect(markdown).toContain(
      '- 08:39:00 UTC — [log.error] panic: \\*boom\\* in \\[handler\\] \\<main\\> at \\| line 3 of \\_init\\_ in http_server (loki)',
    );
  });

  it('shows high and normal events in the timeline under a heading per UTC day, and low ones in the appendix', async () => {
    // Prepare
    const timeline = await openTimeline([
      event('2026-11-27T23:59:30Z', 'before midnight', 'normal'),
      event('2026-11-28T00:00:30Z', 'after midnight', 'high'),
      event('2026-11-28T08:00:00Z', 'routine line', 'low'),
    ]);

    // Act
    const markdown = renderTimelineMarkdown(timeline, config);

    // Assess
    const timelineSection = markdown.slice(
      markdown.indexOf('## Timeline (UTC)'),
      markdown.indexOf('## Appendix'),
    );
    const appendix = markdown.slice(markdown.indexOf('## Appendix'), markdown.indexOf('## Links'));
    expect(timelineSection).toMatch(
      /### 2026-11-27\n\n- 23:59:30 UTC — \[log\.error\] before midnight \(loki\)\n\n### 2026-11-28\n\n- 00:00:30 UTC/,
    );
    expect(timelineSection).not.toContain('routine line');
    expect(appendix).toContain('- 08:00:00 UTC — [log.error] routine line (loki)');
  });

  it("links Grafana Explore to the service's logs over the incident's time range", async () => {
    // Prepare
    const timeline = await openTimeline();

    // Act
    const url = new URL(exploreLogsUrl(config, timeline));

    // Assess
    expect(`${url.origin}${url.pathname}`).toBe('https://grafana.example.com/explore');
    const panes = JSON.parse(url.searchParams.get('panes') ?? '{}');
    expect(panes.incident.queries[0]).toMatchObject({
      expr: '{service_name="sample-app"}',
      datasource: { type: 'loki', uid: 'loki' },
    });
    expect(panes.incident.range).toEqual({
      from: String(Date.parse('2026-11-28T08:09:38Z')),
      to: String(NOW.getTime()),
    });
  });
});
