import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { incidentIdFor } from '../../../functions/incident-timeline/incident-identity.js';
import type { IncidentTimeline } from '../../../functions/incident-timeline/model.js';
import { type LocalServer, startLocalServer } from '../../../functions/local/local-server.js';
import type { AlertmanagerPayload } from '../../../functions/shared/events/alertmanager.js';
import type { ToillessEvent } from '../../../functions/shared/events/types.js';
import { silentLogger } from '../../../functions/shared/log.js';
import { type RunningAlertmanager, startAlertmanager } from '../../support/alertmanager.js';
import { freePort } from '../../support/ports.js';
import { type RunningPrometheus, startPrometheus } from '../../support/prometheus.js';
import {
  copyShippedRuleFiles,
  STACK_CONFIG_DIR,
  shippedAlertmanager,
  shippedPrometheusConfig,
} from '../../support/stack-config-copy.js';
import { waitFor } from '../../support/wait.js';

/**
 * Rule to webhook through every real part: Prometheus evaluates the shipped rules, Alertmanager
 * routes with the shipped alertmanager.yml, and the local server turns the delivery into an
 * AlertNotification and an incident timeline. InstanceDown fires unchanged: `for: 2m`, then the
 * shipped group_wait of 30s, so the first delivery comes about 2.5 minutes after the node is down.
 */

/** InstanceDown's `for` (2m) plus the shipped group_wait (30s), with room for a slow machine. */
const DELIVERY_TIMEOUT_MS = 175_000;
const TEST_TIMEOUT_MS = 185_000;

/** POST bodies received, by request path: stands in for Slack's incoming webhook and the dead man's switch. */
interface WebhookRecorder {
  readonly url: string;
  readonly posts: (path: string) => readonly unknown[];
  close(): Promise<void>;
}

async function startWebhookRecorder(): Promise<WebhookRecorder> {
  const posts = new Map<string, unknown[]>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '/';
      posts.set(path, [...(posts.get(path) ?? []), JSON.parse(Buffer.concat(chunks).toString('utf8'))]);
      // Slack's incoming webhooks answer 200 with the body "ok".
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  const url = await listen(server);
  return { url, posts: (path) => posts.get(path) ?? [], close: () => close(server) };
}

/** sample-app's /metrics with a steadily growing count of successful requests: a healthy target. */
async function startSampleApp(): Promise<{ readonly address: string; close(): Promise<void> }> {
  let served = 0;
  const server: Server = createServer((request, response) => {
    request.resume();
    if (request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    served += 10;
    response
      .writeHead(200, { 'content-type': 'text/plain; version=0.0.4' })
      .end(
        `# TYPE http_requests_total counter\nhttp_requests_total{service="sample-app",status_code="200"} ${served}\n`,
      );
  });
  const url = await listen(server);
  return { address: new URL(url).host, close: () => close(server) };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function close(server: Server): Promise<void> {
  return new Promise((resolveClose, reject) => {
    server.close((error) => (error ? reject(error) : resolveClose()));
    server.closeAllConnections();
  });
}

/** An address nothing listens on: a target that is down, or a source that is unavailable. */
async function closedAddress(): Promise<string> {
  return `127.0.0.1:${await freePort()}`;
}

/** The group names of every shipped rule file. */
function shippedRuleGroups(): string[] {
  const rulesDir = join(STACK_CONFIG_DIR, 'prometheus', 'rules');
  return readdirSync(rulesDir)
    .filter((name) => name.endsWith('.yml'))
    .flatMap((name) => {
      const file = parseYaml(readFileSync(join(rulesDir, name), 'utf8')) as { groups: { name: string }[] };
      return file.groups.map((group) => group.name);
    });
}

/** An Alertmanager message to a Slack incoming webhook (the fields toilless's template fills). */
interface SlackWebhookMessage {
  readonly channel?: string;
  readonly attachments?: readonly { readonly title?: string; readonly text?: string }[];
}

describe('Shipped rules to the toilless webhook through real Prometheus and Alertmanager', () => {
  let dataDir: string;
  let recorder: WebhookRecorder;
  let sampleApp: Awaited<ReturnType<typeof startSampleApp>>;
  let prometheus: RunningPrometheus;
  let server: LocalServer;
  let alertmanager: RunningAlertmanager;
  /** Where the node exporter would answer: nothing listens, so `up` of job node is 0. */
  let nodeExporter: string;
  const notifications: ToillessEvent<'AlertNotification'>[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'toilless-rules-to-webhook-'));
    nodeExporter = await closedAddress();
    const [loki, tempo] = [await closedAddress(), await closedAddress()];
    [recorder, sampleApp] = await Promise.all([startWebhookRecorder(), startSampleApp()]);
    // Started without jobs: the local server needs its URL before the full config can name the others.
    prometheus = await startPrometheus({ config: 'global:\n  evaluation_interval: 1s\n' });
    server = await startLocalServer({
      port: 0,
      dataDir,
      logger: silentLogger,
      processMetrics: false,
      env: { PROMETHEUS_URL: prometheus.url, LOKI_URL: `http://${loki}`, TEMPO_URL: `http://${tempo}` },
    });
    server.runtime.bus.subscribe({
      name: 'test-recorder',
      types: ['AlertNotification'],
      handler: async (event) => {
        if (event.type === 'AlertNotification') notifications.push(event);
      },
    });
    const token = await readFile(join(dataDir, 'secrets', 'alertmanager-webhook-token'), 'utf8');
    alertmanager = await startAlertmanager(
      shippedAlertmanager({
        webhookUrls: {
          toilless: `${server.url}/webhooks/alertmanager`,
          watchdog: `${recorder.url}/watchdog`,
        },
        secretFiles: {
          'toilless-webhook-token': token,
          'slack-webhook-url': `${recorder.url}/slack`,
        },
      }),
    );
    await copyShippedRuleFiles(prometheus.configDir);
    await prometheus.reload({
      config: shippedPrometheusConfig({
        alertmanager: new URL(alertmanager.url).host,
        scrapeTargets: {
          node: nodeExporter,
          'sample-app': sampleApp.address,
          toilless: new URL(server.url).host,
        },
      }),
    });
  });

  afterAll(async () => {
    await prometheus?.stop();
    await alertmanager?.stop();
    await server?.close();
    await Promise.all([recorder?.close(), sampleApp?.close()]);
    await rm(dataDir, { recursive: true, force: true });
  });

  let delivery: Promise<ToillessEvent<'AlertNotification'>> | undefined;
  /** The first AlertNotification carrying InstanceDown, awaited once for all the cases below. */
  function instanceDownDelivery(): Promise<ToillessEvent<'AlertNotification'>> {
    delivery ??= waitFor(
      async () =>
        notifications.find((event) =>
          event.detail.payload.alerts.some((alert) => alert.labels.alertname === 'InstanceDown'),
        ),
      {
        timeoutMs: DELIVERY_TIMEOUT_MS,
        intervalMs: 500,
        description: `InstanceDown of ${nodeExporter} to reach /webhooks/alertmanager (for: 2m, then group_wait 30s)`,
      },
    );
    return delivery;
  }

  const expectedLabels = () => ({
    alertname: 'InstanceDown',
    // external_labels of prometheus.yml: Prometheus adds them to every alert it sends.
    cluster: 'toilless',
    instance: nodeExporter,
    job: 'node',
    service: 'node',
    severity: 'critical',
  });

  const expectedAnnotations = () => ({
    summary: `${nodeExporter} (node) is down: up = 0`,
    description: `Prometheus has failed to scrape ${nodeExporter} of job node for 2 minutes. Every alert computed from its metrics is blind until it is back.`,
    dashboard_url: '/d/unified-observability/unified-observability?var-service=node',
    runbook_url: 'runbooks/instance-down.md',
  });

  it('loads every shipped rule group', async () => {
    // Act
    const rules = await waitFor(
      async () => {
        const data = await prometheus.api<{ groups: { name: string }[] }>('/api/v1/rules');
        return data.groups.length > 0 ? data.groups : undefined;
      },
      { timeoutMs: 10_000, description: 'Prometheus to load the shipped rule files' },
    );

    // Assess
    expect(rules.map((group) => group.name).sort()).toEqual(shippedRuleGroups().sort());
  });

  it(
    'delivers InstanceDown of the node that is down, with the rule labels and annotations, as an AlertNotification',
    async () => {
      // Act
      const event = await instanceDownDelivery();

      // Assess: the healthy sample-app and toilless targets raise nothing, so the group holds one alert.
      const { payload } = event.detail;
      expect(payload.receiver).toBe('toilless');
      expect(payload.status).toBe('firing');
      expect(payload.groupLabels).toEqual({ service: 'node', severity: 'critical' });
      expect(payload.alerts).toHaveLength(1);
      const [alert] = payload.alerts;
      expect(alert?.status).toBe('firing');
      expect(alert?.labels).toEqual(expectedLabels());
      expect(alert?.annotations).toEqual(expectedAnnotations());
      expect(new URL(alert?.generatorURL ?? '').searchParams.get('g0.expr')).toBe('up{job!~"probe-.*"} == 0');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'stores the incident timeline of the alert, with Prometheus evidence and Loki and Tempo unavailable',
    async () => {
      // Prepare
      const { payload } = (await instanceDownDelivery()).detail;
      const startsAt = payload.alerts[0]?.startsAt ?? '';
      const timelineFile = join(
        dataDir,
        'incidents',
        incidentIdFor(payload.groupKey, startsAt, 'node'),
        'timeline.json',
      );

      // Act
      const timeline = await waitFor(
        async () => JSON.parse(await readFile(timelineFile, 'utf8')) as IncidentTimeline,
        { timeoutMs: 30_000, description: `the incident timeline worker to write ${timelineFile}` },
      );

      // Assess
      expect(timeline).toMatchObject({ status: 'open', service: 'node', severity: 'critical' });
      expect(timeline.alerts.map((alert) => [alert.labels, alert.annotations])).toEqual([
        [expectedLabels(), expectedAnnotations()],
      ]);
      const events = timeline.events.map((event) => [event.kind, event.source]);
      expect(events).toContainEqual(['alert.firing', 'alertmanager']);
      expect(events).toContainEqual(['source.unavailable', 'loki']);
      expect(events).toContainEqual(['source.unavailable', 'tempo']);
      expect(events).not.toContainEqual(['source.unavailable', 'prometheus']);
      // The rule's own expression, evaluated by the same Prometheus, held while the node was down.
      expect(timeline.events.map((event) => event.summary)).toContain(
        'InstanceDown condition first true (value 0)',
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'posts the same alert to the default Slack channel with the shipped template',
    async () => {
      // Prepare
      await instanceDownDelivery();
      const { grafanaUrl, runbooksUrl } = server.runtime.toilless.links;

      // Act: the slack receiver is flushed with the same group as toilless.
      const message = await waitFor(
        async () => recorder.posts('/slack')[0] as SlackWebhookMessage | undefined,
        { timeoutMs: 30_000, description: 'Alertmanager to post the node group to Slack' },
      );

      // Assess: only the catch-all `slack` route matches service="node", not `slack-app`.
      expect(recorder.posts('/slack')).toHaveLength(1);
      expect(message.channel).toBe('#toilless');
      expect(message.attachments).toHaveLength(1);
      expect(message.attachments?.[0]?.title).toBe('[FIRING] InstanceDown · node · critical · 1 alert');
      expect(message.attachments?.[0]?.text).toBe(
        [
          `:red_circle: *InstanceDown* · critical · node · \`${nodeExporter}\``,
          `${nodeExporter} (node) is down: up = 0`,
          `<${grafanaUrl}/d/unified-observability/unified-observability?var-service=node|Dashboard> · ` +
            `<${runbooksUrl}/runbooks/instance-down.md|Runbook>`,
        ].join('\n'),
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "sends Watchdog to the dead man's switch only, never to toilless or Slack",
    async () => {
      // Prepare: by now Watchdog has fired for minutes and been repeated every minute.
      await instanceDownDelivery();

      // Act
      const pings = recorder.posts('/watchdog') as AlertmanagerPayload[];

      // Assess
      expect(pings.length).toBeGreaterThan(0);
      expect(pings[0]?.alerts.map((alert) => alert.labels.alertname)).toEqual(['Watchdog']);
      const alertnames = notifications.flatMap((event) =>
        event.detail.payload.alerts.map((alert) => alert.labels.alertname),
      );
      expect(alertnames).not.toContain('Watchdog');
      expect(JSON.stringify(recorder.posts('/slack'))).not.toContain('Watchdog');
    },
    TEST_TIMEOUT_MS,
  );
});
