import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  bearerTokenCheck,
  bearerTokenMatches,
  createAlertmanagerWebhook,
} from '../../../functions/alertmanager-webhook/intake.js';
import { awsIntakePorts } from '../../../functions/shared/adapters/aws/lambda-worker.js';
import {
  DeferredEventBus,
  DeferredObjectStore,
} from '../../../functions/shared/adapters/deferred/deferred-ports.js';
import { FsObjectStore } from '../../../functions/shared/adapters/local/fs-object-store.js';
import { ConfigurationError } from '../../../functions/shared/errors.js';
import { toApiGatewayResult, toWebhookRequest } from '../../../functions/shared/http/api-gateway.js';
import type { IntakeDependencies } from '../../../functions/shared/http/intake.js';
import { MAX_WEBHOOK_BODY_BYTES, type WebhookRequest } from '../../../functions/shared/http/webhook.js';
import { silentLogger } from '../../../functions/shared/log.js';
import type { Clock } from '../../../functions/shared/ports/clock.js';
import { type SecretSource, StaticSecretSource } from '../../../functions/shared/ports/secrets.js';
import { RecordingBus } from '../../support/recording-bus.js';

const TOKEN = 'example-token';
const NOW = new Date('2026-11-28T08:40:00Z');

interface CapturedDelivery {
  readonly headers: Record<string, string>;
  readonly body: Record<string, unknown>;
}

async function captured(name: string): Promise<CapturedDelivery> {
  return JSON.parse(await readFile(new URL(`../../fixtures/alertmanager/${name}`, import.meta.url), 'utf8'));
}

/** The request exactly as Alertmanager sent it: its headers, and the body as JSON bytes. */
async function realDelivery(name = 'firing-fastburnrate.json'): Promise<WebhookRequest> {
  const { headers, body } = await captured(name);
  return {
    method: 'POST',
    headers: { ...headers, authorization: `Bearer ${TOKEN}` },
    body: Buffer.from(JSON.stringify(body)),
  };
}

const fixedClock: Clock = { now: () => NOW, sleep: async () => {} };

describe('Alertmanager webhook', () => {
  let dataDir: string;
  let store: FsObjectStore;
  let bus: RecordingBus;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'toilless-am-intake-'));
    store = new FsObjectStore(dataDir);
    bus = new RecordingBus();
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  function intake(secrets: SecretSource = new StaticSecretSource({ ALERTMANAGER_WEBHOOK_TOKEN: TOKEN })) {
    const deps: IntakeDependencies = { bus, store, secrets, clock: fixedClock, logger: silentLogger };
    return createAlertmanagerWebhook(deps);
  }

  async function storedKeys(): Promise<string[]> {
    const keys: string[] = [];
    for await (const key of store.list('')) keys.push(key);
    return keys;
  }

  it('publishes one AlertNotification for a real delivery and answers with its id', async () => {
    // Prepare
    const request = await realDelivery();

    // Act
    const response = await intake()(request);

    // Assess
    expect(response.status).toBe(200);
    expect(bus.published).toHaveLength(1);
    const [event] = bus.published;
    expect(response.body).toEqual({ ok: true, eventId: event?.id });
    expect(event?.type).toBe('AlertNotification');
    expect(event?.time).toBe(NOW.toISOString());
  });

  it.each([
    'firing-grouped-node-warnings.json',
    'firing-truncated-max-alerts-1.json',
    'resolved-fastburnrate.json',
  ])('accepts the real delivery %s', async (name) => {
    // Prepare
    const request = await realDelivery(name);

    // Act
    const response = await intake()(request);

    // Assess
    expect(response.status).toBe(200);
    expect(bus.published).toHaveLength(1);
  });

  it('publishes a re-send of the same group under the same event id', async () => {
    // Prepare
    const webhook = intake();

    // Act
    const first = await webhook(await realDelivery());
    const again = await webhook(await realDelivery());

    // Assess
    expect(again.body.eventId).toBe(first.body.eventId);
    expect(bus.published.map((event) => event.id)).toEqual([first.body.eventId, first.body.eventId]);
  });

  it('refuses methods other than POST with 405 and Allow: POST', async () => {
    // Prepare
    const request = { ...(await realDelivery()), method: 'GET' };

    // Act
    const response = await intake()(request);

    // Assess
    expect(response.status).toBe(405);
    expect(response.headers).toEqual({ allow: 'POST' });
    expect(bus.attempts).toBe(0);
  });

  it('refuses a body over the limit with 413 before looking at credentials', async () => {
    // Prepare
    const request: WebhookRequest = {
      method: 'POST',
      headers: {},
      body: Buffer.alloc(MAX_WEBHOOK_BODY_BYTES + 1, 0x20),
    };

    // Act
    const response = await intake()(request);

    // Assess
    expect(response.status).toBe(413);
    expect(response.body.error).toBe('payload_too_large');
  });

  it('refuses every delivery with 503 while ALERTMANAGER_WEBHOOK_TOKEN is not set', async () => {
    // Prepare
    const request = await realDelivery();

    // Act
    const response = await intake(new StaticSecretSource({}))(request);

    // Assess
    expect(response.status).toBe(503);
    expect(response.body.message).toBe(
      'ALERTMANAGER_WEBHOOK_TOKEN is not set: Alertmanager deliveries are refused until it is',
    );
    expect(bus.attempts).toBe(0);
  });

  it('answers 503 when the token cannot be read, so Alertmanager retries', async () => {
    // Prepare
    const failing: SecretSource = { get: () => Promise.reject(new Error('Secrets Manager timed out')) };

    // Act
    const response = await intake(failing)(await realDelivery());

    // Assess
    expect(response.status).toBe(503);
    expect(response.body.message).toBe('the webhook secret could not be read: retry later');
    expect(JSON.stringify(response.body)).not.toContain('Secrets Manager timed out');
  });

  it.each([
    ['no Authorization header', undefined],
    ['a wrong token of the same length', 'Bearer examp1e-token'],
    ['a token of another length', 'Bearer example-token-but-longer'],
    ['another scheme', `Basic ${Buffer.from(`toilless:${TOKEN}`).toString('base64')}`],
    ['an empty bearer token', 'Bearer '],
  ])('refuses %s with 401 and WWW-Authenticate: Bearer', async (_case, authorization) => {
    // Prepare
    const request = await realDelivery();
    const headers = { ...request.headers, authorization };

    // Act
    const response = await intake()({ ...request, headers });

    // Assess
    expect(response.status).toBe(401);
    expect(response.headers).toEqual({ 'www-authenticate': 'Bearer' });
    expect(bus.attempts).toBe(0);
  });

  it('honours a rotated token from the next request on, and refuses the old one', async () => {
    // Prepare
    const values: { ALERTMANAGER_WEBHOOK_TOKEN: string } = { ALERTMANAGER_WEBHOOK_TOKEN: TOKEN };
    const webhook = intake(new StaticSecretSource(values));
    const withToken = async (token: string) => {
      const request = await realDelivery();
      return webhook({ ...request, headers: { ...request.headers, authorization: `Bearer ${token}` } });
    };
    const beforeRotation = await withToken(TOKEN);

    // Act
    values.ALERTMANAGER_WEBHOOK_TOKEN = 'rotated-token';
    const oldToken = await withToken(TOKEN);
    const newToken = await withToken('rotated-token');
    values.ALERTMANAGER_WEBHOOK_TOKEN = TOKEN;
    const rolledBack = await withToken(TOKEN);
    const retiredToken = await withToken('rotated-token');

    // Assess
    expect(beforeRotation.status).toBe(200);
    expect(oldToken.status).toBe(401);
    expect(newToken.status).toBe(200);
    expect(rolledBack.status).toBe(200);
    expect(retiredToken.status).toBe(401);
  });

  it('answers the same for a token as bearerTokenMatches, on the first request and on later ones', () => {
    // Prepare
    const matches = bearerTokenCheck();
    const cases: [string | undefined, string][] = [
      [`Bearer ${TOKEN}`, TOKEN],
      [`Bearer ${TOKEN}`, TOKEN],
      ['Bearer examp1e-token', TOKEN],
      [`Bearer ${TOKEN}`, 'another-token'],
      ['Bearer another-token', 'another-token'],
      [undefined, 'another-token'],
      [`Bearer ${TOKEN}  `, TOKEN],
    ];

    // Act
    const answers = cases.map(([authorization, expected]) => matches(authorization, expected));

    // Assess
    expect(answers).toEqual(
      cases.map(([authorization, expected]) => bearerTokenMatches(authorization, expected)),
    );
    expect(answers).toEqual([true, true, false, false, true, false, true]);
  });

  it('accepts the bearer scheme in any letter case', async () => {
    // Prepare
    const request = await realDelivery();
    const headers = { ...request.headers, authorization: `bearer ${TOKEN}` };

    // Act
    const response = await intake()({ ...request, headers });

    // Assess
    expect(response.status).toBe(200);
  });

  it('tells an unauthenticated caller nothing about the payload', async () => {
    // Prepare
    const request: WebhookRequest = { method: 'POST', headers: {}, body: Buffer.from('{not json') };

    // Act
    const response = await intake()(request);

    // Assess
    expect(response.status).toBe(401);
  });

  it('refuses malformed JSON with 400 malformed_json', async () => {
    // Prepare
    const request = { ...(await realDelivery()), body: Buffer.from('{"receiver": "toilless",') };

    // Act
    const response = await intake()(request);

    // Assess
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('malformed_json');
  });

  it('refuses a payload that breaks the schema with 400 naming the field', async () => {
    // Prepare
    const { headers, body } = await captured('firing-grouped-node-warnings.json');
    const alerts = body.alerts as Record<string, unknown>[];
    delete alerts[1]?.startsAt;
    const request: WebhookRequest = {
      method: 'POST',
      headers: { ...headers, authorization: `Bearer ${TOKEN}` },
      body: Buffer.from(JSON.stringify(body)),
    };

    // Act
    const response = await intake()(request);

    // Assess
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({
      ok: false,
      error: 'invalid_payload',
      issues: [{ path: 'alerts.1.startsAt', message: expect.any(String) }],
    });
    expect(response.body.message).toContain('alerts.1.startsAt');
    expect(bus.attempts).toBe(0);
  });

  it('answers 503 when the bus refuses the event, and accepts the retry', async () => {
    // Prepare
    bus.failNext(1);
    const webhook = intake();

    // Act
    const refused = await webhook(await realDelivery());
    const retried = await webhook(await realDelivery());

    // Assess
    expect(refused.status).toBe(503);
    expect(refused.body.error).toBe('publish_failed');
    expect(JSON.stringify(refused.body)).not.toContain('simulated throttling');
    expect(retried.status).toBe(200);
    expect(bus.published).toHaveLength(1);
  });

  it('stores nothing, whatever it answers', async () => {
    // Prepare
    const webhook = intake();

    // Act
    await webhook(await realDelivery());
    await webhook({ ...(await realDelivery()), body: Buffer.from('[]') });

    // Assess
    expect(await storedKeys()).toEqual([]);
  });

  it('answers an API Gateway event with a base64 body and mixed-case headers', async () => {
    // Prepare
    const { body } = await captured('firing-fastburnrate.json');
    const event = {
      version: '2.0',
      routeKey: 'POST /webhooks/alertmanager',
      rawPath: '/webhooks/alertmanager',
      rawQueryString: '',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      requestContext: { http: { method: 'POST', path: '/webhooks/alertmanager' } },
      body: Buffer.from(JSON.stringify(body)).toString('base64'),
      isBase64Encoded: true,
    } as unknown as APIGatewayProxyEventV2;

    // Act
    const result = toApiGatewayResult(await intake()(toWebhookRequest(event)));

    // Assess
    expect(result.statusCode).toBe(200);
    expect(result.headers?.['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(String(result.body))).toEqual({ ok: true, eventId: bus.published[0]?.id });
  });

  it('builds its Lambda ports from TOILLESS_BUCKET and TOILLESS_EVENT_BUS, loading their clients on first use', () => {
    // Prepare
    const env = { TOILLESS_BUCKET: 'toilless-data', TOILLESS_EVENT_BUS: 'toilless', AWS_REGION: 'eu-west-1' };

    // Act
    const ports = awsIntakePorts({ name: 'alertmanager-webhook' }, env);

    // Assess
    expect(ports.store).toBeInstanceOf(DeferredObjectStore);
    expect(ports.bus).toBeInstanceOf(DeferredEventBus);
  });

  it.each([
    ['TOILLESS_BUCKET', { TOILLESS_EVENT_BUS: 'toilless' }],
    ['TOILLESS_EVENT_BUS', { TOILLESS_BUCKET: 'toilless-data' }],
  ])('refuses to start on Lambda without %s', (name, env) => {
    // Act
    const build = () => awsIntakePorts({ name: 'alertmanager-webhook' }, env);

    // Assess
    expect(build).toThrow(ConfigurationError);
    expect(build).toThrow(`${name} is not set`);
  });
});
