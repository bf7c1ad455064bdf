import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncidentTimeline } from '../../../functions/incident-timeline/model.js';
import type { LocalServer } from '../../../functions/local/local-server.js';
import { type RunningAlertmanager, startAlertmanagerDeliveringTo } from '../../support/alertmanager.js';
import {
  generatedSecret,
  type LocalServerUnderTest,
  startTestLocalServer,
} from '../../support/local-server.js';
import { type LokiServer, startLokiServer } from '../../support/loki-server.js';
import { type RunningPrometheus, startPrometheus } from '../../support/prometheus.js';
import { type SlackApiServer, startSlackApiServer } from '../../support/slack-api-server.js';
import { startTempoServer, type TempoServer } from '../../support/tempo-server.js';
import { waitFor } from '../../support/wait.js';

const SERVICE = 'sample-app';
const GENERATOR_URL =
  'http://prometheus:9090/graph?g0.expr=sum%28rate%28http_requests_total%7Bservice%3D%22sample-app%22%2Cstatus_code%3D~%225..%22%7D%5B5m%5D%29%29+%2F+sum%28rate%28http_requests_total%7Bservice%3D%22sample-app%22%7D%5B5m%5D%29%29+%3E+0.144&g0.tab=1';

describe('Incident timeline end to end: real Alertmanager -> local server -> store and one Slack thread', () => {
  let local: LocalServerUnderTest;
  let slack: SlackApiServer;
  let loki: LokiServer;
  let tempo: TempoServer;
  let prometheus: RunningPrometheus;
  let server: LocalServer;
  let alertmanager: RunningAlertmanager;
  const startsAt = new Date(Date.now() - 5 * 60_000);

  beforeAll(async () => {
    const now = Date.now();
    [slack, loki, tempo, prometheus] = await Promise.all([
      startSlackApiServer(),
      startLokiServer({
        generator: {
          start: new Date(now - 2 * 3_600_000),
          end: new Date(now + 10 * 60_000),
          streams: [
            {
              labels: { service_name: SERVICE },
              linesPerSecond: 2,
              errorRatio: 0.01,
              incident: {
                start: new Date(now - 8 * 60_000),
                end: new Date(now + 10 * 60_000),
                errorRatio: 0.6,
              },
            },
          ],
        },
      }),
      startTempoServer({
        generator: {
          start: new Date(now - 2 * 3_600_000),
          end: new Date(now),
          count: 500,
          errorRatio: 0.01,
          incident: { start: new Date(now - 8 * 60_000), end: new Date(now), errorRatio: 0.6 },
        },
      }),
      startPrometheus(),
    ]);
    local = await startTestLocalServer({
      SLACK_BOT_TOKEN: slack.token,
      SLACK_API_URL: slack.url,
      SLACK_CHANNEL: '#toilless',
      PROMETHEUS_URL: prometheus.url,
      LOKI_URL: loki.url,
      TEMPO_URL: tempo.url,
    });
    server = local.server;
    alertmanager = await startAlertmanagerDeliveringTo(
      `${server.url}/webhooks/alertmanager`,
      await generatedSecret(local.dataDir, 'alertmanager-webhook-token'),
    );
  });

  afterAll(async () => {
    await alertmanager?.stop();
    await local?.stop();
    await Promise.all([slack?.close(), loki?.close(), tempo?.close(), prometheus?.stop()]);
  });

  const alert = (endsAt?: Date) => ({
    labels: { alertname: 'FastBurnRate', service: SERVICE, severity: 'critical', slo: 'availability' },
    annotations: {
      summary: 'sample-app availability: burning the error budget 20x too fast',
      runbook_url: 'runbooks/fast-burn-rate.md',
      dashboard_url: '/d/slo-error-budget/slo-error-budget?var-service=sample-app',
    },
    startsAt,
    ...(endsAt ? { endsAt } : {}),
    generatorURL: GENERATOR_URL,
  });

  async function storedTimeline(): Promise<IncidentTimeline | undefined> {
    for await (const key of server.runtime.store.list('incidents/')) {
      if (key.endsWith('/timeline.json')) {
        const object = await server.runtime.store.get(key);
        return object ? (JSON.parse(object.body.toString('utf8')) as IncidentTimeline) : undefined;
      }
    }
    return undefined;
  }

  const roots = () => slack.messages('#toilless').filter((message) => message.thread_ts === undefined);

  it('opens one incident with timeline.json, timeline.md and one Slack thread', async () => {
    await alertmanager.postAlerts([alert()]);

    const timeline = await waitFor(
      async () => ((await storedTimeline())?.slack?.thread?.ts ? storedTimeline() : undefined),
      {
        timeoutMs: 60_000,
        description: 'the incident with its Slack thread to be stored',
      },
    );
    await server.runtime.bus.idle();

    expect(timeline.status).toBe('open');
    expect(timeline.service).toBe(SERVICE);
    expect(timeline.severity).toBe('critical');
    expect(timeline.alerts.map((a) => a.alertname)).toEqual(['FastBurnRate']);
    const kinds = new Set(timeline.events.map((event) => event.kind));
    expect(kinds).toContain('alert.firing');
    expect(kinds).toContain('log.spike');
    expect(kinds).toContain('log.error');
    expect(kinds).toContain('trace.error');
    expect(timeline.events.filter((event) => event.kind === 'source.unavailable')).toEqual([]);
    const markdown = await server.runtime.store.get(`incidents/${timeline.id}/timeline.md`);
    expect(markdown?.body.toString('utf8')).toContain('## Timeline');
    expect(roots()).toHaveLength(1);
    const replies = slack.messages('#toilless').filter((message) => message.thread_ts === roots()[0]?.ts);
    expect(replies.length).toBeGreaterThanOrEqual(1);
  });

  it('resolves the same incident, edits the root message and keeps one thread', async () => {
    await alertmanager.postAlerts([alert(new Date())]);

    const timeline = await waitFor(
      async () => {
        const stored = await storedTimeline();
        return stored?.status === 'resolved' && roots()[0]?.edited ? stored : undefined;
      },
      { timeoutMs: 60_000, description: 'the incident to resolve and the root message to be edited' },
    );
    await server.runtime.bus.idle();

    expect(timeline.resolvedAt).toBeDefined();
    expect(roots()).toHaveLength(1);
    expect(slack.calls.filter((call) => call.method === 'chat.update').length).toBeGreaterThanOrEqual(1);
    expect(roots()[0]?.text).toMatch(/resolved/i);
  });
});
