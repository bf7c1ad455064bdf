import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncidentTimeline } from '../../../functions/incident-timeline/model.js';
import { type LocalServer, startLocalServer } from '../../../functions/local/local-server.js';
import { silentLogger } from '../../../functions/shared/log.js';
import { type RunningAlertmanager, startAlertmanager } from '../../support/alertmanager.js';
import { type LokiServer, startLokiServer } from '../../support/loki-server.js';
import { type RunningPrometheus, startPrometheus } from '../../support/prometheus.js';
import { type SlackApiServer, startSlackApiServer } from '../../support/slack-api-server.js';
import { startTempoServer, type TempoServer } from '../../support/tempo-server.js';
import { waitFor } from '../../support/wait.js';

const SERVICE = 'sample-app';
const GENERATOR_URL =
  'http://prometheus:9090/graph?g0.expr=sum%28rate%28http_requests_total%7Bservice%3D%22sample-app%22%2Cstatus_code%3D~%225..%22%7D%5B5m%5D%29%29+%2F+sum%28rate%28http_requests_total%7Bservice%3D%22sample-app%22%7D%5B5m%5D%29%29+%3E+0.144&g0.tab=1';

/** The shipped routing, shortened: one toilless receiver, resolved notifications on, a 1 s group interval. */
function alertmanagerConfig(webhookUrl: string): string {
  return `
route:
  receiver: toilless
  group_by: [service, severity]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: toilless
    webhook_configs:
      - url: ${webhookUrl}
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials_file: {{DIR}}/toilless-webhook-token
`;
}

describe('Incident timeline end to end: real Alertmanager -> local server -> store and one Slack thread', () => {
  let dataDir: string;
  let slack: SlackApiServer;
  let loki: LokiServer;
  let tempo: TempoServer;
  let prometheus: RunningPrometheus;
  let server: LocalServer;
  let alertmanager: RunningAlertmanager;
  const startsAt = new Date(Date.now() - 5 * 60_000);

  beforeAll(async () => {
    const now = Date.now();
    dataDir = await mkdtemp(join(tmpdir(), 'toilless-e2e-'));
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
    server = await startLocalServer({
      port: 0,
      dataDir,
      logger: silentLogger,
      processMetrics: false,
      env: {
        SLACK_BOT_TOKEN: slack.token,
        SLACK_API_URL: slack.url,
        SLACK_CHANNEL: '#toilless',
        PROMETHEUS_URL: prometheus.url,
        LOKI_URL: loki.url,
        TEMPO_URL: tempo.url,
      },
    });
    const token = (await readFile(join(dataDir, 'secrets', 'alertmanager-webhook-token'), 'utf8')).trim();
    alertmanager = await startAlertmanager({
      config: alertmanagerConfig(`${server.url}/webhooks/alertmanager`),
      files: { 'toilless-webhook-token': token },
    });
  });

  afterAll(async () => {
    await alertmanager?.stop();
    await server?.close();
    await Promise.all([slack?.close(), loki?.close(), tempo?.close(), prometheus?.stop()]);
    await rm(dataDir, { recursive: true, force: true });
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
