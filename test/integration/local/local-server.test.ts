import { readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { answerLogLevel, type LocalServer, startLocalServer } from '../../../functions/local/local-server.js';
import type { ToillessEvent } from '../../../functions/shared/events/types.js';
import { captureLog } from '../../support/captured-log.js';
import { githubExample, signGitHubBody } from '../../support/github-examples.js';
import { largeAlertNotification } from '../../support/intake-hostile-corpus.js';
import {
  generatedSecret,
  type LocalServerUnderTest,
  recordEvents,
  startTestLocalServer,
} from '../../support/local-server.js';
import { createTempDir } from '../../support/process.js';
import { waitFor } from '../../support/wait.js';

const fixture = async (name: string) =>
  JSON.parse(await readFile(new URL(`../../fixtures/alertmanager/${name}`, import.meta.url), 'utf8')).body;

/** A body sent as `count` chunks of `size` bytes, a few milliseconds apart, as a slow client sends. */
function slowChunks(count: number, size: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    async pull(controller) {
      if (sent === count) return controller.close();
      sent += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
      controller.enqueue(new Uint8Array(size).fill(0x61));
    },
  });
}

describe('Local server', () => {
  let local: LocalServerUnderTest;
  let server: LocalServer;
  let received: ToillessEvent[];
  let token: string;

  beforeEach(async () => {
    local = await startTestLocalServer();
    server = local.server;
    received = recordEvents(server, ['AlertNotification', 'GitHubDeploymentStatus']);
    token = await generatedSecret(local.dataDir, 'alertmanager-webhook-token');
  });

  afterEach(async () => {
    await local.stop();
  });

  const postAlert = (body: unknown, bearer = token) =>
    fetch(`${server.url}/webhooks/alertmanager`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('answers /healthz while serving', async () => {
    const response = await fetch(`${server.url}/healthz`);

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, status: 'ok' });
  });

  it('publishes an AlertNotification for an authenticated Alertmanager delivery', async () => {
    const payload = await fixture('firing-fastburnrate.json');

    const response = await postAlert(payload);

    expect(response.status).toBe(200);
    const answer = (await response.json()) as { eventId: string };
    const event = await waitFor(async () => received[0], {
      timeoutMs: 5_000,
      description: 'the event to arrive',
    });
    expect(event.id).toBe(answer.eventId);
    expect(event.type).toBe('AlertNotification');
    expect(event.type === 'AlertNotification' && event.detail.payload.groupKey).toBe(payload.groupKey);
  });

  it('refuses a wrong token with 401 and publishes nothing', async () => {
    const response = await postAlert(await fixture('firing-fastburnrate.json'), 'not-the-token');

    expect(response.status).toBe(401);
    await server.runtime.bus.idle();
    expect(received).toEqual([]);
  });

  it('refuses a chunked body over 1 MiB with 413 without buffering it', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'a');

    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${server.url}/webhooks/alertmanager`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let i = 0; i < 20; i += 1) req.write(chunk);
      req.end();
    });

    expect(status).toBe(413);
    expect(received).toEqual([]);
  });

  it.each([
    ['with Content-Length', () => Buffer.alloc(2 * 1024 * 1024, 'a')],
    ['chunked', () => slowChunks(32, 64 * 1024)],
  ])(
    "answers 413 to Node's fetch posting a 2 MiB body %s, instead of resetting the connection",
    async (_how, body) => {
      const response = await fetch(`${server.url}/webhooks/alertmanager`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body(),
        duplex: 'half',
      } as RequestInit);

      expect(response.status).toBe(413);
      expect(response.headers.get('connection')).toBe('close');
      expect(((await response.json()) as { error: string }).error).toBe('payload_too_large');
      expect(received).toEqual([]);
    },
  );

  it('keeps reading a refused body after the 413 and closes only once it is sent (lingering close)', async () => {
    const total = 2 * 1024 * 1024;
    const { port } = server;
    const socket = connect(port, '127.0.0.1');
    const events: string[] = [];
    let answer = '';
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
    });
    socket.on('end', () => events.push('server closed'));
    socket.on('error', (error) => events.push(`error ${(error as NodeJS.ErrnoException).code}`));
    await new Promise<void>((resolve) => socket.once('connect', resolve));

    socket.write(
      `POST /webhooks/alertmanager HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${total}\r\n\r\n`,
    );
    socket.write(Buffer.alloc(total - 256 * 1024, 'a'));
    await waitFor(async () => (answer.includes('\r\n\r\n') ? true : undefined), {
      timeoutMs: 5_000,
      description: 'the 413 to arrive while the body is still being sent',
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    events.push('rest of the body sent');
    await new Promise<void>((resolve) => socket.write(Buffer.alloc(256 * 1024, 'a'), () => resolve()));
    await waitFor(async () => (events.includes('server closed') ? true : undefined), {
      timeoutMs: 5_000,
      description: 'the server to close the connection',
    });
    socket.destroy();

    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer.toLowerCase()).toContain('connection: close');
    expect(events).toEqual(['rest of the body sent', 'server closed']);
  });

  it('opens the incident of a 400-alert notification of about 530 KB, over the bus limit', async () => {
    const payload = largeAlertNotification({ alerts: 400 });

    const response = await postAlert(payload);

    expect(response.status).toBe(200);
    const answer = (await response.json()) as { eventId: string };
    const event = await waitFor(async () => received.find((e) => e.id === answer.eventId), {
      timeoutMs: 10_000,
      description: 'the full AlertNotification to be delivered',
    });
    expect(event.type === 'AlertNotification' && event.detail.payload.alerts).toHaveLength(400);
    const timeline = await waitFor(
      async () => {
        for await (const key of server.runtime.store.list('incidents/')) {
          if (key.endsWith('/timeline.json')) return key;
        }
        return undefined;
      },
      { timeoutMs: 30_000, description: 'the incident timeline to be stored' },
    );
    expect(timeline).toMatch(/^incidents\/[^/]+\/timeline\.json$/);
    await server.runtime.bus.idle();
    const deadLetters: string[] = [];
    for await (const key of server.runtime.store.list('dead-letter/')) deadLetters.push(key);
    expect(deadLetters).toEqual([]);
  });

  it('answers unknown routes with 404 and wrong methods with 405', async () => {
    const unknown = await fetch(`${server.url}/webhooks/pagerduty`, { method: 'POST' });
    const wrongMethod = await fetch(`${server.url}/webhooks/alertmanager`);
    const postMetrics = await fetch(`${server.url}/metrics`, { method: 'POST' });

    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: string }).error).toBe('not_found');
    expect(wrongMethod.status).toBe(405);
    expect(postMetrics.status).toBe(405);
    expect(postMetrics.headers.get('allow')).toBe('GET, HEAD');
  });

  it('accepts a signed GitHub delivery with the generated secret', async () => {
    const secret = await generatedSecret(local.dataDir, 'github-webhook-secret');
    const body = JSON.stringify(
      githubExample('deployment_status', (p) => p.deployment_status.state === 'success'),
    );
    const signature = signGitHubBody(secret, body);

    const response = await fetch(`${server.url}/webhooks/github`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'deployment_status',
        'x-github-delivery': '5f4c0a4e-0000-4000-8000-000000000001',
        'x-github-hook-id': '471147114',
        'x-hub-signature-256': signature,
      },
      body,
    });

    expect(response.status).toBe(200);
    await waitFor(async () => received.find((event) => event.type === 'GitHubDeploymentStatus'), {
      timeoutMs: 5_000,
      description: 'the GitHubDeploymentStatus event',
    });
  });

  it('counts requests by route and status, and events by type, on /metrics', async () => {
    await postAlert(await fixture('firing-fastburnrate.json'));
    await postAlert(await fixture('firing-fastburnrate.json'), 'wrong');

    const text = await (await fetch(`${server.url}/metrics`)).text();

    expect(text).toContain('toilless_webhook_requests_total{route="/webhooks/alertmanager",status="200"} 1');
    expect(text).toContain('toilless_webhook_requests_total{route="/webhooks/alertmanager",status="401"} 1');
    expect(text).toContain('toilless_events_published_total{type="AlertNotification"} 1');
  });

  it('finishes an in-flight request and its delivery before close() resolves', async () => {
    const body = JSON.stringify(await fixture('firing-fastburnrate.json'));
    const half = Math.floor(body.length / 2);
    let status = 0;
    const answered = new Promise<void>((resolve, reject) => {
      const req = request(`${server.url}/webhooks/alertmanager`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
        },
      });
      req.on('response', (res) => {
        status = res.statusCode ?? 0;
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.write(body.slice(0, half));
      setTimeout(() => req.end(body.slice(half)), 300);
    });
    await new Promise((resolve) => setTimeout(resolve, 100));

    await server.close();

    await answered;
    expect(status).toBe(200);
    expect(received.map((event) => event.type)).toEqual(['AlertNotification']);
  });
});

describe('Local server log', () => {
  it('logs an accepted delivery once, by its intake, and a refused one with its status', async () => {
    // Prepare
    const log = captureLog('toilless');
    log.logger.level = 'info';
    const dataDir = await createTempDir('local-server-log');
    const server = await startLocalServer({
      port: 0,
      dataDir,
      logger: log.logger,
      env: {},
      processMetrics: false,
    });
    const post = async (bearer: string) =>
      fetch(`${server.url}/webhooks/alertmanager`, {
        method: 'POST',
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
        body: JSON.stringify(await fixture('firing-fastburnrate.json')),
      });

    // Act
    let statuses: number[];
    let token: string;
    try {
      token = await generatedSecret(dataDir, 'alertmanager-webhook-token');
      statuses = [(await post(token)).status, (await post('not-the-token-4711')).status];
    } finally {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    }

    // Assess
    expect(statuses).toEqual([200, 401]);
    const lines = log.records().filter((line) => line.component === 'alertmanager-webhook' || line.route);
    expect(lines.map((line) => [line.msg, line.status])).toEqual([
      ['alert notification published', 'firing'],
      ['Alertmanager delivery with a missing or wrong bearer token', undefined],
      ['webhook answered', 401],
    ]);
    expect(log.text()).not.toContain(token);
    expect(log.text()).not.toContain('not-the-token-4711');
  });

  it.each([
    [200, 'debug'],
    [202, 'debug'],
    [400, 'info'],
    [401, 'info'],
    [409, 'info'],
    [413, 'info'],
    [503, 'info'],
  ])('logs "webhook answered" for a %i at %s', (status, level) => {
    expect(answerLogLevel(status)).toBe(level);
  });
});
