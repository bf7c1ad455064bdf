import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { markdownKey, timelineKey } from '../../../functions/incident-timeline/incident-identity.js';
import type {
  EvidenceGatherer,
  EvidenceRequest,
  IncidentTimeline,
  TimelineEvent,
} from '../../../functions/incident-timeline/model.js';
import { WORK_LEASE_MS } from '../../../functions/incident-timeline/pending-work.js';
import { buildTimelineOnce } from '../../../functions/incident-timeline/timeline-preview.js';
import { createIncidentTimelineWorker } from '../../../functions/incident-timeline/worker.js';
import { FsObjectStore } from '../../../functions/shared/adapters/local/fs-object-store.js';
import { SlackNotifier } from '../../../functions/shared/adapters/slack/slack-notifier.js';
import { EventPublishError } from '../../../functions/shared/errors.js';
import type { ToillessEvent } from '../../../functions/shared/events/types.js';
import { createLogger, type Logger, silentLogger } from '../../../functions/shared/log.js';
import type { Clock } from '../../../functions/shared/ports/clock.js';
import { parseToillessConfig } from '../../../functions/shared/stack-config.js';
import { RecordingBus } from '../../support/recording-bus.js';
import {
  type SlackApiServer,
  type SlackMessage,
  startSlackApiServer,
} from '../../support/slack-api-server.js';
import {
  capturedPayload,
  fastBurnCritical,
  notificationOf,
  resolved,
  resolvedAll,
  sampleAppGroup,
  slowBurnWarning,
  withAlerts,
} from './payloads.js';

const NOW = new Date('2026-11-28T08:45:00Z');

const config = parseToillessConfig(
  [
    'links:',
    '  grafanaUrl: https://grafana.example.com',
    '  runbooksUrl: https://github.com/acme/observability/blob/main/stack-config',
    'services:',
    '  sample-app:',
    '    logSelector: \'{service_name="sample-app", env="prod"}\'',
  ].join('\n'),
);

/** What the evidence sources found, as the gatherer returns it. */
const EVIDENCE: readonly TimelineEvent[] = [
  {
    at: '2026-11-28T08:35:12Z',
    kind: 'deployment',
    source: 'deployments',
    summary: 'acme/sample-app 4f2c9e1 deployed to production',
    relevance: 'high',
    links: [{ title: 'Deployment', url: 'https://github.com/acme/sample-app/deployments' }],
    details: { key: 'deployment:acme/sample-app:1234' },
  },
  {
    at: '2026-11-28T08:39:41Z',
    kind: 'log.error',
    source: 'loki',
    summary: 'GET /error failed: upstream returned 500',
    relevance: 'normal',
    links: [],
    details: {},
  },
  {
    at: '2026-11-28T08:39:44Z',
    kind: 'trace.error',
    source: 'tempo',
    summary: 'GET /error: 500 in 12 ms',
    relevance: 'normal',
    links: [
      { title: 'Trace 4bf92f3577b34da6', url: 'https://grafana.example.com/explore?trace=4bf92f3577b34da6' },
    ],
    details: { key: 'trace:4bf92f3577b34da6' },
  },
  {
    at: '2026-11-28T08:20:00Z',
    kind: 'log.spike',
    source: 'loki',
    summary: 'info lines at the usual rate',
    relevance: 'low',
    links: [],
    details: {},
  },
];

function capturedLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger({ name: 'incident-timeline-test', level: 'debug', destination }), lines };
}

describe('Incident timeline worker', () => {
  let dataDir: string;
  let store: FsObjectStore;
  let bus: RecordingBus;
  let slack: SlackApiServer;
  let notifier: SlackNotifier;
  let now: Date;
  let requests: EvidenceRequest[];
  const clock: Clock = { now: () => now, sleep: async () => {} };

  const fixedEvidence: EvidenceGatherer = async (request) => {
    requests.push(request);
    return EVIDENCE;
  };

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'toilless-incident-'));
    store = new FsObjectStore(dataDir);
    bus = new RecordingBus();
    slack = await startSlackApiServer();
    // No SDK retries: each Slack call is one request, so the test server's failures map to calls.
    notifier = new SlackNotifier({
      token: slack.token,
      channel: '#toilless',
      apiUrl: slack.url,
      maxRetries: 0,
    });
    now = NOW;
    requests = [];
  });

  afterEach(async () => {
    await slack.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  function worker(
    options: { gatherEvidence?: EvidenceGatherer; logger?: Logger; sourceBudget?: string } = {},
  ): (event: ToillessEvent) => Promise<void> {
    return createIncidentTimelineWorker({
      store,
      bus,
      notifier,
      clock,
      logger: options.logger ?? silentLogger,
      config: options.sourceBudget
        ? { ...config, incidents: { ...config.incidents, sourceBudget: options.sourceBudget } }
        : config,
      gatherEvidence: options.gatherEvidence ?? fixedEvidence,
    });
  }

  async function incidentIds(): Promise<string[]> {
    const ids: string[] = [];
    for await (const key of store.list('incidents/')) {
      const match = /^incidents\/([^/]+)\/timeline\.json$/.exec(key);
      if (match?.[1]) ids.push(match[1]);
    }
    return ids;
  }

  async function onlyIncident(): Promise<IncidentTimeline> {
    const ids = await incidentIds();
    expect(ids).toHaveLength(1);
    return stored(ids[0] as string);
  }

  async function stored(id: string): Promise<IncidentTimeline> {
    const object = await store.get(timelineKey(id));
    if (!object) throw new Error(`no timeline stored for ${id}`);
    return JSON.parse(object.body.toString('utf8'));
  }

  async function storedMarkdown(id: string): Promise<string> {
    const object = await store.get(markdownKey(id));
    if (!object) throw new Error(`no timeline.md stored for ${id}`);
    return object.body.toString('utf8');
  }

  function roots(): SlackMessage[] {
    return slack.messages('#toilless').filter((message) => message.thread_ts === undefined);
  }

  function thread(root: SlackMessage | undefined): SlackMessage[] {
    return slack.messages('#toilless').filter((message) => message.thread_ts === root?.ts);
  }

  function slackCalls(method: string) {
    return slack.calls.filter((call) => call.method === method);
  }

  describe('opening', () => {
    it('stores the timeline, posts one root message with the summary in its thread, and publishes IncidentOpened', async () => {
      // Prepare
      const event = notificationOf(await capturedPayload('firing-fastburnrate.json'));

      // Act
      await worker()(event);

      // Assess
      const incident = await onlyIncident();
      expect(incident).toMatchObject({ status: 'open', severity: 'critical', service: 'sample-app' });
      expect(incident.events.map((e) => e.kind)).toEqual([
        'log.spike',
        'deployment',
        'log.error',
        'trace.error',
        'alert.firing',
      ]);
      const [root] = roots();
      expect(roots()).toHaveLength(1);
      expect(root?.text).toContain('Open [critical] FastBurnRate on sample-app');
      expect(root?.blocks?.[0]).toMatchObject({ type: 'header' });
      expect(JSON.stringify(root?.blocks)).toContain(
        'https://github.com/acme/observability/blob/main/stack-config/runbooks/fast-burn-rate.md',
      );
      const [summary] = thread(root);
      expect(summary?.text).toContain('Timeline so far');
      expect(summary?.text).toContain('acme/sample-app 4f2c9e1 deployed to production');
      expect(summary?.text).not.toContain('GET /error failed');
      expect(incident.slack).toEqual({ thread: { channel: root?.channel, ts: root?.ts }, pending: [] });
      expect(incident.pendingEvents).toEqual([]);
      expect(incident.workClaim).toBeUndefined();
      expect(bus.published).toEqual([
        {
          id: `incident:${incident.id}:opened`,
          type: 'IncidentOpened',
          time: '2026-11-28T08:39:53.000Z',
          detail: {
            incidentId: incident.id,
            title: 'FastBurnRate on sample-app',
            services: ['sample-app'],
            severity: 'critical',
            startedAt: '2026-11-28T08:39:53.000Z',
          },
        },
      ]);
      expect(await storedMarkdown(incident.id)).toContain('# FastBurnRate on sample-app');
    });

    it('asks for evidence from 30 minutes before the estimated onset to now, within the budget', async () => {
      // Prepare
      const event = notificationOf(await capturedPayload('firing-fastburnrate.json'));

      // Act
      await worker()(event);

      // Assess
      const incident = await onlyIncident();
      expect(requests).toHaveLength(1);
      const [request] = requests;
      expect(request).toMatchObject({ incidentId: incident.id, service: 'sample-app' });
      expect(request?.onset.toISOString()).toBe('2026-11-28T08:39:38.000Z');
      expect(request?.from.toISOString()).toBe('2026-11-28T08:09:38.000Z');
      expect(request?.to.toISOString()).toBe(NOW.toISOString());
      expect(request?.alerts.map((alert) => alert.fingerprint)).toEqual(['b3f4b4334fc7f969']);
      expect(request?.signal.aborted).toBe(false);
    });

    it('turns a rejected gatherer into one source.unavailable event and still opens the incident', async () => {
      // Prepare
      const failing: EvidenceGatherer = async () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:3100');
      };

      // Act
      await worker({ gatherEvidence: failing })(
        notificationOf(await capturedPayload('firing-fastburnrate.json')),
      );

      // Assess
      const incident = await onlyIncident();
      const unavailable = incident.events.filter((e) => e.kind === 'source.unavailable');
      expect(unavailable).toEqual([
        expect.objectContaining({
          source: 'toilless',
          summary: 'evidence gathering failed: connect ECONNREFUSED 127.0.0.1:3100',
        }),
      ]);
      expect(roots()).toHaveLength(1);
      expect(bus.published.map((e) => e.type)).toEqual(['IncidentOpened']);
    });

    it('abandons a gatherer that outlives its budget, after aborting its signal', async () => {
      // Prepare
      let signal: AbortSignal | undefined;
      const hanging: EvidenceGatherer = (request) => {
        signal = request.signal;
        return new Promise(() => {});
      };

      // Act
      await worker({ gatherEvidence: hanging, sourceBudget: '100ms' })(
        notificationOf(await capturedPayload('firing-fastburnrate.json')),
      );

      // Assess
      expect(signal?.aborted).toBe(true);
      const incident = await onlyIncident();
      expect(incident.events.find((e) => e.kind === 'source.unavailable')?.summary).toBe(
        'evidence gathering did not finish within the 100ms budget',
      );
    });

    it("keeps a summary of hundreds of events within Slack's message limits", async () => {
      // Prepare
      const many: EvidenceGatherer = async () =>
        Array.from({ length: 600 }, (_, index) => ({
          at: new Date(Date.parse('2026-11-28T08:10:00Z') + index * 1000).toISOString(),
          kind: 'log.error' as const,
          source: 'loki' as const,
          summary: `request ${index} failed: ${'upstream timed out '.repeat(5)}`,
          relevance: 'high' as const,
          links: [],
          details: {},
        }));

      // Act
      await worker({ gatherEvidence: many })(
        notificationOf(await capturedPayload('firing-fastburnrate.json')),
      );

      // Assess
      expect(slack.calls.filter((call) => call.error !== undefined)).toEqual([]);
      const [summary] = thread(roots()[0]);
      expect(summary?.blocks?.length).toBeLessThanOrEqual(50);
      expect(JSON.stringify(summary?.blocks?.at(-1))).toMatch(/and \d+ more events in timeline\.md/);
      expect((await onlyIncident()).slack.pending).toEqual([]);
    });

    it('ignores events other than AlertNotification', async () => {
      // Prepare
      const push: ToillessEvent = {
        id: 'github:1',
        type: 'GitHubPush',
        time: NOW.toISOString(),
        detail: {
          repository: 'acme/sample-app',
          deliveryId: '1',
          ref: 'refs/heads/main',
          before: 'a',
          after: 'b',
          forced: false,
          commits: [],
        },
      };

      // Act
      await worker()(push);

      // Assess
      expect(await incidentIds()).toEqual([]);
      expect(slack.calls).toEqual([]);
      expect(bus.published).toEqual([]);
    });
  });

  describe('deduplication', () => {
    it('applies the same notification three times, concurrently, as one incident, one root post and one IncidentOpened', async () => {
      // Prepare
      const event = notificationOf(await capturedPayload('firing-fastburnrate.json'));
      const handle = worker();

      // Act
      await Promise.all([handle(event), handle(event), handle(event)]);
      await handle(event);

      // Assess
      const incident = await onlyIncident();
      expect(incident.events.filter((e) => e.kind === 'alert.firing')).toHaveLength(1);
      expect(roots()).toHaveLength(1);
      expect(thread(roots()[0])).toHaveLength(1);
      expect(slackCalls('chat.postMessage')).toHaveLength(2);
      expect(bus.published.map((e) => e.id)).toEqual([`incident:${incident.id}:opened`]);
      expect(incident.appliedNotifications).toEqual([event.id]);
    });

    it('keeps both of two concurrent notifications of one group', async () => {
      // Prepare
      const warning = slowBurnWarning();
      const first = notificationOf(await sampleAppGroup([warning]));
      const second = notificationOf(await sampleAppGroup([warning, fastBurnCritical()]));
      const handle = worker();

      // Act
      await Promise.all([handle(first), handle(second)]);

      // Assess
      const incident = await onlyIncident();
      expect(incident.alerts.map((alert) => alert.alertname)).toEqual(['SlowBurnRate', 'FastBurnRate']);
      expect(incident.severity).toBe('critical');
      expect(roots()).toHaveLength(1);
      expect(bus.published.map((e) => e.type)).toEqual(['IncidentOpened']);
    });

    it('does not roll back a resolved incident for a firing copy that arrives after the resolve', async () => {
      // Prepare
      const handle = worker();
      await handle(notificationOf(await capturedPayload('resolved-fastburnrate.json')));
      const before = await onlyIncident();
      const callsBefore = slack.calls.length;

      // Act
      await handle(notificationOf(await capturedPayload('firing-fastburnrate.json')));

      // Assess
      const after = await onlyIncident();
      expect(after).toEqual(before);
      expect(after.status).toBe('resolved');
      expect(slack.calls).toHaveLength(callsBefore);
      expect(bus.published.map((e) => e.type)).toEqual(['IncidentOpened', 'IncidentResolved']);
    });
  });

  describe('updates', () => {
    it('records an escalation in one group, replies in the thread and merges the evidence without duplicates', async () => {
      // Prepare
      const handle = worker();
      const warning = slowBurnWarning();
      await handle(notificationOf(await sampleAppGroup([warning])));

      // Act
      await handle(notificationOf(await sampleAppGroup([warning, fastBurnCritical()])));

      // Assess
      const incident = await onlyIncident();
      expect(incident.severity).toBe('critical');
      expect(incident.events.filter((e) => e.kind === 'severity.changed')).toHaveLength(1);
      expect(incident.events.filter((e) => e.kind === 'deployment')).toHaveLength(1);
      expect(incident.events.filter((e) => e.kind === 'log.error')).toHaveLength(1);
      expect(requests).toHaveLength(2);
      expect(roots()).toHaveLength(1);
      const replies = thread(roots()[0]);
      expect(replies).toHaveLength(2);
      expect(replies[1]?.text).toContain('Severity *warning* → *critical*');
      expect(replies[1]?.text).toContain('FastBurnRate firing');
      expect(bus.published.map((e) => e.type)).toEqual(['IncidentOpened']);
    });

    it('follows several alerts of a group and resolves only when the last one resolves', async () => {
      // Prepare
      const handle = worker();
      const payload = await capturedPayload('firing-grouped-node-warnings.json');
      const [cpu, memory] = payload.alerts;
      if (!cpu || !memory) throw new Error('the fixture has two alerts');
      await handle(notificationOf(payload));

      // Act
      await handle(notificationOf(withAlerts(payload, [resolved(cpu, '2026-11-28T08:50:00Z'), memory])));
      const halfway = await onlyIncident();
      await handle(notificationOf(resolvedAll(payload, '2026-11-28T08:55:00Z')));

      // Assess
      expect(halfway.status).toBe('open');
      const incident = await onlyIncident();
      expect(incident).toMatchObject({ status: 'resolved', resolvedAt: '2026-11-28T08:55:00.000Z' });
      expect(thread(roots()[0])[1]?.text).toContain('HighCPUWarning resolved after 7m 3s');
      expect(bus.published.map((e) => e.type)).toEqual(['IncidentOpened', 'IncidentResolved']);
    });

    it('keeps an incident open on a resolved payload that left out alerts', async () => {
      // Prepare
      const handle = worker();
      const truncated = await capturedPayload('firing-truncated-max-alerts-1.json');
      await handle(notificationOf(truncated));

      // Act
      await handle(notificationOf(resolvedAll(truncated, '2026-11-28T08:50:00Z')));

      // Assess
      const incident = await onlyIncident();
      expect(incident).toMatchObject({ status: 'open', truncatedAlerts: 1 });
      expect(incident.alerts.map((alert) => alert.status)).toEqual(['resolved']);
      expect(await storedMarkdown(incident.id)).toContain('The last notification left out 1 alert');
      expect(thread(roots()[0])[0]?.text).toContain('1 alert was left out of the notification');
      expect(thread(roots()[0]).at(-1)?.text).toContain('1 alert was left out of the notification');
      expect(bus.published.map((e) => e.type)).toEqual(['IncidentOpened']);
    });
  });

  describe('resolution', () => {
    it('edits the root message, replies with the final timeline, uploads timeline.md and publishes IncidentResolved', async () => {
      // Prepare
      const handle = worker();
      await handle(notificationOf(await capturedPayload('firing-fastburnrate.json')));
      const [root] = roots();

      // Act
      await handle(notificationOf(await capturedPayload('resolved-fastburnrate.json')));

      // Assess
      const incident = await onlyIncident();
      expect(incident).toMatchObject({ status: 'resolved', resolvedAt: '2026-11-28T08:43:01.000Z' });
      expect(requests.at(-1)?.to.toISOString()).toBe('2026-11-28T08:43:01.000Z');
      const updates = slackCalls('chat.update');
      expect(updates).toHaveLength(1);
      expect(updates[0]?.params).toMatchObject({ channel: root?.channel, ts: root?.ts });
      expect(String(updates[0]?.params.text)).toContain('Resolved [critical] FastBurnRate on sample-app');
      expect(String(updates[0]?.params.text)).toContain('resolved after 3m 8s');
      const edited = roots()[0];
      expect(edited?.edited).toBeDefined();
      const replies = thread(root);
      expect(replies.map((reply) => reply.text.split('\n')[0])).toEqual([
        '*Timeline so far* (high-relevance events, times in UTC)',
        expect.stringContaining('*Resolved* after 3m 8s'),
        '',
      ]);
      const [file] = slack.files();
      expect(file).toMatchObject({ filename: `${incident.id}.md`, thread_ts: root?.ts, completed: true });
      expect(file?.content?.toString('utf8')).toBe(await storedMarkdown(incident.id));
      expect(bus.published.at(-1)).toMatchObject({
        id: `incident:${incident.id}:resolved`,
        type: 'IncidentResolved',
        detail: { resolvedAt: '2026-11-28T08:43:01.000Z', durationSeconds: 188 },
      });
    });

    it('opens a new incident linked to the previous one when the group fires again after resolving', async () => {
      // Prepare
      const handle = worker();
      const firing = await capturedPayload('firing-fastburnrate.json');
      await handle(notificationOf(firing));
      await handle(notificationOf(await capturedPayload('resolved-fastburnrate.json')));
      const refire = withAlerts(
        firing,
        firing.alerts.map((alert) => ({ ...alert, startsAt: '2026-11-28T09:10:00Z' })),
      );
      now = new Date('2026-11-28T09:11:00Z');

      // Act
      await handle(notificationOf(refire, now));

      // Assess
      const ids = await incidentIds();
      expect(ids).toHaveLength(2);
      const [previous, next] = await Promise.all(ids.map(stored));
      expect(next).toMatchObject({ status: 'open', previousIncidentId: previous?.id });
      expect(previous).toMatchObject({ status: 'resolved', nextIncidentId: next?.id });
      expect(await storedMarkdown(previous?.id as string)).toContain(`| Next incident | \`${next?.id}\` |`);
      expect(roots()).toHaveLength(2);
      expect(JSON.stringify(roots()[1]?.blocks)).toContain(`fired again after \`${previous?.id}\``);
      expect(bus.published.map((e) => e.id)).toEqual([
        `incident:${previous?.id}:opened`,
        `incident:${previous?.id}:resolved`,
        `incident:${next?.id}:opened`,
      ]);
    });
  });

  describe('failures', () => {
    it('keeps the timeline through a Slack outage and posts the pending messages on the next update', async () => {
      // Prepare
      const { logger, lines } = capturedLogger();
      const handle = worker({ logger });
      const payload = await capturedPayload('firing-grouped-node-warnings.json');
      const [cpu] = payload.alerts;
      const cpuOnly = notificationOf(withAlerts(payload, [cpu as (typeof payload.alerts)[0]]));
      slack.failNext({ status: 503 }, { times: 10 });

      // Act: the first delivery and nine resends of it meet the outage
      for (let delivery = 0; delivery < 10; delivery++) await handle(cpuOnly);
      const duringOutage = await onlyIncident();
      await handle(notificationOf(payload));

      // Assess
      expect(duringOutage.slack.thread).toBeUndefined();
      expect(duringOutage.slack.pending.map((work) => [work.id, work.attempts])).toEqual([
        ['root', 10],
        ['reply:summary', 0],
      ]);
      expect(duringOutage.slack.pending[0]?.lastError).toContain('503');
      expect(
        lines.some((line) => line.includes('Slack update failed') && line.includes('"level":"warn"')),
      ).toBe(true);
      expect(bus.published.map((e) => e.type)).toEqual(['IncidentOpened']);
      const incident = await onlyIncident();
      expect(incident.alerts).toHaveLength(2);
      expect(incident.slack.pending).toEqual([]);
      expect(roots()).toHaveLength(1);
      const replies = thread(roots()[0]);
      expect(replies.map((reply) => reply.text.split('\n')[0])).toEqual([
        '*Timeline so far* (high-relevance events, times in UTC)',
        '*Update*',
      ]);
      expect(replies[1]?.text).toContain('HighMemoryWarning firing');
    });

    it('publishes IncidentOpened on redelivery when the bus refused it the first time', async () => {
      // Prepare
      const handle = worker();
      const event = notificationOf(await capturedPayload('firing-fastburnrate.json'));
      bus.failNext(1);

      // Act
      const first = await handle(event).then(
        () => undefined,
        (error: unknown) => error,
      );
      const pending = (await onlyIncident()).pendingEvents;
      await handle(event);

      // Assess
      expect(first).toBeInstanceOf(EventPublishError);
      expect(pending).toEqual(['IncidentOpened']);
      const incident = await onlyIncident();
      expect(incident.pendingEvents).toEqual([]);
      expect(bus.published.map((e) => e.id)).toEqual([`incident:${incident.id}:opened`]);
      expect(roots()).toHaveLength(1);
    });

    it('takes over work left by an invocation that stopped without finishing it', async () => {
      // Prepare
      const event = notificationOf(await capturedPayload('firing-fastburnrate.json'));
      const handle = worker();
      slack.failNext({ status: 503 }, { times: 1 });
      await handle(event);
      const incident = await onlyIncident();
      const abandoned = { ...incident, workClaim: { holder: 'crashed', since: NOW.toISOString() } };
      await store.put(timelineKey(incident.id), JSON.stringify(abandoned));

      // Act
      await handle(event);
      const whileClaimed = roots().length;
      now = new Date(NOW.getTime() + WORK_LEASE_MS);
      await handle(event);

      // Assess
      expect(whileClaimed).toBe(0);
      expect(roots()).toHaveLength(1);
      expect((await onlyIncident()).workClaim).toBeUndefined();
    });
  });

  describe('timeline.md', () => {
    it('writes the postmortem draft of a fixed input byte for byte', async () => {
      // Prepare
      const handle = worker();
      await handle(notificationOf(await capturedPayload('firing-fastburnrate.json')));

      // Act
      await handle(notificationOf(await capturedPayload('resolved-fastburnrate.json')));

      // Assess
      const golden = await readFile(
        new URL('../../fixtures/incident-timeline/resolved-fastburnrate.md', import.meta.url),
        'utf8',
      );
      expect(await storedMarkdown((await onlyIncident()).id)).toBe(golden);
    });

    it('builds the timeline of one payload in memory for the CLI, the same as the stored one', async () => {
      // Prepare
      const payload = await capturedPayload('firing-fastburnrate.json');
      await worker()(notificationOf(payload));
      const storedOne = await onlyIncident();
      const callsBefore = slack.calls.length;

      // Act
      const { timeline, markdown } = await buildTimelineOnce(payload, {
        clock,
        config,
        gatherEvidence: fixedEvidence,
      });

      // Assess
      expect(timeline.id).toBe(storedOne.id);
      expect(timeline.events).toEqual(storedOne.events);
      expect(markdown).toBe(await storedMarkdown(storedOne.id));
      expect(await incidentIds()).toEqual([storedOne.id]);
      expect(slack.calls).toHaveLength(callsBefore);
    });
  });

  describe('copies of a notification', () => {
    it('answers copies of an applied notification from memory for a minute, then reads the store again', async () => {
      // Prepare: a store that counts reads, and the notification applied once and confirmed once
      let reads = 0;
      const counting = Object.assign(Object.create(store) as FsObjectStore, {
        get: (key: string) => {
          reads += 1;
          return store.get(key);
        },
      });
      const handle = createIncidentTimelineWorker({
        store: counting,
        bus,
        notifier,
        clock,
        logger: silentLogger,
        config,
        gatherEvidence: fixedEvidence,
      });
      const event = notificationOf(await capturedPayload('firing-fastburnrate.json'));
      await handle(event);
      await handle(event);
      const readsWhenSettled = reads;

      // Act
      await handle(event);
      await handle(event);
      const readsWithinTheMinute = reads - readsWhenSettled;
      now = new Date(NOW.getTime() + 61_000);
      await handle(event);

      // Assess
      expect(readsWithinTheMinute).toBe(0);
      expect(reads).toBeGreaterThan(readsWhenSettled);
      expect(await incidentIds()).toHaveLength(1);
      expect(roots()).toHaveLength(1);
    });
  });
});
