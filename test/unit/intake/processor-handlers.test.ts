import type { EventBridgeEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertmanagerWebhook } from '../../../functions/alertmanager-webhook/intake.js';
import { createGitHubWebhook } from '../../../functions/github-webhook/intake.js';
import { EventBridgeBus } from '../../../functions/shared/adapters/aws/eventbridge-bus.js';
import { S3ObjectStore } from '../../../functions/shared/adapters/aws/s3-object-store.js';
import { silentLogger } from '../../../functions/shared/log.js';
import { StaticSecretSource } from '../../../functions/shared/ports/secrets.js';
import { type AcceptedEntry, EventBridgeTestServer } from '../../support/eventbridge-server.js';
import { githubExample, signGitHubBody } from '../../support/github-examples.js';
import { largeAlertNotification } from '../../support/intake-hostile-corpus.js';
import { S3TestServer } from '../../support/s3-server.js';

const BUCKET = 'toilless-test';
const BUS = 'toilless-test';
const TOKEN = 'token';

function asDelivered(entry: AcceptedEntry): EventBridgeEvent<string, unknown> {
  return {
    version: '0',
    id: entry.EventId,
    'detail-type': entry.DetailType ?? '',
    source: entry.Source ?? '',
    account: '123456789012',
    time: new Date((entry.Time ?? 0) * 1000).toISOString(),
    region: 'us-east-1',
    resources: [],
    detail: JSON.parse(entry.Detail ?? 'null'),
  };
}

describe('The processor Lambda handlers', () => {
  let s3: S3TestServer;
  let eventBridge: EventBridgeTestServer;
  const saved = { ...process.env };

  beforeAll(async () => {
    s3 = await S3TestServer.start({ buckets: [BUCKET] });
    eventBridge = await EventBridgeTestServer.start({ buses: [BUS] });
    Object.assign(process.env, {
      TOILLESS_BUCKET: BUCKET,
      TOILLESS_EVENT_BUS: BUS,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIATOILLESSTEST0000',
      AWS_SECRET_ACCESS_KEY: 'toilless-test-secret-key',
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.endpoint,
      PROMETHEUS_URL: 'http://127.0.0.1:9',
      LOKI_URL: 'http://127.0.0.1:9',
      TEMPO_URL: 'http://127.0.0.1:9',
    });
  });

  afterAll(async () => {
    process.env = saved;
    await s3.close();
    await eventBridge.close();
  });

  it('opens the incident of a claim-checked 400-alert notification it receives from EventBridge', async () => {
    // Prepare: the intake on Lambda stores the payload in S3 and publishes a reference.
    const intake = createAlertmanagerWebhook({
      bus: new EventBridgeBus({ eventBusName: BUS, client: eventBridge.client() }),
      store: new S3ObjectStore({ bucket: BUCKET, client: s3.client() }),
      secrets: new StaticSecretSource({ ALERTMANAGER_WEBHOOK_TOKEN: TOKEN }),
      clock: { now: () => new Date(), sleep: async () => {} },
      logger: silentLogger,
    });
    const answer = await intake({
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: Buffer.from(JSON.stringify(largeAlertNotification())),
    });
    const [reference] = eventBridge.accepted;
    const { handler } = await import('../../../functions/incident-timeline/handler.js');

    // Act
    await handler(asDelivered(reference as AcceptedEntry));

    // Assess
    expect(answer.status).toBe(200);
    const store = new S3ObjectStore({ bucket: BUCKET, client: s3.client() });
    const keys: string[] = [];
    for await (const key of store.list('incidents/')) keys.push(key);
    expect(keys.filter((key) => key.endsWith('/timeline.json'))).toHaveLength(1);
    expect(eventBridge.accepted.map((entry) => entry.DetailType)).toContain('IncidentOpened');
  });

  it('records the commits of a claim-checked GitHub push in the dora-metrics handler', async () => {
    // Prepare: a push whose 300 commits make its event larger than the bus accepts.
    const payload = githubExample('push', (p) => p.ref === 'refs/heads/master' && p.commits.length > 0);
    const template = payload.commits[0];
    payload.commits = Array.from({ length: 300 }, (_, index) => ({
      ...template,
      id: index.toString(16).padStart(40, '0'),
      message: `${'a long first line '.repeat(56)}${index}`,
    }));
    const raw = JSON.stringify(payload);
    const intake = createGitHubWebhook({
      bus: new EventBridgeBus({ eventBusName: BUS, client: eventBridge.client() }),
      store: new S3ObjectStore({ bucket: BUCKET, client: s3.client() }),
      secrets: new StaticSecretSource({ GITHUB_WEBHOOK_SECRET: TOKEN }),
      clock: { now: () => new Date(), sleep: async () => {} },
      logger: silentLogger,
    });
    const answer = await intake({
      method: 'POST',
      headers: {
        'x-github-event': 'push',
        'x-github-delivery': 'dddddddd-0000-4000-8000-000000000001',
        'x-github-hook-id': '42',
        'x-hub-signature-256': signGitHubBody(TOKEN, raw),
      },
      body: Buffer.from(raw),
    });
    const reference = eventBridge.accepted.find((entry) => entry.DetailType === 'GitHubPush');
    const { handler } = await import('../../../functions/dora-metrics/handler.js');

    // Act
    await handler(asDelivered(reference as AcceptedEntry));

    // Assess
    expect(answer.status).toBe(200);
    expect(Buffer.byteLength(reference?.Detail ?? '')).toBeLessThan(1024);
    expect(
      s3.keys(BUCKET).filter((key) => key.startsWith('changes/') && key.includes('/pushes/')),
    ).toHaveLength(1);
  });
});
