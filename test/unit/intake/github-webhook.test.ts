import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CLAIM_TIMEOUT_MS,
  createGitHubWebhook,
  deliveryIdentity,
  deliveryKey,
} from '../../../functions/github-webhook/intake.js';
import { FsObjectStore } from '../../../functions/shared/adapters/local/fs-object-store.js';
import { toApiGatewayResult, toWebhookRequest } from '../../../functions/shared/http/api-gateway.js';
import type { IntakeDependencies } from '../../../functions/shared/http/intake.js';
import { MAX_WEBHOOK_BODY_BYTES, type WebhookRequest } from '../../../functions/shared/http/webhook.js';
import { silentLogger } from '../../../functions/shared/log.js';
import { type SecretSource, StaticSecretSource } from '../../../functions/shared/ports/secrets.js';
import { type GitHubPayload, githubExample, signGitHubBody } from '../../support/github-examples.js';
import {
  hostileEnvironmentNames,
  hostileRepositoryNames,
  invalidUtf8Twins,
} from '../../support/intake-hostile-corpus.js';
import { RecordingBus } from '../../support/recording-bus.js';
import { RecordingClock } from '../../support/recording-clock.js';

const SECRET = "It's a Secret to Everybody";
const DELIVERY = '72d3162e-cc78-11e3-81ab-4c9367dc0958';
const HOOK = '109948940';

interface DeliveryOptions {
  readonly delivery?: string;
  readonly hookId?: string | undefined;
  readonly signature?: string | undefined;
}

/** A signed delivery as GitHub sends it; the body is serialised with indentation, so only raw-body checks pass. */
function delivery(event: string, payload: unknown, options: DeliveryOptions = {}): WebhookRequest {
  const raw = typeof payload === 'string' ? payload : JSON.stringify(payload, null, 2);
  const headers: Record<string, string | undefined> = {
    'content-type': 'application/json',
    'user-agent': 'GitHub-Hookshot/044aadd',
    'x-github-event': event,
    'x-github-delivery': options.delivery ?? DELIVERY,
    'x-github-hook-id': 'hookId' in options ? options.hookId : HOOK,
    'x-hub-signature-256': 'signature' in options ? options.signature : signGitHubBody(SECRET, raw),
  };
  return { method: 'POST', headers, body: Buffer.from(raw) };
}

const deploymentStatus = () => delivery('deployment_status', githubExample('deployment_status'));

describe('GitHub webhook', () => {
  let dataDir: string;
  let store: FsObjectStore;
  let bus: RecordingBus;
  let clock: RecordingClock;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'toilless-gh-intake-'));
    store = new FsObjectStore(dataDir);
    bus = new RecordingBus();
    clock = new RecordingClock(new Date('2026-11-28T09:00:00Z'));
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  function intake(secrets: SecretSource = new StaticSecretSource({ GITHUB_WEBHOOK_SECRET: SECRET })) {
    const deps: IntakeDependencies = { bus, store, secrets, clock, logger: silentLogger };
    return createGitHubWebhook(deps);
  }

  async function storedKeys(): Promise<string[]> {
    const keys: string[] = [];
    for await (const key of store.list('')) keys.push(key);
    return keys;
  }

  async function record(key: string): Promise<Record<string, unknown> | undefined> {
    const stored = await store.get(key);
    return stored && JSON.parse(stored.body.toString('utf8'));
  }

  const claimKey = deliveryKey(deliveryIdentity(deploymentStatus().body));

  describe('accepted deliveries', () => {
    it('publishes a signed deployment_status and records the delivery as published', async () => {
      // Prepare
      const request = deploymentStatus();

      // Act
      const response = await intake()(request);

      // Assess
      expect(response).toEqual({ status: 200, body: { ok: true, eventId: `github:${DELIVERY}` } });
      expect(bus.published.map((event) => [event.id, event.type])).toEqual([
        [`github:${DELIVERY}`, 'GitHubDeploymentStatus'],
      ]);
      expect(await record(claimKey)).toEqual({
        state: 'published',
        eventId: `github:${DELIVERY}`,
        publishedAt: '2026-11-28T09:00:00.000Z',
        deliveryId: DELIVERY,
      });
    });

    it.each([
      ['deployment', (p: GitHubPayload) => p.action === 'created', 'GitHubDeployment'],
      ['workflow_run', (p: GitHubPayload) => p.workflow_run.conclusion === 'success', 'GitHubWorkflowRun'],
      ['push', (p: GitHubPayload) => p.ref === 'refs/heads/master', 'GitHubPush'],
      ['pull_request', (p: GitHubPayload) => p.action === 'closed', 'GitHubPullRequest'],
    ])('publishes a real %s delivery', async (name, predicate, type) => {
      // Prepare
      const request = delivery(name, githubExample(name, predicate));

      // Act
      const response = await intake()(request);

      // Assess
      expect(response.status).toBe(200);
      expect(bus.published.map((event) => event.type)).toEqual([type]);
    });

    it('verifies the signature over the body exactly as received', async () => {
      // Prepare
      const raw = `{ "zen": "Design for failure.",\n  "hook_id": 109948940 }`;
      const request = delivery('ping', raw);

      // Act
      const response = await intake()(request);

      // Assess
      expect(response.status).toBe(202);
    });

    it('records the delivery under the hash of its signed body', async () => {
      // Prepare
      const request = deploymentStatus();

      // Act
      await intake()(request);

      // Assess
      expect(await storedKeys()).toEqual([`webhooks/github/${deliveryIdentity(request.body)}.json`]);
    });
  });

  describe('ignored deliveries', () => {
    it.each([
      ['ping', githubExample('ping')],
      ['pull_request', githubExample('pull_request', (p) => p.action === 'opened')],
      ['workflow_run', githubExample('workflow_run', (p) => p.action === 'requested')],
      ['push', githubExample('push', (p) => p.deleted === true)],
      ['issues', { action: 'opened', issue: { number: 1 } }],
    ])('answers %s with 202 and a reason, publishing and storing nothing', async (name, payload) => {
      // Prepare
      const request = delivery(name, payload);

      // Act
      const response = await intake()(request);

      // Assess
      expect(response.status).toBe(202);
      expect(response.body).toEqual({ ok: true, ignored: expect.any(String) });
      expect(bus.attempts).toBe(0);
      expect(await storedKeys()).toEqual([]);
    });
  });

  describe('rejected deliveries', () => {
    it('refuses methods other than POST with 405 and Allow: POST', async () => {
      // Prepare
      const request = { ...deploymentStatus(), method: 'PUT' };

      // Act
      const response = await intake()(request);

      // Assess
      expect(response.status).toBe(405);
      expect(response.headers).toEqual({ allow: 'POST' });
    });

    it('refuses every delivery with 503 while GITHUB_WEBHOOK_SECRET is not set', async () => {
      // Prepare
      const request = deploymentStatus();

      // Act
      const response = await intake(new StaticSecretSource({}))(request);

      // Assess
      expect(response.status).toBe(503);
      expect(response.body.message).toBe(
        'GITHUB_WEBHOOK_SECRET is not set: GitHub deliveries are refused until it is',
      );
    });

    it('refuses a body over the limit with 413', async () => {
      // Prepare
      const raw = `{"padding":"${'x'.repeat(MAX_WEBHOOK_BODY_BYTES)}"}`;
      const request = delivery('push', raw);

      // Act
      const response = await intake()(request);

      // Assess
      expect(response.status).toBe(413);
    });

    it.each([
      ['a missing signature', undefined],
      ['a signature made with another secret', signGitHubBody('not the secret', '{}')],
      [
        'a signature over the compact body',
        signGitHubBody(SECRET, JSON.stringify(githubExample('deployment_status'))),
      ],
      ['a sha1 signature', 'sha1=7d38cdd689735b008b3c702edd92eea23791c5f6'],
    ])('refuses %s with 401', async (_case, signature) => {
      // Prepare
      const request = delivery('deployment_status', githubExample('deployment_status'), { signature });

      // Act
      const response = await intake()(request);

      // Assess
      expect(response.status).toBe(401);
      expect(response.body.error).toBe('invalid_signature');
    });

    it('refuses an unsigned empty body with 401', async () => {
      // Prepare
      const request = delivery('push', '', { signature: signGitHubBody(SECRET, '') });

      // Act
      const response = await intake()(request);

      // Assess
      expect(response.status).toBe(401);
    });

    it.each([
      ['X-GitHub-Event', 'x-github-event', undefined],
      ['X-GitHub-Delivery', 'x-github-delivery', undefined],
      ['X-GitHub-Delivery', 'x-github-delivery', '../../escape'],
      ['X-GitHub-Hook-ID', 'x-github-hook-id', undefined],
      ['X-GitHub-Hook-ID', 'x-github-hook-id', ''],
      ['X-GitHub-Hook-ID', 'x-github-hook-id', '12/34'],
    ])(
      'refuses a signed delivery with a missing or invalid %s header with 400 naming it',
      async (name, header, value) => {
        // Prepare
        const request = deploymentStatus();
        const headers = { ...request.headers, [header]: value };

        // Act
        const response = await intake()({ ...request, headers });

        // Assess
        expect(response.status).toBe(400);
        expect(response.body).toMatchObject({ error: 'invalid_header', header: name });
        expect(response.body.message).toContain(name);
      },
    );

    it('verifies the signature over the raw bytes, so bodies differing in one invalid UTF-8 byte differ', async () => {
      // Prepare: both bytes decode to U+FFFD, so a check over decoded text could not tell them apart.
      const [first, second] = invalidUtf8Twins();
      const signature = signGitHubBody(SECRET, first);
      const signed = (body: Buffer, sig: string): WebhookRequest => ({
        ...delivery('ping', '{}'),
        headers: { ...delivery('ping', '{}').headers, 'x-hub-signature-256': sig },
        body,
      });

      // Act
      const genuine = await intake()(signed(first, signature));
      const forged = await intake()(signed(second, signature));

      // Assess
      expect(genuine.status).toBe(202);
      expect(forged.status).toBe(401);
    });

    it.each(hostileRepositoryNames)(
      'refuses the repository %j with 400 naming the field',
      async (fullName) => {
        // Prepare
        const payload = githubExample('deployment_status');
        payload.repository.full_name = fullName;

        // Act
        const response = await intake()(delivery('deployment_status', payload));

        // Assess
        expect(response.status).toBe(400);
        expect(response.body).toMatchObject({
          error: 'invalid_payload',
          issues: [{ path: 'repository.full_name' }],
        });
        expect(bus.attempts).toBe(0);
      },
    );

    it.each(hostileEnvironmentNames)(
      'refuses the environment %j with 400 naming the field',
      async (environment) => {
        // Prepare
        const payload = githubExample('deployment_status');
        payload.deployment.environment = 'production';
        payload.deployment_status.environment = environment;

        // Act
        const response = await intake()(delivery('deployment_status', payload));

        // Assess
        expect(response.status).toBe(400);
        expect(response.body).toMatchObject({
          error: 'invalid_payload',
          issues: [{ path: 'deployment_status.environment' }],
        });
        expect(bus.attempts).toBe(0);
      },
    );

    it.each(['review/feature-1', 'Production EU', 'e'.repeat(250), 'préprod'])(
      'accepts the environment %j that GitHub allows and the store can hold',
      async (environment) => {
        // Prepare
        const payload = githubExample('deployment_status');
        payload.deployment.environment = environment;
        payload.deployment_status.environment = environment;

        // Act
        const response = await intake()(delivery('deployment_status', payload));

        // Assess
        expect(response.status).toBe(200);
      },
    );

    it('answers 503 without the cause when the secret cannot be read', async () => {
      // Prepare
      const failing: SecretSource = {
        get: () =>
          Promise.reject(new Error("EISDIR: illegal operation on a directory, read '/srv/secrets/x'")),
      };

      // Act
      const response = await intake(failing)(deploymentStatus());

      // Assess
      expect(response.status).toBe(503);
      expect(response.body.message).toBe('the webhook secret could not be read: retry later');
      expect(JSON.stringify(response.body)).not.toMatch(/EISDIR|\/srv/);
    });

    it('answers 503 without the cause when the bus refuses the event', async () => {
      // Prepare
      bus.failNext(1);

      // Act
      const response = await intake()(deploymentStatus());

      // Assess
      expect(response.status).toBe(503);
      expect(JSON.stringify(response.body)).not.toContain('simulated throttling');
    });

    it('refuses signed malformed JSON with 400 malformed_json', async () => {
      // Prepare
      const request = delivery('push', '{"ref": "refs/heads/main",');

      // Act
      const response = await intake()(request);

      // Assess
      expect(response.status).toBe(400);
      expect(response.body.error).toBe('malformed_json');
    });

    it('refuses a payload that breaks the schema with 400 naming the field', async () => {
      // Prepare
      const payload = githubExample('deployment_status');
      payload.deployment_status.state = 'exploded';

      // Act
      const response = await intake()(delivery('deployment_status', payload));

      // Assess
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({
        error: 'invalid_payload',
        issues: [{ path: 'deployment_status.state', message: expect.any(String) }],
      });
    });

    it('stores and publishes nothing for any rejected request', async () => {
      // Prepare
      const webhook = intake();
      const invalid = githubExample('deployment_status');
      delete invalid.deployment.sha;

      // Act
      await webhook({ ...deploymentStatus(), method: 'GET' });
      await webhook(
        delivery('deployment_status', githubExample('deployment_status'), { signature: undefined }),
      );
      await webhook(delivery('deployment_status', invalid));
      await webhook(delivery('deployment_status', '{oops'));
      await intake(new StaticSecretSource({}))(deploymentStatus());

      // Assess
      expect(bus.attempts).toBe(0);
      expect(await storedKeys()).toEqual([]);
    });
  });

  describe('deduplication', () => {
    it('answers a redelivery as a duplicate without publishing again', async () => {
      // Prepare
      const webhook = intake();
      await webhook(deploymentStatus());

      // Act
      const redelivered = await webhook(deploymentStatus());

      // Assess
      expect(redelivered).toEqual({
        status: 200,
        body: { ok: true, duplicate: true, eventId: `github:${DELIVERY}` },
      });
      expect(bus.published).toHaveLength(1);
    });

    it('answers a redelivery of what it published from memory, without reading the store', async () => {
      // Prepare
      const webhook = intake();
      await webhook(deploymentStatus());
      let reads = 0;
      const get = store.get.bind(store);
      const putIfAbsent = store.putIfAbsent.bind(store);
      store.get = (key) => {
        reads++;
        return get(key);
      };
      store.putIfAbsent = (key, body, options) => {
        reads++;
        return putIfAbsent(key, body, options);
      };

      // Act
      const redelivered = await webhook(deploymentStatus());

      // Assess
      expect(redelivered.body).toEqual({ ok: true, duplicate: true, eventId: `github:${DELIVERY}` });
      expect(reads).toBe(0);
      expect(bus.published).toHaveLength(1);
    });

    it('learns a delivery published by another intake (a restart, another Lambda) from the store once', async () => {
      // Prepare: published by an earlier intake over the same store.
      await intake()(deploymentStatus());
      const webhook = intake();
      let reads = 0;
      const get = store.get.bind(store);
      store.get = (key) => {
        reads++;
        return get(key);
      };

      // Act
      const first = await webhook(deploymentStatus());
      const second = await webhook(deploymentStatus());

      // Assess
      expect(first.body).toMatchObject({ duplicate: true });
      expect(second.body).toMatchObject({ duplicate: true });
      expect(reads).toBe(1);
      expect(bus.published).toHaveLength(1);
    });

    it('publishes the same delivery sent three times at once exactly once, asking the others to retry', async () => {
      // Prepare
      const webhook = intake();
      bus.delay(50);

      // Act
      const responses = await Promise.all([1, 2, 3].map(() => webhook(deploymentStatus())));

      // Assess
      expect(bus.published).toHaveLength(1);
      expect(responses.map((r) => r.status).sort()).toEqual([200, 409, 409]);
      expect(responses.filter((r) => r.status === 409).map((r) => r.headers?.['retry-after'])).toEqual([
        '60',
        '60',
      ]);
    });

    it('publishes a signed body once, whatever hook or delivery id it is replayed under', async () => {
      // Prepare: a captured signed body, replayed with new unsigned headers.
      const webhook = intake();
      const payload = githubExample('deployment_status');

      // Act
      const original = await webhook(delivery('deployment_status', payload));
      const replays = [
        await webhook(
          delivery('deployment_status', payload, { delivery: 'aaaaaaaa-0000-4000-8000-000000000001' }),
        ),
        await webhook(
          delivery('deployment_status', payload, { delivery: 'aaaaaaaa-0000-4000-8000-000000000002' }),
        ),
        await webhook(delivery('deployment_status', payload, { hookId: '1' })),
        await webhook(delivery('deployment', payload, { delivery: 'aaaaaaaa-0000-4000-8000-000000000003' })),
      ];

      // Assess
      expect(original.status).toBe(200);
      expect(replays.map((r) => r.body)).toEqual(
        replays.map(() => ({ ok: true, duplicate: true, eventId: `github:${DELIVERY}` })),
      );
      expect(bus.published).toHaveLength(1);
    });

    it('publishes two different bodies under one delivery id twice', async () => {
      // Prepare
      const webhook = intake();
      const other = githubExample('deployment_status');
      other.deployment_status.id += 1;

      // Act
      await webhook(deploymentStatus());
      const second = await webhook(delivery('deployment_status', other));

      // Assess
      expect(second.status).toBe(200);
      expect(bus.published).toHaveLength(2);
    });

    it('answers 503 when the bus refuses the event and releases the claim so a redelivery succeeds', async () => {
      // Prepare
      const webhook = intake();
      bus.failNext(1);

      // Act
      const refused = await webhook(deploymentStatus());
      const keysAfterRefusal = await storedKeys();
      const redelivered = await webhook(deploymentStatus());

      // Assess
      expect(refused.status).toBe(503);
      expect(keysAfterRefusal).toEqual([]);
      expect(redelivered).toEqual({ status: 200, body: { ok: true, eventId: `github:${DELIVERY}` } });
      expect(bus.published).toHaveLength(1);
    });

    it('answers a delivery claimed moments ago with 409 and Retry-After until the claim goes stale', async () => {
      // Prepare
      const claimedAt = new Date(clock.now().getTime() - 10_000).toISOString();
      await store.put(claimKey, JSON.stringify({ state: 'claimed', claimedAt }));

      // Act
      const response = await intake()(deploymentStatus());

      // Assess
      expect(response.status).toBe(409);
      expect(response.headers).toEqual({ 'retry-after': '50' });
      expect(response.body).toMatchObject({ ok: false, error: 'delivery_in_flight', retryAfterSeconds: 50 });
      expect(bus.attempts).toBe(0);
    });

    it('publishes a redelivery that arrived while the first attempt was publishing and then failed', async () => {
      // Prepare: the first attempt is slow and then refused by the bus.
      const webhook = intake();
      bus.delay(100).failNext(1);

      // Act
      const first = webhook(deploymentStatus());
      while ((await store.get(claimKey)) === undefined)
        await new Promise((resolve) => setTimeout(resolve, 5));
      const whileInFlight = await webhook(deploymentStatus());
      const failed = await first;
      bus.delay(0);
      const retried = await webhook(deploymentStatus());

      // Assess
      expect(whileInFlight.status).toBe(409);
      expect(whileInFlight.body.duplicate).toBeUndefined();
      expect(failed.status).toBe(503);
      expect(retried).toEqual({ status: 200, body: { ok: true, eventId: `github:${DELIVERY}` } });
      expect(bus.published).toHaveLength(1);
    });

    it('answers 200 duplicate only once the record says published', async () => {
      // Prepare
      await store.put(
        claimKey,
        JSON.stringify({
          state: 'published',
          eventId: 'github:first',
          publishedAt: clock.now().toISOString(),
        }),
      );

      // Act
      const response = await intake()(deploymentStatus());

      // Assess
      expect(response).toEqual({ status: 200, body: { ok: true, duplicate: true, eventId: 'github:first' } });
      expect(bus.attempts).toBe(0);
    });

    it('takes over a claim left by a crashed attempt and publishes', async () => {
      // Prepare
      const claimedAt = new Date(clock.now().getTime() - CLAIM_TIMEOUT_MS - 1_000).toISOString();
      await store.put(claimKey, JSON.stringify({ state: 'claimed', claimedAt }));

      // Act
      const response = await intake()(deploymentStatus());

      // Assess
      expect(response).toEqual({ status: 200, body: { ok: true, eventId: `github:${DELIVERY}` } });
      expect(bus.published).toHaveLength(1);
      expect(await record(claimKey)).toMatchObject({ state: 'published' });
    });

    it('lets only one of several concurrent redeliveries take over a stale claim', async () => {
      // Prepare
      const claimedAt = new Date(clock.now().getTime() - 5 * CLAIM_TIMEOUT_MS).toISOString();
      await store.put(claimKey, JSON.stringify({ state: 'claimed', claimedAt }));
      const webhook = intake();
      bus.delay(50);

      // Act
      const responses = await Promise.all([1, 2, 3].map(() => webhook(deploymentStatus())));

      // Assess
      expect(bus.published).toHaveLength(1);
      expect(responses.filter((r) => r.status === 409)).toHaveLength(2);
    });
  });

  describe('durability of the delivery records', () => {
    /** The options each write of the delivery record was made with, in order. */
    function recordWrites(): { readonly call: string; readonly flush: boolean | undefined }[] {
      const writes: { call: string; flush: boolean | undefined }[] = [];
      const put = store.put.bind(store);
      const putIfAbsent = store.putIfAbsent.bind(store);
      store.put = (key, body, options) => {
        const call = options?.ifMatch ? 'take over' : 'put';
        if (key === claimKey) writes.push({ call, flush: options?.flush });
        return put(key, body, options);
      };
      store.putIfAbsent = (key, body, options) => {
        if (key === claimKey) writes.push({ call: 'claim', flush: options?.flush });
        return putIfAbsent(key, body, options);
      };
      return writes;
    }

    it('writes the claim and the published record without a flush to disk', async () => {
      // Prepare
      const writes = recordWrites();

      // Act
      const response = await intake()(deploymentStatus());

      // Assess
      expect(response.status).toBe(200);
      expect(writes).toEqual([
        { call: 'claim', flush: false },
        { call: 'put', flush: false },
      ]);
    });

    it('takes over a stale claim without a flush to disk', async () => {
      // Prepare
      const claimedAt = new Date(clock.now().getTime() - CLAIM_TIMEOUT_MS - 1_000).toISOString();
      await store.put(claimKey, JSON.stringify({ state: 'claimed', claimedAt }));
      const writes = recordWrites();

      // Act
      const response = await intake()(deploymentStatus());

      // Assess
      expect(response.status).toBe(200);
      expect(writes).toEqual([
        { call: 'claim', flush: false },
        { call: 'take over', flush: false },
        { call: 'put', flush: false },
      ]);
    });
  });

  describe('on Lambda', () => {
    it('answers an API Gateway event with a base64 body and mixed-case headers', async () => {
      // Prepare
      const raw = JSON.stringify(githubExample('deployment_status'), null, 2);
      const event = {
        version: '2.0',
        routeKey: 'POST /webhooks/github',
        rawPath: '/webhooks/github',
        rawQueryString: '',
        headers: {
          'Content-Type': 'application/json',
          'X-GitHub-Event': 'deployment_status',
          'X-GitHub-Delivery': DELIVERY,
          'X-GitHub-Hook-ID': HOOK,
          'X-Hub-Signature-256': signGitHubBody(SECRET, raw),
        },
        requestContext: { http: { method: 'POST', path: '/webhooks/github' } },
        body: Buffer.from(raw).toString('base64'),
        isBase64Encoded: true,
      } as unknown as APIGatewayProxyEventV2;

      // Act
      const result = toApiGatewayResult(await intake()(toWebhookRequest(event)));

      // Assess
      expect(result.statusCode).toBe(200);
      expect(result.headers?.['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(String(result.body))).toEqual({ ok: true, eventId: `github:${DELIVERY}` });
    });

    it('keeps the raw bytes of a body and lower-cases header names', () => {
      // Prepare
      const bytes = Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x7d]);
      const event = {
        headers: { 'X-Hub-Signature-256': 'sha256=abc' },
        requestContext: { http: { method: 'POST' } },
        body: bytes.toString('base64'),
        isBase64Encoded: true,
      } as unknown as APIGatewayProxyEventV2;

      // Act
      const request = toWebhookRequest(event);

      // Assess
      expect(request.body.equals(bytes)).toBe(true);
      expect(request.headers).toEqual({ 'x-hub-signature-256': 'sha256=abc' });
    });

    it('carries the 405 Allow header and JSON body back to API Gateway', async () => {
      // Prepare
      const event = {
        headers: {},
        requestContext: { http: { method: 'GET' } },
        isBase64Encoded: false,
      } as unknown as APIGatewayProxyEventV2;

      // Act
      const result = toApiGatewayResult(await intake()(toWebhookRequest(event)));

      // Assess
      expect(result.statusCode).toBe(405);
      expect(result.headers).toMatchObject({ allow: 'POST' });
      expect(JSON.parse(String(result.body))).toMatchObject({ ok: false, error: 'method_not_allowed' });
    });
  });
});
