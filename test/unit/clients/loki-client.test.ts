import { readFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { extractTraceIds, type LogLine, LokiClient } from '../../../functions/shared/clients/loki.js';
import { UpstreamError } from '../../../functions/shared/errors.js';
import { type LokiServer, type LokiStreamInput, startLokiServer } from '../../support/loki-server.js';

const BASE_NS = 1_795_856_400n * 1_000_000_000n;
const MS_NS = 1_000_000n;
const ERRORS = '{service_name="checkout"} | json | level="error"';

interface Fixture {
  readonly request: { readonly query: Readonly<Record<string, string>> };
  readonly body: unknown;
}

async function fixture(name: string): Promise<Fixture> {
  const text = await readFile(new URL(`../../fixtures/loki/${name}`, import.meta.url), 'utf8');
  return JSON.parse(text) as Fixture;
}

/** A fetch answering every request with one recorded Loki body: checks parsing of the real shapes. */
function replaying(body: unknown): typeof fetch {
  return async () =>
    new Response(JSON.stringify(body), {
      status: 200,
      headers: { 'content-type': 'application/json; charset=UTF-8' },
    });
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

/**
 * `groups` timestamps 1 ms apart, each shared by `perGroup` error lines in each of two pods; the two pods
 * log identical lines at identical nanoseconds, so only the stream tells the entries apart. An info line
 * sits between groups. Returns the streams and the error entries' keys, oldest first.
 */
function sharedTimestamps(groups: number, perGroup: number) {
  const pods = ['a', 'b'];
  const streams: LokiStreamInput[] = pods.map((pod) => ({
    labels: { service_name: 'checkout', pod },
    entries: [],
  }));
  const keys: { ts: bigint; key: string }[] = [];
  for (let group = 0; group < groups; group++) {
    const ts = BASE_NS + BigInt(group) * MS_NS;
    for (const [p, pod] of pods.entries()) {
      const entries = streams[p]?.entries as { ts: bigint; line: string }[];
      for (let k = 0; k < perGroup; k++) {
        const line = `{"level":"error","msg":"charge failed","n":${group * perGroup + k}}`;
        entries.push({ ts, line });
        keys.push({ ts, key: `${pod}|${ts}|${line}` });
      }
      entries.push({ ts: ts + MS_NS / 2n, line: `{"level":"info","msg":"charge ok","n":${group}}` });
    }
  }
  return { streams, keys };
}

function keyOf(line: LogLine): string {
  return `${line.labels['pod']}|${line.tsNs}|${line.line}`;
}

/** Asserts `lines` are the newest (or oldest) entries of `all`, each once, in time order. */
function expectEdgeOf(
  lines: readonly LogLine[],
  all: readonly { ts: bigint; key: string }[],
  direction: 'backward' | 'forward',
) {
  const keys = lines.map(keyOf);
  expect(new Set(keys).size).toBe(keys.length);
  const times = lines.map((line) => BigInt(line.tsNs));
  for (let i = 1; i < times.length; i++) {
    const ordered = direction === 'backward' ? times[i - 1]! >= times[i]! : times[i - 1]! <= times[i]!;
    expect(ordered).toBe(true);
  }
  // Everything strictly beyond the last timestamp returned must be there; ties at that timestamp may be cut.
  const edge = times[times.length - 1] ?? 0n;
  const beyond = all
    .filter(({ ts }) => (direction === 'backward' ? ts > edge : ts < edge))
    .map(({ key }) => key);
  const returned = new Set(keys);
  expect(beyond.filter((key) => !returned.has(key))).toEqual([]);
  const known = new Set(all.map(({ key }) => key));
  expect(keys.filter((key) => !known.has(key))).toEqual([]);
}

describe('Loki client sampleLines', () => {
  const { streams, keys } = sharedTimestamps(2500, 3);
  const window = { start: new Date(Number(BASE_NS / MS_NS)), end: new Date(Number(BASE_NS / MS_NS) + 3_000) };
  let loki: LokiServer;
  let client: LokiClient;

  // One server for these read-only tests: ingesting 40,000 entries takes a moment.
  beforeAll(async () => {
    loki = await startLokiServer({ streams });
    client = new LokiClient({ baseUrl: loki.url });
  });

  afterAll(async () => {
    await loki.close();
  });

  it('pages through more than 5000 matching lines and returns the newest 12,000 once each', async () => {
    // Prepare
    const before = loki.requests.length;

    // Act
    const sample = await client.sampleLines(ERRORS, { ...window, limit: 12_000, pageSize: 5000 });

    // Assess: 15,000 lines match, six per nanosecond; page edges fall inside those groups.
    expect(sample.lines).toHaveLength(12_000);
    expectEdgeOf(sample.lines, keys, 'backward');
    expect(sample).toMatchObject({ pages: 3, truncated: true });
    expect(loki.requests.slice(before).map((r) => r.params['limit'])).toEqual(['5000', '5000', '2005']);
  });

  it('returns the newest 200 lines with one request by default', async () => {
    // Act
    const sample = await client.sampleLines(ERRORS, { ...window, limit: 200 });

    // Assess
    expect(sample.lines).toHaveLength(200);
    expectEdgeOf(sample.lines, keys, 'backward');
    expect(sample).toMatchObject({ pages: 1, truncated: true });
  });

  it('repeats no line when small pages end inside groups of entries sharing a nanosecond', async () => {
    // Act
    const sample = await client.sampleLines(ERRORS, { ...window, limit: 200, pageSize: 7 });

    // Assess
    expect(sample.lines).toHaveLength(200);
    expectEdgeOf(sample.lines, keys, 'backward');
    expect(sample.pages).toBeGreaterThan(28);
    expect(sample.truncated).toBe(true);
  });

  it('returns every matching line and says nothing was cut when fewer match than the limit', async () => {
    // Act
    const sample = await client.sampleLines(ERRORS, { ...window, limit: 20_000, pageSize: 5000 });

    // Assess
    expect(sample.lines).toHaveLength(15_000);
    expectEdgeOf(sample.lines, keys, 'backward');
    expect(sample.truncated).toBe(false);
  });

  it('pages forward from the oldest line, the next page starting at the newest timestamp seen', async () => {
    // Prepare
    const before = loki.requests.length;

    // Act
    const sample = await client.sampleLines(ERRORS, {
      ...window,
      limit: 12_000,
      pageSize: 5000,
      direction: 'forward',
    });

    // Assess
    expect(sample.lines).toHaveLength(12_000);
    expectEdgeOf(sample.lines, keys, 'forward');
    expect(loki.requests[before + 1]?.params['start']).toBe(sample.lines[4999]?.tsNs);
  });

  it('stops at the page cap and reports the sample as truncated', async () => {
    // Act
    const sample = await client.sampleLines(ERRORS, { ...window, limit: 1000, pageSize: 10, maxPages: 3 });

    // Assess
    expect(sample.pages).toBe(3);
    expect(sample.truncated).toBe(true);
    expect(sample.lines.length).toBeLessThan(40);
  });

  it('surfaces a page larger than the server allows as Loki 400 with its text', async () => {
    // Prepare
    const strict = await startLokiServer({ streams, maxEntriesLimitPerQuery: 1000 });
    const strictClient = new LokiClient({ baseUrl: strict.url });

    // Act
    const error = await rejection(
      strictClient.sampleLines(ERRORS, { ...window, limit: 12_000, pageSize: 5000 }),
    );
    await strict.close();

    // Assess
    expect(error.service).toBe('loki');
    expect(error.status).toBe(400);
    expect(error.message).toBe(
      'loki: max entries limit per query exceeded, limit > max_entries_limit_per_query (5000 > 1000)',
    );
  });
});

describe('Loki client', () => {
  let loki: LokiServer | undefined;

  afterEach(async () => {
    await loki?.close();
    loki = undefined;
  });

  it('surfaces Loki 400 answers with the text Loki gives', async () => {
    // Prepare
    loki = await startLokiServer();
    const client = new LokiClient({ baseUrl: loki.url });
    const invalid = await fixture('query_range-invalid-logql-400.json');
    const window = { start: new Date('2026-11-28T08:25:00Z'), end: new Date('2026-11-28T09:05:00Z') };

    // Act
    const parse = await rejection(
      client.sampleLines(invalid.request.query['query'] ?? '', { ...window, limit: 10 }),
    );
    const reversed = await rejection(
      client.sampleLines(ERRORS, { start: window.end, end: window.start, limit: 10 }),
    );

    // Assess
    expect(parse).toMatchObject({ service: 'loki', status: 400 });
    expect(parse.message).toBe(`loki: ${(await fixture('query_range-invalid-logql-400.json')).body}`);
    expect(reversed.message).toBe(`loki: ${(await fixture('query_range-start-after-end-400.json')).body}`);
  });

  it('reads a metric query as series of dated points', async () => {
    // Prepare
    const entries = [0, 10, 70, 130, 131].map((second) => ({
      ts: BASE_NS + BigInt(second) * 1_000_000_000n,
      line: `{"level":"${second === 70 ? 'info' : 'error'}"}`,
    }));
    loki = await startLokiServer({ streams: [{ labels: { service_name: 'checkout' }, entries }] });
    const client = new LokiClient({ baseUrl: loki.url });
    const base = Number(BASE_NS / MS_NS);

    // Act
    const series = await client.queryRangeMatrix(
      'sum by (level) (count_over_time({service_name="checkout"} | json [1m]))',
      { start: new Date(base + 30_000), end: new Date(base + 150_000), stepSeconds: 60 },
    );

    // Assess: start rounds down to the step; an entry on a step counts for that step.
    expect(series).toEqual([
      {
        metric: { level: 'error' },
        values: [
          { at: new Date(base), value: 1 },
          { at: new Date(base + 60_000), value: 1 },
          { at: new Date(base + 180_000), value: 2 },
        ],
      },
      { metric: { level: 'info' }, values: [{ at: new Date(base + 120_000), value: 1 }] },
    ]);
  });

  it('reads the matrix Loki 3.4 answered', async () => {
    // Prepare
    const recorded = await fixture('query_range-metric-count-by-level.json');
    const client = new LokiClient({ baseUrl: 'http://loki.invalid', fetch: replaying(recorded.body) });

    // Act
    const series = await client.queryRangeMatrix(
      'sum by (level) (count_over_time({service_name="sample-app"} | json [1m]))',
      {
        start: new Date('2026-11-28T08:23:55Z'),
        end: new Date('2026-11-28T09:05:43Z'),
        stepSeconds: 60,
      },
    );

    // Assess
    expect(series.map((s) => s.metric)).toEqual([{ level: 'error' }, { level: 'info' }]);
    expect(series[0]?.values[0]).toEqual({ at: new Date(1_795_856_100_000), value: 2 });
    expect(series[0]?.values.reduce((sum, point) => sum + point.value, 0)).toBe(300);
  });

  it('refuses to read log streams as a matrix and says which method to use', async () => {
    // Prepare
    loki = await startLokiServer();
    const client = new LokiClient({ baseUrl: loki.url });

    // Act
    const error = await rejection(
      client.queryRangeMatrix(ERRORS, { start: new Date(0), end: new Date(60_000), stepSeconds: 60 }),
    );

    // Assess
    expect(error.message).toContain('Use sampleLines');
  });

  it('merges structured metadata and parsed labels of categorized answers into each line', async () => {
    // Prepare
    const recorded = await fixture('query_range-json-line-filter-trace-id-categorize-labels.json');
    const client = new LokiClient({ baseUrl: 'http://loki.invalid', fetch: replaying(recorded.body) });

    // Act
    const sample = await client.sampleLines(
      '{service_name="sample-app"} |= "000bfe540d18d2f80b5d8702fffdd1b4" | json',
      {
        start: new Date('2026-11-28T08:23:55Z'),
        end: new Date('2026-11-28T09:05:43Z'),
        limit: 5,
      },
    );

    // Assess
    expect(sample.lines).toHaveLength(5);
    expect(sample.lines[0]).toEqual({
      at: new Date(1_795_856_153_829),
      tsNs: '1795856153829878280',
      labels: {
        service_name: 'sample-app',
        detected_level: 'error',
        level: 'error',
        msg: 'POST /checkout 500 upstream payment-gateway timeout',
        trace_id: '000bfe540d18d2f80b5d8702fffdd1b4',
      },
      line: '{"level":"error","msg":"POST /checkout 500 upstream payment-gateway timeout","trace_id":"000bfe540d18d2f80b5d8702fffdd1b4"}',
    });
  });

  it('sends the tenant as X-Scope-OrgID', async () => {
    // Prepare
    loki = await startLokiServer({
      tenant: 'payments-team',
      streams: [
        { labels: { service_name: 'checkout' }, entries: [{ ts: BASE_NS, line: '{"level":"error"}' }] },
      ],
    });
    const window = {
      start: new Date(Number(BASE_NS / MS_NS)),
      end: new Date(Number(BASE_NS / MS_NS) + 1000),
      limit: 10,
    };

    // Act
    const sample = await new LokiClient({ baseUrl: loki.url, tenant: 'payments-team' }).sampleLines(
      ERRORS,
      window,
    );
    const anonymous = await rejection(new LokiClient({ baseUrl: loki.url }).sampleLines(ERRORS, window));

    // Assess
    expect(sample.lines).toHaveLength(1);
    expect(anonymous).toMatchObject({ service: 'loki', status: 401, message: 'loki: no org id' });
  });

  it('gives up on a slow Loki after the per-request timeout, naming the service', async () => {
    // Prepare
    loki = await startLokiServer({ latencyMs: 1000 });
    const client = new LokiClient({ baseUrl: loki.url, timeoutMs: 50 });

    // Act
    const error = await rejection(
      client.sampleLines(ERRORS, { start: new Date(0), end: new Date(1000), limit: 10 }),
    );

    // Assess
    expect(error.service).toBe('loki');
    expect(error.message).toBe(
      'loki: GET /loki/api/v1/query_range timed out after 50 ms: the service is slow or unreachable',
    );
  });

  it("stops when the caller's signal aborts, saying so", async () => {
    // Prepare
    loki = await startLokiServer({ latencyMs: 1000 });
    const client = new LokiClient({ baseUrl: loki.url, timeoutMs: 5000 });
    const budget = new AbortController();
    setTimeout(() => budget.abort(new Error('incident timeline budget of 20 s spent')), 30);

    // Act
    const error = await rejection(
      client.queryRangeMatrix('sum(count_over_time({service_name="x"}[1m]))', {
        start: new Date(0),
        end: new Date(60_000),
        stepSeconds: 60,
        signal: budget.signal,
      }),
    );

    // Assess
    expect(error.message).toBe(
      'loki: GET /loki/api/v1/query_range was cancelled by the caller (incident timeline budget of 20 s spent)',
    );
  });

  it('reports a Loki that cannot be reached', async () => {
    // Prepare
    const stopped = await startLokiServer();
    await stopped.close();
    const client = new LokiClient({ baseUrl: stopped.url });

    // Act
    const error = await rejection(
      client.sampleLines(ERRORS, { start: new Date(0), end: new Date(1000), limit: 10 }),
    );

    // Assess
    expect(error.message).toMatch(/^loki: GET \/loki\/api\/v1\/query_range failed: connect ECONNREFUSED/);
  });
});

describe('Trace ids in log lines', () => {
  async function linesOf(name: string, keepLabels: boolean): Promise<LogLine[]> {
    const body = (await fixture(name)).body as {
      data: { result: { stream: Record<string, string>; values: [string, string][] }[] };
    };
    return body.data.result.flatMap((stream) =>
      stream.values.map(([tsNs, line]) => ({
        at: new Date(0),
        tsNs,
        labels: keepLabels ? stream.stream : {},
        line,
      })),
    );
  }

  it('finds them in a JSON trace_id field', async () => {
    // Prepare
    const lines = await linesOf('query_range-json-errors-backward.json', false);

    // Act
    const ids = extractTraceIds(lines);

    // Assess
    expect(ids).toEqual([
      '901883e556673e3ef83a07d3356b3f8c',
      '3f9fdef01efb7ece1829d60bf624fd92',
      '22d281c84eea2f72c708a93265ad3908',
      '0f2d101d09097992c530e355f2374c22',
    ]);
  });

  it('finds them in logfmt trace_id pairs', async () => {
    // Prepare
    const lines = await linesOf('query_range-logfmt-payments-errors.json', false);

    // Act
    const ids = extractTraceIds(lines);

    // Assess
    expect(ids).toContain('22d281c84eea2f72c708a93265ad3908');
    expect(ids.every((id) => /^[0-9a-f]{32}$/.test(id))).toBe(true);
    expect(ids.length).toBeGreaterThan(3);
  });

  it('finds them in the trace_id structured metadata of OTLP logs, whose lines carry none', async () => {
    // Prepare
    const lines = await linesOf('query_range-otlp-checkout.json', true);

    // Act
    const ids = extractTraceIds(lines);

    // Assess
    expect(ids).toHaveLength(10);
    expect(ids[0]).toBe('0f2d101d09097992c530e355f2374c22');
  });

  it('normalises case and stripped zeros, reads traceId fields and skips all-zero ids', () => {
    // Prepare
    const line = (text: string, labels: Record<string, string> = {}) => ({ labels, line: text });

    // Act
    const ids = extractTraceIds([
      line('{"msg":"x","traceId":"BFE540D18D2F80B5D8702FFFDD1B4"}'),
      line('level=error trace_id="000bfe540d18d2f80b5d8702fffdd1b4"'),
      line('level=info trace_id=00000000000000000000000000000000'),
      line('no id here', { traceID: '476D76E68531F8C73CE06A33BB479E9B' }),
      line('{"trace_id": 42}'),
    ]);

    // Assess
    expect(ids).toEqual(['000bfe540d18d2f80b5d8702fffdd1b4', '476d76e68531f8c73ce06a33bb479e9b']);
  });
});
