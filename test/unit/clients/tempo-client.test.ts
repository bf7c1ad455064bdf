import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  failingEndpoint,
  normaliseSpanId,
  normaliseTraceId,
  slowestSpan,
  TempoClient,
  type Trace,
} from '../../../functions/shared/clients/tempo.js';
import { UpstreamError, ValidationError } from '../../../functions/shared/errors.js';
import {
  generateTraces,
  startTempoServer,
  type TempoServer,
  tracesFromOtlp,
} from '../../support/tempo-server.js';

const LEADING_ZEROS = '000bfe540d18d2f80b5d8702fffdd1b4';
const CHECKOUT = '476d76e68531f8c73ce06a33bb479e9b';
const WINDOW = { start: new Date('2026-11-28T08:05:00Z'), end: new Date('2026-11-28T09:06:00Z') };

async function fixtureBody(name: string): Promise<unknown> {
  const text = await readFile(new URL(`../../fixtures/tempo/${name}`, import.meta.url), 'utf8');
  return (JSON.parse(text) as { body: unknown }).body;
}

async function fixtureTraces() {
  const v1 = (await fixtureBody('trace-v1-error.json')) as { batches: unknown[] };
  const v2 = (await fixtureBody('trace-v2-leading-zero-id-trimmed.json')) as {
    trace: { resourceSpans: unknown[] };
  };
  return [...tracesFromOtlp(v1.batches), ...tracesFromOtlp(v2.trace.resourceSpans)];
}

async function rejection(promise: Promise<unknown>): Promise<UpstreamError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof UpstreamError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

describe('Tempo client trace', () => {
  let tempo: TempoServer;
  let client: TempoClient;

  beforeEach(async () => {
    tempo = await startTempoServer({ traces: await fixtureTraces() });
    client = new TempoClient({ baseUrl: tempo.url });
  });

  afterEach(async () => {
    await tempo.close();
  });

  it('normalises a trace: hex ids from base64, services, durations, status and flat attributes', async () => {
    // Act
    const trace = await client.trace(CHECKOUT);

    // Assess
    expect(trace).toEqual({
      traceId: CHECKOUT,
      partial: false,
      spans: [
        {
          spanId: '7ab13fb46ff33a72',
          name: 'POST /checkout',
          service: 'sample-app',
          kind: 'server',
          start: new Date(1_795_856_160_248),
          durationMs: 2342,
          statusCode: 'error',
          statusMessage: 'upstream payment-gateway timeout',
          attributes: {
            'http.request.method': 'POST',
            'http.route': '/checkout',
            'http.response.status_code': 500,
          },
        },
        {
          spanId: 'f71eb3c4098620fe',
          parentSpanId: '7ab13fb46ff33a72',
          name: 'payment-gateway charge',
          service: 'payment-gateway',
          kind: 'server',
          start: new Date(1_795_856_160_298),
          durationMs: 2200,
          statusCode: 'error',
          statusMessage: 'deadline exceeded',
          attributes: { 'rpc.method': 'Charge', 'payment.provider': 'acme' },
        },
      ],
    });
    expect(tempo.requests.map((r) => r.path)).toEqual([`/api/v2/traces/${CHECKOUT}`]);
  });

  it.each([
    ['lower-case hex', LEADING_ZEROS],
    ['upper-case hex without its leading zeros', 'BFE540D18D2F80B5D8702FFFDD1B4'],
    ['base64 as inside trace bodies', 'AAv+VA0Y0vgLXYcC//3RtA=='],
  ])('finds a trace by %s', async (_how, id) => {
    // Act
    const trace = await client.trace(id);

    // Assess
    expect(trace?.traceId).toBe(LEADING_ZEROS);
    expect(trace?.spans.map((span) => span.spanId)).toEqual(['7641df233908825e', 'e283c84f434e74de']);
  });

  it('answers undefined for a trace Tempo does not have', async () => {
    // Act
    const trace = await client.trace('0123456789abcdef0123456789abcdef');

    // Assess
    expect(trace).toBeUndefined();
  });

  it('falls back to the v1 endpoint for good on a Tempo without v2', async () => {
    // Prepare
    const older = await startTempoServer({ traces: await fixtureTraces(), traceByIdV2: false });
    const olderClient = new TempoClient({ baseUrl: older.url });

    // Act
    const first = await olderClient.trace(CHECKOUT);
    const unknown = await olderClient.trace('0123456789abcdef0123456789abcdef');
    await older.close();

    // Assess
    expect(first).toEqual(await client.trace(CHECKOUT));
    expect(unknown).toBeUndefined();
    expect(older.requests.map((r) => `${r.status} ${r.path}`)).toEqual([
      `404 /api/v2/traces/${CHECKOUT}`,
      `200 /api/traces/${CHECKOUT}`,
      '404 /api/traces/0123456789abcdef0123456789abcdef',
    ]);
  });

  it('sends start and end in epoch seconds when given', async () => {
    // Act
    const outside = await client.trace(CHECKOUT, {
      start: new Date('2026-11-28T07:00:00Z'),
      end: new Date('2026-11-28T08:00:00Z'),
    });

    // Assess
    expect(outside).toBeUndefined();
    expect(tempo.requests[0]?.params).toEqual({ start: '1795849200', end: '1795852800' });
  });

  it('gives up on a slow Tempo after the per-request timeout, naming the service', async () => {
    // Prepare
    tempo.setLatency(1000);
    const impatient = new TempoClient({ baseUrl: tempo.url, timeoutMs: 50 });

    // Act
    const error = await rejection(impatient.trace(CHECKOUT));

    // Assess
    expect(error).toMatchObject({ service: 'tempo', status: undefined });
    expect(error.message).toBe(
      `tempo: GET /api/v2/traces/${CHECKOUT} timed out after 50 ms: the service is slow or unreachable`,
    );
  });

  it('surfaces a 5xx with the text Tempo gave', async () => {
    // Prepare
    tempo.failNext({ status: 503, body: 'too many outstanding requests\n' });

    // Act
    const error = await rejection(client.trace(CHECKOUT));

    // Assess
    expect(error).toMatchObject({
      service: 'tempo',
      status: 503,
      message: 'tempo: too many outstanding requests',
    });
  });
});

describe('Tempo client search', () => {
  let tempo: TempoServer;
  let client: TempoClient;

  beforeEach(async () => {
    const traces = generateTraces({ ...WINDOW, count: 400, errorRatio: 0.25, seed: 3 });
    tempo = await startTempoServer({ traces, tenant: 'payments-team' });
    client = new TempoClient({ baseUrl: tempo.url, tenant: 'payments-team' });
  });

  afterEach(async () => {
    await tempo.close();
  });

  it('puts back the leading zeros search strips from trace ids', async () => {
    // Act
    const results = await client.search('{ resource.service.name = "sample-app" && status = error }', {
      ...WINDOW,
      limit: 100,
    });

    // Assess
    const raw = tempo.requests[0];
    expect(results.length).toBeGreaterThan(50);
    expect(results.every((r) => /^[0-9a-f]{32}$/.test(r.traceId))).toBe(true);
    expect(results.some((r) => r.traceId.startsWith('000'))).toBe(true);
    expect(raw?.params).toMatchObject({ start: '1795853100', end: '1795856760', limit: '100', spss: '3' });
  });

  it('reads span sets with dated spans and the attributes the query named', async () => {
    // Act
    const [first] = await client.search('{ resource.service.name = "payment-gateway" && duration > 2s }', {
      ...WINDOW,
      limit: 1,
    });

    // Assess
    expect(first).toMatchObject({ rootServiceName: 'sample-app', rootTraceName: 'POST /checkout' });
    expect(first?.durationMs).toBeGreaterThanOrEqual(2300);
    expect(first?.spanSets).toEqual([
      {
        matched: 1,
        spans: [
          {
            spanId: expect.stringMatching(/^[0-9a-f]{16}$/),
            start: new Date((first?.start.getTime() ?? 0) + 50),
            durationMs: 2200,
            attributes: { 'service.name': 'payment-gateway' },
          },
        ],
      },
    ]);
  });

  it('surfaces an invalid TraceQL query as Tempo 400 with its text', async () => {
    // Act
    const error = await rejection(
      client.search('{ resource.service.name = "sample-app" && status = }', WINDOW),
    );

    // Assess
    expect(error).toMatchObject({ service: 'tempo', status: 400 });
    expect(error.message).toBe(`tempo: ${await fixtureBody('search-invalid-traceql-400.json')}`);
  });

  it('is refused without the tenant Tempo expects', async () => {
    // Act
    const error = await rejection(new TempoClient({ baseUrl: tempo.url }).search('{ }', WINDOW));

    // Assess
    expect(error).toMatchObject({ service: 'tempo', status: 401, message: 'tempo: no org id' });
  });
});

describe('Trace ids', () => {
  it.each([
    ['476d76e68531f8c73ce06a33bb479e9b', CHECKOUT],
    ['476D76E68531F8C73CE06A33BB479E9B', CHECKOUT],
    ['bfe540d18d2f80b5d8702fffdd1b4', LEADING_ZEROS],
    ['R2125oUx+Mc84Gozu0eemw==', CHECKOUT],
    ['R2125oUx-Mc84Gozu0eemw', CHECKOUT],
    ['1234567890abcdef', '00000000000000001234567890abcdef'],
  ])('normalises %s', (id, expected) => {
    // Act / Assess
    expect(normaliseTraceId(id)).toBe(expected);
  });

  it.each(['not-a-trace-id', '0'.repeat(32), 'a'.repeat(33), 'zzzz'])(
    'refuses %s with a ValidationError',
    (id) => {
      // Act / Assess
      expect(() => normaliseTraceId(id)).toThrow(ValidationError);
    },
  );

  it('normalises span ids from base64 and hex', () => {
    // Act / Assess
    expect(normaliseSpanId('erE/tG/zOnI=')).toBe('7ab13fb46ff33a72');
    expect(normaliseSpanId('7AB13FB46FF33A72')).toBe('7ab13fb46ff33a72');
  });
});

describe('Spans worth showing', () => {
  const span = (overrides: Partial<Trace['spans'][number]> & { spanId: string }): Trace['spans'][number] => ({
    name: 'work',
    service: 'sample-app',
    kind: 'internal',
    start: new Date(0),
    durationMs: 10,
    statusCode: 'unset',
    attributes: {},
    ...overrides,
  });

  it('names the failing endpoint closest to the root, with method, route and status', async () => {
    // Prepare
    const tempo = await startTempoServer({ traces: await fixtureTraces() });
    const trace = (await new TempoClient({ baseUrl: tempo.url }).trace(CHECKOUT)) as Trace;
    await tempo.close();

    // Act
    const endpoint = failingEndpoint(trace);

    // Assess
    expect(endpoint).toMatchObject({
      service: 'sample-app',
      endpoint: 'POST /checkout',
      route: '/checkout',
      method: 'POST',
      httpStatusCode: 500,
    });
    expect(endpoint?.span.spanId).toBe('7ab13fb46ff33a72');
  });

  it('prefers a failing span with a route over a failing span closer to the root without one', () => {
    // Prepare
    const trace: Trace = {
      traceId: CHECKOUT,
      partial: false,
      spans: [
        span({ spanId: 'a'.repeat(16), name: 'job run', statusCode: 'error' }),
        span({
          spanId: 'b'.repeat(16),
          parentSpanId: 'a'.repeat(16),
          name: 'GET',
          statusCode: 'error',
          attributes: { 'http.method': 'GET', 'http.route': '/orders/{id}', 'http.status_code': '502' },
        }),
      ],
    };

    // Act
    const endpoint = failingEndpoint(trace);

    // Assess
    expect(endpoint).toMatchObject({ endpoint: 'GET /orders/{id}', httpStatusCode: 502 });
  });

  it('finds no failing endpoint in a trace without errors', () => {
    // Act / Assess
    expect(
      failingEndpoint({ traceId: CHECKOUT, partial: false, spans: [span({ spanId: 'a'.repeat(16) })] }),
    ).toBe(undefined);
  });

  it('finds the slowest span by its own time, not the time spent waiting on children', () => {
    // Prepare: the root lasts 2342 ms but waits 2200 of them on its child.
    const root = span({
      spanId: 'a'.repeat(16),
      name: 'POST /checkout',
      start: new Date(1000),
      durationMs: 2342,
    });
    const child = span({
      spanId: 'b'.repeat(16),
      parentSpanId: 'a'.repeat(16),
      name: 'payment-gateway charge',
      start: new Date(1050),
      durationMs: 2200,
    });
    const overlapping = span({
      spanId: 'c'.repeat(16),
      parentSpanId: 'a'.repeat(16),
      name: 'cache read',
      start: new Date(1100),
      durationMs: 100,
    });

    // Act
    const slowest = slowestSpan({ traceId: CHECKOUT, partial: false, spans: [root, child, overlapping] });

    // Assess
    expect(slowest).toEqual({ span: child, selfTimeMs: 2200 });
  });
});
