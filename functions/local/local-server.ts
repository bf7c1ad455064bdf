/**
 * `toilless serve`: the workers behind one HTTP server on this machine. Routes:
 * POST /webhooks/alertmanager, POST /webhooks/github, GET /healthz, GET /metrics.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorResponse, MAX_WEBHOOK_BODY_BYTES, type WebhookResponse } from '../shared/http/webhook.js';
import { createLocalRuntime, type LocalRuntime, type LocalRuntimeOptions } from './local-runtime.js';

export interface LocalServerOptions extends LocalRuntimeOptions {
  /** 0 lets the OS choose (tests). @default 8080 */
  readonly port?: number;
  /** @default 127.0.0.1: only this machine; use 0.0.0.0 to accept deliveries from elsewhere */
  readonly host?: string;
  /** How long close() waits for in-flight requests and event deliveries. @default 10000 */
  readonly shutdownTimeoutMs?: number;
}

export interface LocalServer {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  readonly port: number;
  readonly runtime: LocalRuntime;
  /** Stops accepting requests, finishes in-flight requests and event deliveries, then resolves. */
  close(): Promise<void>;
}

const GET_ROUTES = ['/healthz', '/metrics'] as const;

export async function startLocalServer(options: LocalServerOptions): Promise<LocalServer> {
  const runtime = await createLocalRuntime(options);
  const logger = options.logger;
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 10_000;
  let stopping = false;
  let inFlight = 0;
  let drained: (() => void) | undefined;

  const server = createServer({ keepAliveTimeout: 5_000, requestTimeout: 30_000 }, (request, response) => {
    inFlight += 1;
    const started = process.hrtime.bigint();
    serve(request, response)
      .catch((error: unknown) => {
        // Only a defect of ours gets here: client errors are answered by the routes themselves.
        logger.error({ err: error, url: request.url }, 'request failed');
        return {
          route: 'other',
          response: errorResponse(500, 'internal_error', 'the request could not be handled'),
        };
      })
      .then(({ route, response: answer }) => {
        if (!response.headersSent) writeJson(response, answer, stopping);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        runtime.metrics.webhookRequests.inc({ route, status: String(answer.status) });
        runtime.metrics.webhookDuration.observe({ route }, seconds);
        const level = answerLogLevel(answer.status);
        if (route.startsWith('/webhooks/') && logger.isLevelEnabled(level)) {
          logger[level](
            {
              route,
              status: answer.status,
              durationMs: Math.round(seconds * 1e4) / 10,
              eventId: answer.body.eventId,
            },
            'webhook answered',
          );
        }
      })
      .finally(() => {
        inFlight -= 1;
        if (inFlight === 0) drained?.();
      });
  });

  async function serve(
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<{ route: string; response: WebhookResponse }> {
    const path = pathOf(request.url);
    const webhook = path === undefined ? undefined : runtime.webhooks[path];
    if (path !== undefined && webhook) {
      const body = await readBody(request, MAX_WEBHOOK_BODY_BYTES);
      if (body === 'too-large') {
        const refusal = errorResponse(
          413,
          'payload_too_large',
          `the body exceeds ${MAX_WEBHOOK_BODY_BYTES} bytes; toilless refuses larger webhook payloads`,
        );
        await refuseWithLingeringClose(request, response, refusal);
        return { route: path, response: refusal };
      }
      const headers = Object.fromEntries(
        Object.entries(request.headers).map(([name, value]) => [
          name,
          Array.isArray(value) ? value.join(', ') : value,
        ]),
      );
      return { route: path, response: await webhook({ method: request.method ?? 'GET', headers, body }) };
    }
    if (path === '/healthz' || path === '/metrics') {
      request.resume();
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        return { route: path, response: methodNotAllowed('GET, HEAD') };
      }
      if (path === '/healthz') {
        return stopping
          ? { route: path, response: errorResponse(503, 'stopping', 'the server is shutting down') }
          : { route: path, response: { status: 200, body: { ok: true, status: 'ok' } } };
      }
      const text = await runtime.metrics.registry.metrics();
      response.writeHead(200, { 'content-type': runtime.metrics.registry.contentType });
      response.end(request.method === 'HEAD' ? undefined : text);
      return { route: path, response: { status: 200, body: {} } };
    }
    request.resume();
    return {
      route: 'other',
      response: errorResponse(404, 'not_found', `no route for ${request.method} ${path ?? request.url}`, {
        routes: [
          'POST /webhooks/alertmanager',
          'POST /webhooks/github',
          ...GET_ROUTES.map((r) => `GET ${r}`),
        ],
      }),
    };
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  logger.info(
    {
      url,
      dataDir: runtime.config.dataDir,
      notifications: runtime.notifications,
      generatedSecretFiles: runtime.generatedSecretFiles,
    },
    'toilless is serving',
  );

  let closing: Promise<void> | undefined;
  async function close(): Promise<void> {
    stopping = true;
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    const deadline = Date.now() + shutdownTimeoutMs;
    if (inFlight > 0) {
      await Promise.race([new Promise<void>((resolve) => (drained = resolve)), delay(shutdownTimeoutMs)]);
    }
    server.closeIdleConnections();
    await Promise.race([runtime.close(), delay(Math.max(0, deadline - Date.now()))]);
    server.closeAllConnections();
    await serverClosed;
    logger.info({ inFlight }, 'toilless stopped');
  }

  return {
    url,
    port: address.port,
    runtime,
    close: () => {
      closing ??= close();
      return closing;
    },
  };
}

/**
 * The level of a webhook's "webhook answered" line. A delivery answered 2xx has its intake's line
 * already (what was published, under which event id) and its latency in /metrics, so its own line is
 * debug: one line per accepted delivery instead of two. Refusals and failures stay at info.
 */
export function answerLogLevel(status: number): 'debug' | 'info' {
  return status >= 200 && status < 300 ? 'debug' : 'info';
}

function pathOf(url: string | undefined): string | undefined {
  try {
    return new URL(url ?? '/', 'http://localhost').pathname;
  } catch {
    return undefined;
  }
}

/** How much of a refused body is read and discarded, at most, before the connection is closed. */
export const LINGER_MAX_BYTES = 8 * 1024 * 1024;
/** How long a refused body is read and discarded, at most, before the connection is closed. */
export const LINGER_MAX_MS = 5_000;

/**
 * Answers `refusal` with Connection: close, then keeps reading and discarding the request body (up to
 * LINGER_MAX_BYTES or LINGER_MAX_MS) before closing, as nginx's lingering close does: closing at once
 * would reset the connection under a client still sending, which then sees EPIPE instead of the status.
 */
async function refuseWithLingeringClose(
  request: IncomingMessage,
  response: ServerResponse,
  refusal: WebhookResponse,
): Promise<void> {
  const json = JSON.stringify(refusal.body);
  response.shouldKeepAlive = false;
  response.writeHead(refusal.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(json)),
    connection: 'close',
    ...refusal.headers,
  });
  // The whole answer goes out now; end() waits until the body is drained, since Node closes the socket then.
  response.write(json);
  await new Promise<void>((resolve) => {
    let discarded = 0;
    const done = () => {
      clearTimeout(timer);
      request.off('data', onData);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > LINGER_MAX_BYTES) done();
    };
    const timer = setTimeout(done, LINGER_MAX_MS);
    timer.unref();
    request.on('data', onData);
    request.once('end', done);
    request.once('error', done);
    request.once('close', done);
    // The last chunk may have been the one over the limit: then there is nothing left to wait for.
    if (request.readableEnded || request.destroyed) done();
    else request.resume();
  });
  response.end();
}

/** Reads the whole body, or stops at `limit` bytes: a larger body is refused without being buffered. */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve('too-large');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
        request.pause();
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (!tooLarge) resolve(Buffer.concat(chunks, size));
    });
    request.on('error', reject);
  });
}

function writeJson(response: ServerResponse, answer: WebhookResponse, stopping: boolean): void {
  response.writeHead(answer.status, {
    'content-type': 'application/json; charset=utf-8',
    ...(stopping ? { connection: 'close' } : {}),
    ...answer.headers,
  });
  response.end(JSON.stringify(answer.body));
}

function methodNotAllowed(allow: string): WebhookResponse {
  return { ...errorResponse(405, 'method_not_allowed', `use ${allow}`), headers: { allow } };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
