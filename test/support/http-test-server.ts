/**
 * What every local test server does the same way: listen on 127.0.0.1 on a port the OS picks, read a
 * request body (within the limit the real service enforces), and close without waiting for clients.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Listens on 127.0.0.1 on a free port; resolves with the origin, e.g. `http://127.0.0.1:41234`. */
export async function listenOnLoopback(server: Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return originOf(server);
}

/** The origin a listening server answers on, without a trailing slash. */
export function originOf(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Stops listening and drops open connections, so a kept-alive client cannot hold the server open. */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}

/** A request body over the limit of the service a test server stands in for. */
export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`the request body is over ${limit} bytes`);
    this.name = 'BodyTooLarge';
  }
}

/**
 * The whole request body. Past `limit` bytes the rest is drained, not kept, and the promise rejects
 * with BodyTooLarge once the request ends, so that the server can still answer it.
 */
export function readBody(request: IncomingMessage, limit = Number.POSITIVE_INFINITY): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    request.on('end', () =>
      size > limit ? reject(new BodyTooLarge(limit)) : resolve(Buffer.concat(chunks)),
    );
    request.on('error', reject);
  });
}

const TEXT_TYPE = 'text/plain; charset=utf-8';

/** An answer a test server gives: status, content type (none when absent) and body. */
export interface Reply {
  readonly status: number;
  readonly type?: string;
  readonly body: string;
}

/** A request a query test server answered, as tests inspect it. */
export interface AnsweredQuery {
  readonly method: string;
  readonly path: string;
  /** Query parameters as received (decoded). */
  readonly params: Readonly<Record<string, string>>;
  readonly status: number;
  readonly at: Date;
}

/** How a query test server answers each request. */
export interface QueryServerProps {
  /** The answer to one request, from its URL and decoded query parameters. */
  readonly route: (req: IncomingMessage, url: URL, params: Record<string, string>) => Reply | Promise<Reply>;
  /** Delay before each answer, in milliseconds, until setLatency changes it. @default 0 */
  readonly latencyMs?: number;
}

/** A listening query test server. */
export interface QueryServer {
  /** Origin without a trailing slash, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** Every request answered so far, oldest first. */
  readonly requests: readonly AnsweredQuery[];
  /** Delay before each following answer, in milliseconds. */
  setLatency(ms: number): void;
  /** The next `times` requests (default 1) are answered with this status and text body. */
  failNext(failure: { readonly status: number; readonly body?: string }, times?: number): void;
  /** Cancels pending delays, then stops listening and drops open connections. */
  close(): Promise<void>;
}

/**
 * Serves a read-only query API on loopback: routes (or fails as told), waits the latency, records,
 * answers; a route that throws answers 500 with the stack so the failing test shows the server's bug.
 */
export async function startQueryServer(props: QueryServerProps): Promise<QueryServer> {
  const requests: AnsweredQuery[] = [];
  const failures: Reply[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let latencyMs = props.latencyMs ?? 0;

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://query.local');
    const params: Record<string, string> = {};
    for (const [name, value] of url.searchParams) params[name] = value;
    const reply = failures.shift() ?? (await props.route(req, url, params));
    if (latencyMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          resolve();
        }, latencyMs);
        timers.add(timer);
      });
    }
    requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      params,
      status: reply.status,
      at: new Date(),
    });
    if (res.destroyed) return;
    res.writeHead(reply.status, reply.type ? { 'content-type': reply.type } : {});
    res.end(reply.body);
  }

  const server = createServer((req, res) => {
    answer(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': TEXT_TYPE });
      res.end(`test server failure: ${error instanceof Error ? error.stack : String(error)}`);
    });
  });
  const url = await listenOnLoopback(server);
  return {
    url,
    requests,
    setLatency: (ms) => {
      latencyMs = ms;
    },
    failNext: (failure, times = 1) => {
      for (let i = 0; i < times; i++)
        failures.push({ status: failure.status, type: TEXT_TYPE, body: failure.body ?? '' });
    },
    close: () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      return closeServer(server);
    },
  };
}
