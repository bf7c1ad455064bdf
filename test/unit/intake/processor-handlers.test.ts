import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertmanagerWebhook } from '../../../functions/alertmanager-webhook/intake.js';
import { createGitHubWebhook } from '../../../functions/github-webhook/intake.js';
import { silentLogger } from '../../../functions/shared/log.js';
import { StaticSecretSource } from '../../../functions/shared/ports/secrets.js';
import {
  deliveredToLambda,
  TEST_BUCKET,
  TEST_BUS,
  useAwsTestServers,
} from '../../support/aws-test-servers.js';
import type { AcceptedEntry } from '../../support/eventbridge-server.js';
import { oversizedPush, signGitHubBody } from '../../support/github-examples.js';
import { largeAlertNotification } from '../../support/intake-hostile-corpus.js';

const TOKEN = 'token';

describe('The processor Lambda handlers', () => {
  const aws = useAwsTestServers({ s3: true, per: 'suite' });
  const saved = { ...process.env };

  beforeAll(() => {
    Object.assign(process.env, {
      TOILLESS_BUCKET: TEST_BUCKET,
      TOILLESS_EVENT_BUS: TEST_BUS,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIATOILLESSTEST0000',
      AWS_SECRET_ACCESS_KEY: 'toilless-test-secret-key',
      AWS_ENDPOINT_URL_S3: aws.s3.endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: aws.eventBridge.endpoint,
      PROMETHEUS_URL: 'http://127.0.0.1:9',
      LOKI_URL: 'http://127.0.0.1:9',
      TEMPO_URL: 'http://127.0.0.1:9',
    });
  });

  afterAll(() => {
    process.env = saved;
  });

  it('opens the incident of a claim-checked 400-alert notification it receives from EventBridge', async () => {
    // Prepare: the intake on Lambda stores the payload in S3 and publishes a reference.
    const intake = createAlertmanagerWebhook({
      bus: aws.bus(),
      store: aws.objectStore(),
      secrets: new StaticSecretSource({ ALERTMANAGER_WEBHOOK_TOKEN: TOKEN }),
      clock: { now: () => new Date(), sleep: async () => {} },
      logger: silentLogger,
    });
    const answer = await intake({
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: Buffer.from(JSON.stringify(largeAlertNotification())),
    });
    const [reference] = aws.eventBridge.accepted;
    const { handler } = await import('../../../functions/incident-timeline/handler.js');

    // Act
    await handler(deliveredToLambda(reference as AcceptedEntry));

    // Assess
    expect(answer.status).toBe(200);
    const store = aws.objectStore();
    const keys: string[] = [];
    for await (const key of store.list('incidents/')) keys.push(key);
    expect(keys.filter((key) => key.endsWith('/timeline.json'))).toHaveLength(1);
    expect(aws.eventBridge.accepted.map((entry) => entry.DetailType)).toContain('IncidentOpened');
  });

  it('records the commits of a claim-checked GitHub push in the dora-metrics handler', async () => {
    // Prepare: a push whose 300 commits make its event larger than the bus accepts.
    const payload = oversizedPush();
    const raw = JSON.stringify(payload);
    const intake = createGitHubWebhook({
      bus: aws.bus(),
      store: aws.objectStore(),
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
    const reference = aws.eventBridge.accepted.find((entry) => entry.DetailType === 'GitHubPush');
    const { handler } = await import('../../../functions/dora-metrics/handler.js');

    // Act
    await handler(deliveredToLambda(reference as AcceptedEntry));

    // Assess
    expect(answer.status).toBe(200);
    expect(Buffer.byteLength(reference?.Detail ?? '')).toBeLessThan(1024);
    expect(
      aws.s3.keys(TEST_BUCKET).filter((key) => key.startsWith('changes/') && key.includes('/pushes/')),
    ).toHaveLength(1);
  });
});
