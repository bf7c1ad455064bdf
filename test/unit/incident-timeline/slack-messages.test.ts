import { describe, expect, it } from 'vitest';
import { linkPolicy } from '../../../functions/incident-timeline/incident-links.js';
import type { IncidentChanges } from '../../../functions/incident-timeline/lifecycle.js';
import type { IncidentTimeline, TimelineEvent } from '../../../functions/incident-timeline/model.js';
import {
  durationOf,
  finalReply,
  mrkdwnText,
  plainText,
  rootMessage,
  summaryReply,
  truncationNote,
  updateReply,
} from '../../../functions/incident-timeline/slack-messages.js';
import { parseToillessConfig } from '../../../functions/shared/stack-config.js';
import { openedTimeline } from './timelines.js';

const config = parseToillessConfig(
  [
    'links:',
    '  grafanaUrl: https://grafana.example.com',
    '  runbooksUrl: https://github.com/acme/observability/blob/main/stack-config',
  ].join('\n'),
);
const policy = linkPolicy(config);

function event(overrides: Partial<TimelineEvent> = {}): TimelineEvent {
  return {
    at: '2026-11-28T08:35:12Z',
    kind: 'deployment',
    source: 'deployments',
    summary: 'acme/sample-app 4f2c9e1 deployed to production',
    relevance: 'high',
    links: [],
    details: {},
    ...overrides,
  };
}

function texts(message: { blocks?: readonly Record<string, unknown>[] }): string {
  return JSON.stringify(message.blocks ?? []);
}

const NO_CHANGES: IncidentChanges = { opened: false, resolved: false, events: [] };

describe('Slack messages of an incident', () => {
  describe('the root message', () => {
    it('shows status, severity, service, onset and the links of an open incident', async () => {
      // Prepare
      const timeline = await openedTimeline();

      // Act
      const message = rootMessage(timeline, config, policy);

      // Assess
      expect(message.text).toMatch(/^Open \[critical\] .+: estimated onset 2026-11-28 08:39:38 UTC$/);
      const blocks = texts(message);
      expect(blocks).toContain(':rotating_light:');
      expect(blocks).toContain('*Service*\\nsample-app');
      expect(blocks).toContain('*First alert*');
      expect(blocks).toContain('<https://grafana.example.com/explore?');
      expect(blocks).toContain(
        '<https://github.com/acme/observability/blob/main/stack-config/runbooks/fast-burn-rate.md|',
      );
    });

    it('shows a resolved incident with its duration instead of its first alert', async () => {
      // Prepare
      const opened = await openedTimeline();
      const timeline: IncidentTimeline = {
        ...opened,
        status: 'resolved',
        resolvedAt: new Date(Date.parse(opened.startedAt) + 3_723_000).toISOString(),
      };

      // Act
      const message = rootMessage(timeline, config, policy);

      // Assess
      expect(message.text).toMatch(/, resolved after 1h 2m 3s$/);
      expect(texts(message)).toContain('*Duration*\\n1h 2m 3s');
      expect(texts(message)).toContain(':white_check_mark:');
      expect(texts(message)).not.toContain('*First alert*');
    });

    it('escapes an alert title that tries to ping a channel, in the fallback and in the header', async () => {
      // Prepare
      const timeline = { ...(await openedTimeline()), title: '<!channel> & <https://evil.example|click>' };

      // Act
      const message = rootMessage(timeline, config, policy);

      // Assess
      expect(message.text).toContain('&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;');
      expect(message.text).not.toContain('<!channel>');
      const header = message.blocks?.[0] as { text: { text: string } };
      expect(header.text.text).toBe(':rotating_light: ‹!channel› & ‹https://evil.example|click›');
    });

    it("keeps the header within Slack's 150 characters", async () => {
      // Prepare
      const timeline = { ...(await openedTimeline()), title: 'x'.repeat(1_000) };

      // Act
      const header = rootMessage(timeline, config, policy).blocks?.[0] as { text: { text: string } };

      // Assess
      expect(header.text.text.length).toBe(150);
      expect(header.text.text.endsWith('…')).toBe(true);
    });

    it('shows a runbook link to a host toilless does not know as text naming the host', async () => {
      // Prepare
      const opened = await openedTimeline();
      const timeline: IncidentTimeline = {
        ...opened,
        alerts: opened.alerts.map((alert) => ({
          ...alert,
          annotations: { ...alert.annotations, runbook_url: 'https://evil.example/runbook' },
        })),
      };

      // Act
      const blocks = texts(rootMessage(timeline, config, policy));

      // Assess
      expect(blocks).toContain('(evil.example, not linked)');
      expect(blocks).not.toContain('<https://evil.example');
    });
  });

  describe('replies', () => {
    it('lists the high-relevance events only, with their time, kind and source', async () => {
      // Prepare
      const timeline = {
        ...(await openedTimeline()),
        events: [event(), event({ kind: 'log.spike', source: 'loki', summary: 'noise', relevance: 'low' })],
      };

      // Act
      const message = summaryReply(timeline, policy);

      // Assess
      const blocks = texts(message);
      expect(blocks).toContain(
        '`08:35:12 UTC` [deployment] acme/sample-app 4f2c9e1 deployed to production (deployments)',
      );
      expect(blocks).not.toContain('noise');
    });

    it('says when there is nothing of high relevance yet', async () => {
      // Prepare
      const timeline = { ...(await openedTimeline()), events: [] };

      // Act
      const message = summaryReply(timeline, policy);

      // Assess
      expect(texts(message)).toContain('_No high-relevance events yet._');
    });

    it('shows at most 40 events and counts the rest as being in timeline.md', async () => {
      // Prepare
      const events = Array.from({ length: 55 }, (_, index) =>
        event({
          at: new Date(Date.UTC(2026, 10, 28, 8, 0, index)).toISOString(),
          summary: `deploy ${index}`,
        }),
      );
      const timeline = { ...(await openedTimeline()), events };

      // Act
      const message = summaryReply(timeline, policy);

      // Assess
      const blocks = texts(message);
      expect(blocks).toContain('deploy 39');
      expect(blocks).not.toContain('deploy 40 ');
      expect(blocks).toContain('_…and 15 more events in timeline.md_');
    });

    it('keeps a reply of very long events within the message size Slack accepts', async () => {
      // Prepare
      const events = Array.from({ length: 40 }, (_, index) =>
        event({ summary: `${index} ${'y'.repeat(5_000)}` }),
      );
      const timeline = { ...(await openedTimeline()), events };

      // Act
      const message = summaryReply(timeline, policy);

      // Assess
      const sections = (message.blocks ?? []).map((block) => (block as { text: { text: string } }).text.text);
      expect(sections.every((text) => text.length <= 3_000)).toBe(true);
      expect(sections.reduce((sum, text) => sum + text.length, 0)).toBeLessThanOrEqual(12_000 + 100);
      expect(sections.at(-1)).toMatch(/^_…and \d+ more events in timeline\.md_$/);
      expect(message.text.length).toBeLessThanOrEqual(3_000);
    });

    it('says nothing for an update that changes nothing people need to see', () => {
      // Act
      const reply = updateReply(
        { ...NO_CHANGES, events: [event({ relevance: 'normal', kind: 'log.error' })] },
        policy,
      );

      // Assess
      expect(reply).toBeUndefined();
    });

    it('replies with an escalation of severity and the alerts left out', () => {
      // Act
      const reply = updateReply(
        { ...NO_CHANGES, severity: { from: 'warning', to: 'critical' }, truncatedAlerts: 1 },
        policy,
      );

      // Assess
      const blocks = texts(reply ?? {});
      expect(blocks).toContain(':arrow_up: Severity *warning* → *critical*');
      expect(blocks).toContain(':warning: 1 alert was left out of the notification');
    });

    it('closes with the duration, or says it is unknown without a resolution', async () => {
      // Prepare
      const opened = await openedTimeline();
      const resolved = {
        ...opened,
        resolvedAt: new Date(Date.parse(opened.startedAt) + 90_000).toISOString(),
      };

      // Act
      const closing = finalReply(resolved, policy);
      const unknown = finalReply(opened, policy);

      // Assess
      expect(closing.text).toMatch(/^:white_check_mark: \*Resolved\* after 1m 30s\./);
      expect(unknown.text).toMatch(/^:white_check_mark: \*Resolved\* after an unknown time\./);
    });
  });

  describe('text helpers', () => {
    it('escapes the three mrkdwn control characters and clips before escaping', () => {
      // Act & Assess
      expect(mrkdwnText('a < b && c > d')).toBe('a &lt; b &amp;&amp; c &gt; d');
      expect(mrkdwnText('<'.repeat(10_000))).toBe(`${'&lt;'.repeat(1_999)}…`);
    });

    it('turns angle brackets into look-alikes for plain_text fields', () => {
      // Act & Assess
      expect(plainText('<@U123> <#C1>')).toBe('‹@U123› ‹#C1›');
    });

    it('counts left-out alerts in the singular and the plural', () => {
      // Act & Assess
      expect(truncationNote(1)).toContain('1 alert was left out');
      expect(truncationNote(3)).toContain('3 alerts were left out');
    });

    it('has no duration for an open incident', async () => {
      // Act & Assess
      expect(durationOf(await openedTimeline())).toBeUndefined();
    });
  });
});
