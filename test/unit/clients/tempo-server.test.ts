import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  generateTraces,
  startTempoServer,
  type TempoServer,
  type TempoTraceInput,
  tracesFromOtlp,
} from '../../support/tempo-server.js';

interface Fixture {
  readonly request: { readonly path: string; readonly query: Readonly<Record<string, string>> };
  readonly status: number;
  readonly contentType: string;
  readonly body: unknown;
}

interface SearchSpan {
  readonly spanID: string;
  readonly startTimeUnixNano: string;
  readonly durationNanos: string;
  readonly attributes: readonly { readonly key: string }[];
}

interface SearchTrace {
  readonly traceID: string;
  readonly rootTraceName: string;
  readonly startTimeUnixNano: string;
  readonly durationMs: number;
  readonly spanSets: readonly { readonly spans: readonly SearchSpan[] }[];
}

interface SearchBody {
  readonly traces: readonly SearchTrace[];
  readonly metrics: unknown;
}

async function fixture(name: string): Promise<Fixture> {
  const text = await readFile(new URL(`../../fixtures/tempo/${name}`, import.meta.url), 'utf8');
  return JSON.parse(text) as Fixture;
}

async function replay(tempo: TempoServer, recorded: Fixture) {
  const url = new URL(recorded.request.path, tempo.url);
  for (const [name, value] of Object.entries(recorded.request.query)) url.searchParams.set(name, value);
  return get(url);
}

async function get(url: URL | string) {
  const response = await fetch(url);
  const text = await response.text();
  const type = response.headers.get('content-type');
  return { status: response.status, type, text, body: type === 'application/json' ? JSON.parse(text) : text };
}

/** Attribute order in search results is Go map order: compare sorted. */
function sortedAttributes(body: unknown): unknown {
  const search = body as SearchBody;
  const sortSpans = (spans: readonly SearchSpan[]) =>
    spans.map((span) => ({
      ...span,
      attributes: [...span.attributes].sort((a, b) => (a.key < b.key ? -1 : 1)),
    }));
  return search.traces.map((trace) => {
    const { spanSet, ...rest } = trace as SearchTrace & { spanSet: { spans: SearchSpan[] } };
    return {
      ...rest,
      spanSet: { ...spanSet, spans: sortSpans(spanSet.spans) },
      spanSets: trace.spanSets.map((set) => ({ ...set, spans: sortSpans(set.spans) })),
    };
  });
}

/**
 * The 10 error traces behind the search fixtures, rebuilt from what search returned: root spans from
 * the sample-app search, payment-gateway children from the payment-gateway search, plus one OK trace.
 */
async function fixtureTraces(): Promise<TempoTraceInput[]> {
  const roots = ((await fixture('search-service-errors.json')).body as SearchBody).traces;
  const children = ((await fixture('search-no-time-range.json')).body as SearchBody).traces;
  const resource = { 'deployment.environment': 'demo' };
  const traces = roots.map((trace): TempoTraceInput => {
    const root = trace.spanSets[0]?.spans[0] as SearchSpan;
    const child = children.find((c) => c.traceID === trace.traceID)?.spanSets[0]?.spans[0] as SearchSpan;
    return {
      traceId: trace.traceID,
      spans: [
        {
          spanId: root.spanID,
          name: trace.rootTraceName,
          service: 'sample-app',
          resource,
          kind: 'server',
          start: BigInt(root.startTimeUnixNano),
          end: BigInt(root.startTimeUnixNano) + BigInt(root.durationNanos),
          status: { code: 'error', message: 'upstream payment-gateway timeout' },
          attributes: {
            'http.request.method': 'POST',
            'http.route': '/checkout',
            'http.response.status_code': 500,
          },
        },
        {
          spanId: child.spanID,
          parentSpanId: root.spanID,
          name: 'payment-gateway charge',
          service: 'payment-gateway',
          resource,
          kind: 'server',
          start: BigInt(child.startTimeUnixNano),
          end: BigInt(child.startTimeUnixNano) + BigInt(child.durationNanos),
          status: { code: 'error', message: 'deadline exceeded' },
          attributes: { 'rpc.method': 'Charge', 'payment.provider': 'acme' },
        },
      ],
    };
  });
  traces.push({
    traceId: '34d398ecfb5968bde838ea9034b23637',
    spans: [
      {
        spanId: '4af82720900e8b61',
        name: 'GET /products',
        service: 'sample-app',
        resource,
        kind: 'server',
        start: 1_795_856_506_080_878_280n,
        durationMs: 35,
        status: { code: 'ok' },
        attributes: {
          'http.request.method': 'GET',
          'http.route': '/products',
          'http.response.status_code': 200,
        },
      },
    ],
  });
  return traces;
}

describe('Tempo test server', () => {
  let tempo: TempoServer;

  beforeEach(async () => {
    const bodies = [
      ((await fixture('trace-v1-error.json')).body as { batches: unknown[] }).batches,
      (
        (await fixture('trace-v2-leading-zero-id-trimmed.json')).body as {
          trace: { resourceSpans: unknown[] };
        }
      ).trace.resourceSpans,
    ];
    tempo = await startTempoServer({ traces: bodies.flatMap((body) => tracesFromOtlp(body)) });
  });

  afterEach(async () => {
    await tempo.close();
  });

  it.each([
    'trace-v1-error.json',
    'trace-v2-error.json',
    'trace-v2-leading-zero-id-trimmed.json',
    'trace-v2-unknown-200-empty.json',
  ])('answers the real request of %s with the same body', async (name) => {
    // Prepare
    const recorded = await fixture(name);

    // Act
    const answer = await replay(tempo, recorded);

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.type).toBe(recorded.contentType);
    expect(answer.body).toEqual(recorded.body);
  });

  it('answers an unknown trace on v1 with 404, an empty body and no content type', async () => {
    // Act
    const answer = await replay(tempo, await fixture('trace-v1-unknown-404.json'));

    // Assess
    expect(answer).toMatchObject({ status: 404, type: null, text: '' });
  });

  it.each([
    [
      '/api/traces/not-a-trace-id',
      "trace IDs can only contain hex characters: invalid character 'n' at position 1",
    ],
    [`/api/traces/${'a'.repeat(33)}`, "trace IDs can't be larger than 128 bits"],
  ])('rejects %s with a 400 in Tempo words', async (path, message) => {
    // Act
    const answer = await get(new URL(path, tempo.url));

    // Assess
    expect(answer).toMatchObject({ status: 400, type: 'text/plain; charset=utf-8', text: message });
  });

  it('answers /api/echo and /ready as Tempo does', async () => {
    // Act
    const echo = await replay(tempo, await fixture('echo.json'));
    const ready = await replay(tempo, await fixture('ready.json'));

    // Assess
    expect(echo).toMatchObject({ status: 200, text: 'echo\n', type: 'text/plain; charset=utf-8' });
    expect(ready).toMatchObject({ status: 200, text: 'ready\n' });
  });
});

describe('Tempo test server search', () => {
  let tempo: TempoServer;

  beforeEach(async () => {
    tempo = await startTempoServer({ traces: await fixtureTraces() });
  });

  afterEach(async () => {
    await tempo.close();
  });

  it.each([
    'search-service-errors.json',
    'search-service-duration-over-500ms.json',
    'search-no-time-range.json',
    'search-no-match.json',
  ])('answers the real request of %s with the same traces', async (name) => {
    // Prepare
    const recorded = await fixture(name);

    // Act
    const answer = await replay(tempo, recorded);

    // Assess: same traces in the same order, ids without leading zeros, same span sets and stats.
    expect(answer.status).toBe(200);
    expect(sortedAttributes(answer.body)).toEqual(sortedAttributes(recorded.body));
    expect(Object.keys((answer.body as SearchBody).metrics as object)).toEqual(
      Object.keys((recorded.body as SearchBody).metrics as object),
    );
  });

  it.each(['search-invalid-traceql-400.json', 'search-start-after-end-400.json'])(
    'rejects the request of %s with the same text',
    async (name) => {
      // Prepare
      const recorded = await fixture(name);

      // Act
      const answer = await replay(tempo, recorded);

      // Assess
      expect(answer).toMatchObject({ status: 400, type: recorded.contentType, text: recorded.body });
    },
  );

  it('returns at most limit traces, newest first', async () => {
    // Act
    const answer = await replay(tempo, await fixture('search-service-all-limit-3.json'));

    // Assess
    expect((answer.body as SearchBody).traces.map((t) => t.traceID)).toEqual([
      'f2d101d09097992c530e355f2374c22',
      '901883e556673e3ef83a07d3356b3f8c',
      '3f9fdef01efb7ece1829d60bf624fd92',
    ]);
  });

  it('matches span attributes and names, and shows what the query named', async () => {
    // Act
    const answer = await get(
      `${tempo.url}/api/search?start=1795853144&end=1795856744&q=${encodeURIComponent(
        '{ span.http.route = "/checkout" && name =~ "POST .*" && .http.response.status_code >= 500 }',
      )}&limit=1`,
    );

    // Assess
    const span = (answer.body as SearchBody).traces[0]?.spanSets[0]?.spans[0];
    expect(span).toMatchObject({ name: 'POST /checkout' });
    expect(span?.attributes).toEqual([
      { key: 'http.route', value: { stringValue: '/checkout' } },
      { key: 'http.response.status_code', value: { intValue: '500' } },
    ]);
  });

  it.each([
    ['{ resource.service.name = "sample-app" || status = error }', 'col 40: syntax error: unexpected ||'],
    ['{ status = 500 }', 'operands are of different types'],
    ['{ span:duration > 1s }', 'unexpected span:duration'],
    ['{ .a = "x" } | count() > 2', 'unexpected |'],
    ['{ duration > 1s', 'unexpected $end'],
  ])('answers %s outside its TraceQL subset with a 400', async (traceql, message) => {
    // Act
    const answer = await get(`${tempo.url}/api/search?q=${encodeURIComponent(traceql)}`);

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.text).toMatch(/^invalid TraceQL query: parse error at line 1, col \d+: /);
    expect(answer.text).toContain(message);
  });
});

describe('Tempo test server timing', () => {
  it('finds a trace by id at once but in search only after the search lag', async () => {
    // Prepare
    let now = new Date('2026-11-28T09:05:00Z');
    const tempo = await startTempoServer({ searchLagSeconds: 10, now: () => now });
    const [trace] = generateTraces({
      start: now,
      end: new Date(now.getTime() + 1000),
      count: 1,
      errorRatio: 1,
    });
    const search = `${tempo.url}/api/search?q=${encodeURIComponent('{ status = error }')}&start=1795856000&end=1795856800`;

    // Act
    tempo.ingest(trace ? [trace] : []);
    const byId = await get(`${tempo.url}/api/traces/${trace?.traceId}`);
    const early = await get(search);
    now = new Date(now.getTime() + 10_000);
    const later = await get(search);
    await tempo.close();

    // Assess
    expect(byId.status).toBe(200);
    expect((early.body as SearchBody).traces).toEqual([]);
    expect((later.body as SearchBody).traces).toHaveLength(1);
  });

  it('searches only recently ingested traces when no time range is given', async () => {
    // Prepare
    let now = new Date('2026-11-28T09:05:00Z');
    const tempo = await startTempoServer({
      now: () => now,
      generator: { start: new Date('2026-11-28T09:00:00Z'), end: now, count: 5, errorRatio: 1 },
    });
    now = new Date(now.getTime() + 31 * 60_000);

    // Act
    const unranged = await get(`${tempo.url}/api/search?q=${encodeURIComponent('{ status = error }')}`);
    const ranged = await get(
      `${tempo.url}/api/search?q=${encodeURIComponent('{ status = error }')}&start=1795856000&end=1795856800`,
    );
    await tempo.close();

    // Assess
    expect((unranged.body as SearchBody).traces).toEqual([]);
    expect((ranged.body as SearchBody).traces).toHaveLength(5);
  });

  it('holds 10,000 generated traces and searches them quickly', async () => {
    // Prepare
    const start = new Date('2026-11-28T08:05:00Z');
    const end = new Date('2026-11-28T09:05:00Z');
    const tempo = await startTempoServer({ generator: { start, end, count: 10_000, errorRatio: 0.05 } });

    // Act
    const before = performance.now();
    const answer = await get(
      `${tempo.url}/api/search?q=${encodeURIComponent('{ resource.service.name = "sample-app" && status = error }')}&start=1795853100&end=1795856700`,
    );
    const elapsedMs = performance.now() - before;
    await tempo.close();

    // Assess
    const traces = (answer.body as SearchBody).traces;
    expect(tempo.traceCount()).toBe(10_000);
    expect(traces).toHaveLength(20);
    expect(traces.every((t) => t.rootTraceName === 'POST /checkout')).toBe(true);
    expect(traces.some((t) => t.traceID.length < 32)).toBe(true);
    expect(elapsedMs).toBeLessThan(1000);
  });
});
