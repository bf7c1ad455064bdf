/**
 * Notifications an attacker who can post alerts to Alertmanager could send: none of them may lose a
 * notification, poison its group, block the process or reach Slack and timeline.md unescaped.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEvidenceGatherer } from '../../../functions/incident-timeline/evidence.js';
import { markdownKey, timelineKey } from '../../../functions/incident-timeline/incident-identity.js';
import type { EvidenceGatherer, IncidentTimeline } from '../../../functions/incident-timeline/model.js';
import { createIncidentTimelineWorker } from '../../../functions/incident-timeline/worker.js';
import { FsObjectStore } from '../../../functions/shared/adapters/local/fs-object-store.js';
import type { Alert, AlertmanagerPayload } from '../../../functions/shared/events/alertmanager.js';
import { silentLogger } from '../../../functions/shared/log.js';
import type { Clock } from '../../../functions/shared/ports/clock.js';
import type { Message, MessageRef, Notifier } from '../../../functions/shared/ports/notifier.js';
import { parseToillessConfig } from '../../../functions/shared/stack-config.js';
import { closeServer, listenOnLoopback } from '../../support/http-test-server.js';
import { hostileAlertNotifications } from '../../support/intake-hostile-corpus.js';
import { freePort } from '../../support/ports.js';
import { RecordingBus } from '../../support/recording-bus.js';
import { STACK_CONFIG_DIR } from '../../support/stack-config-copy.js';
import { fastBurnCritical, notificationOf, resolved, sampleAppGroup, slowBurnWarning } from './payloads.js';

const NOW = new Date('2026-11-28T08:45:00Z');

const config = parseToillessConfig(
  [
    'links:',
    '  grafanaUrl: https://grafana.example.com',
    '  runbooksUrl: https://github.com/acme/observability/blob/main/stack-config',
    'prometheus:',
    '  externalUrls: [http://prometheus:9090]',
  ].join('\n'),
);

/** Keeps what would have gone to Slack. */
class RecordingNotifier implements Notifier {
  readonly posted: Message[] = [];
  readonly replies: Message[] = [];
  readonly updates: Message[] = [];
  private seq = 0;

  async post(message: Message): Promise<MessageRef> {
    this.posted.push(message);
    return { channel: 'C1', ts: `1.${++this.seq}` };
  }
  async reply(thread: MessageRef, message: Message): Promise<MessageRef> {
    this.replies.push(message);
    return { channel: thread.channel, ts: `1.${++this.seq}` };
  }
  async update(ref: MessageRef, message: Message): Promise<MessageRef> {
    this.updates.push(message);
    return ref;
  }
  async upload(): Promise<{ readonly fileId: string }> {
    return { fileId: `F${++this.seq}` };
  }
}

describe('Hostile notifications', () => {
  let dataDir: string;
  let store: FsObjectStore;
  let notifier: RecordingNotifier;
  let now: Date;
  const clock: Clock = { now: () => now, sleep: async () => {} };
  const noEvidence: EvidenceGatherer = async () => [];

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'toilless-hostile-'));
    store = new FsObjectStore(dataDir);
    notifier = new RecordingNotifier();
    now = NOW;
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  function worker(gatherEvidence: EvidenceGatherer = noEvidence) {
    return createIncidentTimelineWorker({
      store,
      bus: new RecordingBus(),
      notifier,
      clock,
      logger: silentLogger,
      config,
      gatherEvidence,
    });
  }

  async function incidents(): Promise<IncidentTimeline[]> {
    const found: IncidentTimeline[] = [];
    for await (const key of store.list('incidents/')) {
      if (!/^incidents\/[^/]+\/timeline\.json$/.test(key)) continue;
      const object = await store.get(key);
      if (object) found.push(JSON.parse(object.body.toString('utf8')));
    }
    return found;
  }

  it.each(hostileAlertNotifications())(
    'opens the incident of the intake corpus notification "$name"',
    async ({ payload }) => {
      // Prepare
      const closed = `http://127.0.0.1:${await freePort()}`;
      const gather = createEvidenceGatherer({
        config: { prometheusUrl: closed, lokiUrl: closed, tempoUrl: closed },
        toilless: config,
        stackConfigDir: STACK_CONFIG_DIR,
        store,
        logger: silentLogger,
        slos: [],
      });

      // Act
      await worker(gather)(notificationOf(payload as unknown as AlertmanagerPayload));

      // Assess
      const [incident, ...others] = await incidents();
      expect(others).toEqual([]);
      expect(incident?.status).toBe('open');
      expect(notifier.posted).toHaveLength(1);
    },
  );

  async function markdownOf(id: string): Promise<string> {
    return (await store.get(markdownKey(id)))?.body.toString('utf8') ?? '';
  }

  async function deliver(payload: AlertmanagerPayload, handle = worker()): Promise<void> {
    await handle(notificationOf(payload));
  }

  function withAnnotations(alert: Alert, annotations: Record<string, string>): Alert {
    return { ...alert, annotations: { ...alert.annotations, ...annotations } };
  }

  describe('payload-derived work', () => {
    let prometheus: Server;
    let prometheusUrl: string;
    let queries: string[];

    beforeEach(async () => {
      queries = [];
      prometheus = createServer((request, response) => {
        const target = new URL(request.url ?? '/', 'http://localhost');
        response.setHeader('content-type', 'application/json');
        if (target.pathname === '/api/v1/rules') {
          response.end(JSON.stringify({ status: 'success', data: { groups: [] } }));
          return;
        }
        queries.push(target.searchParams.get('query') ?? '');
        response.end(JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [] } }));
      });
      prometheusUrl = await listenOnLoopback(prometheus);
    });

    afterEach(async () => {
      await closeServer(prometheus);
    });

    async function evidenceFromStandIns(): Promise<EvidenceGatherer> {
      const closed = `http://127.0.0.1:${await freePort()}`;
      return createEvidenceGatherer({
        config: { prometheusUrl, lokiUrl: closed, tempoUrl: closed },
        toilless: config,
        stackConfigDir: STACK_CONFIG_DIR,
        store,
        logger: silentLogger,
        slos: [],
      });
    }

    const nested = (depth: number, inner: string) => `${'('.repeat(depth)}${inner}${')'.repeat(depth)}`;

    it('ignores an expression over 8 KiB with a note, and still opens the incident', async () => {
      // Prepare: 24,000 nested parentheses (a 49 KB body) next to an expression at the cap.
      const handle = worker(await evidenceFromStandIns());
      const crafted = {
        ...slowBurnWarning(),
        generatorURL: `${prometheusUrl}/graph?g0.expr=${nested(24_000, 'up > 1')}`,
      };
      const atTheCap = {
        ...fastBurnCritical(),
        generatorURL: `${prometheusUrl}/graph?g0.expr=${nested(4_000, 'errors > 3')}`,
      };

      // Act
      await deliver(await sampleAppGroup([crafted, atTheCap]), handle);

      // Assess
      const [incident] = await incidents();
      expect(incident?.status).toBe('open');
      expect(queries).toContain('errors');
      expect(queries.some((query) => query.startsWith('(('))).toBe(false);
      expect(incident?.events.filter((event) => event.kind === 'note').map((event) => event.summary)).toEqual(
        [
          expect.stringMatching(
            /^The expression of SlowBurnRate is not used: its expression is 48006 characters long, over the limit of 8192;/,
          ),
        ],
      );
    });
  });

  describe('text and links', () => {
    const HOSTILE_NAME = 'Deploy <!channel> <https://evil.example|click here>';

    function hostileAlert(): Alert {
      const alert = fastBurnCritical();
      return {
        ...alert,
        labels: { ...alert.labels, alertname: HOSTILE_NAME },
        annotations: {
          summary: 'see https://evil.example/x and www.evil.example <!here> [click](https://evil.example)',
          runbook_url: 'https://evil.example/runbook',
          dashboard_url: 'https://grafana.example.com.evil.example/d/x',
        },
        generatorURL: 'https://evil.example/graph?g0.expr=up',
      };
    }

    it('escapes the alert title in every Slack text field, the fallback text included', async () => {
      // Act
      await deliver(await sampleAppGroup([hostileAlert()]));

      // Assess
      const [root] = notifier.posted;
      expect(root?.text).toContain('Deploy &lt;!channel&gt; &lt;https://evil.example|click here&gt;');
      // The header is plain_text, where an entity would show as written: look-alike brackets instead.
      expect(JSON.stringify(root?.blocks?.[0])).toContain(
        'Deploy ‹!channel› ‹https://evil.example|click here›',
      );
      const everything = JSON.stringify([...notifier.posted, ...notifier.replies]);
      expect(everything).not.toContain('<!channel>');
      expect(everything).not.toContain('<!here>');
      expect(everything).not.toContain('<https://evil.example');
      expect(root?.blocks?.every((block) => !JSON.stringify(block).includes('"verbatim":false'))).toBe(true);
    });

    it('shows links from alerts to unknown hosts as text with their host, in Slack and timeline.md', async () => {
      // Act
      await deliver(await sampleAppGroup([hostileAlert()]));

      // Assess
      const [incident] = await incidents();
      const slack = JSON.stringify([...notifier.posted, ...notifier.replies]);
      expect(slack).toContain('Runbook (');
      expect(slack).toContain('evil.example, not linked');
      expect(slack).not.toMatch(/<https?:\/\/[^|>]*evil\.example/);
      const markdown = await markdownOf(incident?.id ?? '');
      expect(markdown).toContain('(evil.example, not linked)');
      expect(markdown).toContain('(grafana.example.com.evil.example, not linked)');
      expect(markdown).not.toMatch(/\]\(https?:\/\/[^)]*evil\.example/);
      expect(markdown).toContain('https\\://evil.example/x and www\\.evil.example');
      expect(markdown).not.toContain('<!here>');
    });

    it('links alerts to the configured Prometheus, Grafana and runbooks', async () => {
      // Prepare
      const alert = {
        ...fastBurnCritical(),
        annotations: { runbook_url: 'runbooks/fast-burn-rate.md', dashboard_url: '/d/slo/slo' },
        generatorURL: 'http://prometheus:9090/graph?g0.expr=up',
      };

      // Act
      await deliver(await sampleAppGroup([alert]));

      // Assess
      const [incident] = await incidents();
      const markdown = await markdownOf(incident?.id ?? '');
      expect(markdown).toContain('[Prometheus](http://prometheus:9090/graph?g0.expr=up)');
      expect(markdown).toContain(
        '[Runbook (FastBurnRate)](https://github.com/acme/observability/blob/main/stack-config/runbooks/fast-burn-rate.md)',
      );
      expect(markdown).toContain('[Dashboard (FastBurnRate)](https://grafana.example.com/d/slo/slo)');
      expect(JSON.stringify(notifier.posted)).toContain(
        '<https://grafana.example.com/d/slo/slo|Dashboard (FastBurnRate)>',
      );
    });
  });

  describe('times and durations', () => {
    it('opens the incident of an alert whose `for` is 99999999999y, notes it, and keeps the group working', async () => {
      // Prepare
      const handle = worker();
      const poisoned = withAnnotations(slowBurnWarning(), { for: '99999999999y' });

      // Act
      await deliver(await sampleAppGroup([poisoned]), handle);
      now = new Date('2026-11-28T08:50:00Z');
      await deliver(await sampleAppGroup([poisoned, fastBurnCritical()]), handle);

      // Assess
      const [incident] = await incidents();
      expect(incident?.status).toBe('open');
      expect(incident?.severity).toBe('critical');
      // Onset without the unusable `for`: startsAt minus one evaluation interval.
      expect(incident?.onset).toBe('2026-11-28T08:29:45.000Z');
      expect(incident?.alerts.map((alert) => alert.alertname).sort()).toEqual([
        'FastBurnRate',
        'SlowBurnRate',
      ]);
      expect(
        incident?.alerts.find((alert) => alert.alertname === 'SlowBurnRate')?.annotations.for,
      ).toBeUndefined();
      expect(incident?.events.filter((event) => event.kind === 'note')).toEqual([
        expect.objectContaining({
          source: 'alertmanager',
          summary: expect.stringContaining(
            'SlowBurnRate: for "99999999999y" is not a duration of at most 365 days',
          ),
        }),
      ]);
      expect(notifier.posted).toHaveLength(1);
      expect(await markdownOf(incident?.id ?? '')).toContain('rule `for` not known');
    });

    it('uses the processing time for a startsAt far in the future or before 2000, with a note', async () => {
      // Prepare
      const future = { ...slowBurnWarning('9999-12-31T23:59:59Z') };
      const ancient = { ...fastBurnCritical('0001-01-01T00:00:00Z') };

      // Act
      await deliver(await sampleAppGroup([future, ancient]));

      // Assess
      const [incident] = await incidents();
      expect(incident?.startedAt).toBe(NOW.toISOString());
      expect(incident?.alerts.map((alert) => alert.startsAt)).toEqual([NOW.toISOString(), NOW.toISOString()]);
      expect(
        incident?.events.filter((event) => event.kind === 'note').map((event) => event.details['field']),
      ).toEqual(['startsAt', 'startsAt']);
    });

    it('resolves an alert whose endsAt is unusable at the time the resolution was processed', async () => {
      // Prepare
      const handle = worker();
      await deliver(await sampleAppGroup([slowBurnWarning()]), handle);
      now = new Date('2026-11-28T09:00:00Z');

      // Act
      await deliver(await sampleAppGroup([resolved(slowBurnWarning(), '9999-01-01T00:00:00Z')]), handle);

      // Assess
      const [incident] = await incidents();
      expect(incident?.status).toBe('resolved');
      expect(incident?.resolvedAt).toBe('2026-11-28T09:00:00.000Z');
      const stored = await store.get(timelineKey(incident?.id ?? ''));
      expect(stored).toBeDefined();
    });
  });
});
