import { describe, expect, it } from 'vitest';
import { getJson } from '../../../functions/shared/clients/http-json.js';
import { UpstreamError } from '../../../functions/shared/errors.js';

const URL_OF_QUERY = new URL('http://loki:3100/loki/api/v1/query_range?query=%7Bservice%3D%22x%22%7D');

/** A fetch that answers `response` and keeps what it was asked. */
function answering(response: () => Response) {
  const calls: { url: string; init: RequestInit | undefined }[] = [];
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(input), init });
    return response();
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

/** The UpstreamError a request failed with; a request that succeeded fails the test. */
async function failure(request: Promise<unknown>): Promise<UpstreamError> {
  const outcome = await request.then(
    (answer) => answer,
    (error: unknown) => error,
  );
  if (!(outcome instanceof UpstreamError))
    throw new Error(`expected an UpstreamError, got ${String(outcome)}`);
  return outcome;
}

/** A fetch that waits for its signal and rejects as undici does when it aborts. */
const hanging = (async (_input: string | URL | Request, init?: RequestInit) =>
  new Promise<Response>((_resolve, reject) => {
    const signal = init?.signal;
    if (signal?.aborted) reject(signal.reason);
    signal?.addEventListener('abort', () => reject(signal.reason));
  })) as typeof globalThis.fetch;

describe('JSON over HTTP', () => {
  it('answers the parsed body of a 2xx, asking for JSON with the extra headers', async () => {
    // Prepare
    const { fetch, calls } = answering(() => Response.json({ status: 'success', data: [] }));

    // Act
    const answer = await getJson(URL_OF_QUERY, {
      service: 'loki',
      timeoutMs: 1_000,
      fetch,
      headers: { 'X-Scope-OrgID': 'tenant-a' },
    });

    // Assess
    expect(answer).toEqual({ status: 200, body: { status: 'success', data: [] } });
    expect(calls[0]?.init?.headers).toEqual({ accept: 'application/json', 'X-Scope-OrgID': 'tenant-a' });
  });

  it("reports a 4xx with the server's own reason, clipped when it is a whole page", async () => {
    // Prepare
    const reason = answering(
      () => new Response('parse error at line 1, col 2: syntax error\n', { status: 400 }),
    );
    const page = answering(() => new Response(`<html>${'x'.repeat(2_000)}</html>`, { status: 502 }));

    // Act
    const refused = await failure(
      getJson(URL_OF_QUERY, { service: 'loki', timeoutMs: 1_000, fetch: reason.fetch }),
    );
    const proxied = await failure(
      getJson(URL_OF_QUERY, { service: 'loki', timeoutMs: 1_000, fetch: page.fetch }),
    );

    // Assess
    expect(refused).toBeInstanceOf(UpstreamError);
    expect(refused.message).toBe('loki: parse error at line 1, col 2: syntax error');
    expect(refused.status).toBe(400);
    expect(proxied.status).toBe(502);
    expect(proxied.message).toBe(`loki: <html>${'x'.repeat(494)}…`);
  });

  it('names the status when an error answer has no text', async () => {
    // Prepare
    const { fetch } = answering(() => new Response(null, { status: 503, statusText: 'Service Unavailable' }));

    // Act & Assess
    await expect(getJson(URL_OF_QUERY, { service: 'tempo', timeoutMs: 1_000, fetch })).rejects.toThrow(
      'tempo: GET /loki/api/v1/query_range answered HTTP 503 Service Unavailable',
    );
  });

  it('passes the statuses it is told to, with their text', async () => {
    // Prepare
    const { fetch } = answering(() => new Response('trace not found', { status: 404 }));

    // Act
    const answer = await getJson(URL_OF_QUERY, {
      service: 'tempo',
      timeoutMs: 1_000,
      fetch,
      passStatuses: [404],
    });

    // Assess
    expect(answer).toEqual({ status: 404, body: 'trace not found' });
  });

  it('says when a 2xx body is not JSON, quoting its start', async () => {
    // Prepare
    const { fetch } = answering(() => new Response('<!doctype html><title>Login</title>'));

    // Act & Assess
    await expect(getJson(URL_OF_QUERY, { service: 'grafana', timeoutMs: 1_000, fetch })).rejects.toThrow(
      'grafana: GET /loki/api/v1/query_range answered 200 with a body that is not JSON: "<!doctype html><title>Login</title>"',
    );
  });

  it('tells a timeout from a cancellation by the caller', async () => {
    // Prepare
    const caller = new AbortController();
    caller.abort(new Error('the incident budget of 20s ran out'));

    // Act
    const timedOut = await failure(getJson(URL_OF_QUERY, { service: 'loki', timeoutMs: 20, fetch: hanging }));
    const cancelled = await failure(
      getJson(URL_OF_QUERY, { service: 'loki', timeoutMs: 5_000, fetch: hanging, signal: caller.signal }),
    );

    // Assess
    expect(timedOut.message).toBe(
      'loki: GET /loki/api/v1/query_range timed out after 20 ms: the service is slow or unreachable',
    );
    expect(cancelled.message).toBe(
      'loki: GET /loki/api/v1/query_range was cancelled by the caller (the incident budget of 20s ran out)',
    );
  });

  it('names the reason of a connection failure that fetch hides in its cause', async () => {
    // Prepare
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3100'), { code: 'ECONNREFUSED' });
    const fetch = (async () => {
      throw new TypeError('fetch failed', { cause: refused });
    }) as typeof globalThis.fetch;

    // Act & Assess
    await expect(getJson(URL_OF_QUERY, { service: 'loki', timeoutMs: 1_000, fetch })).rejects.toThrow(
      'loki: GET /loki/api/v1/query_range failed: connect ECONNREFUSED 127.0.0.1:3100',
    );
  });

  it('refuses a body over the cap as an upstream error', async () => {
    // Prepare
    const { fetch } = answering(() => Response.json({ data: 'x'.repeat(100) }));

    // Act & Assess
    await expect(
      getJson(URL_OF_QUERY, { service: 'loki', timeoutMs: 1_000, fetch, maxResponseBytes: 64 }),
    ).rejects.toThrow('answered with more than 64 bytes');
  });
});
