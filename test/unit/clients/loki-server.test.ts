import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  generatedLineCount,
  type LokiServer,
  type LokiStreamInput,
  startLokiServer,
} from '../../support/loki-server.js';

interface Fixture {
  readonly request: {
    readonly path: string;
    readonly query: Readonly<Record<string, string | readonly string[]>>;
    readonly headers: Readonly<Record<string, string>>;
  };
  readonly status: number;
  readonly contentType: string;
  readonly body: unknown;
}

interface StreamsBody {
  readonly data: {
    readonly resultType: string;
    readonly encodingFlags?: readonly string[];
    readonly result: readonly {
      readonly stream: Record<string, string>;
      readonly values: readonly unknown[][];
    }[];
    readonly stats?: unknown;
  };
}

async function fixture(name: string): Promise<Fixture> {
  const text = await readFile(new URL(`../../fixtures/loki/${name}`, import.meta.url), 'utf8');
  return JSON.parse(text) as Fixture;
}

/** Sends the request a fixture recorded, to this server. */
async function replay(loki: LokiServer, recorded: Fixture) {
  const url = new URL(recorded.request.path, loki.url);
  for (const [name, value] of Object.entries(recorded.request.query)) {
    for (const item of typeof value === 'string' ? [value] : value) url.searchParams.append(name, item);
  }
  const response = await fetch(url, { headers: recorded.request.headers });
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  return {
    status: response.status,
    type,
    text,
    body: type.startsWith('application/json') ? JSON.parse(text) : text,
  };
}

/** Streams in a stable order (Loki orders streams arbitrarily), without stats. */
function comparable(body: unknown) {
  const data = (body as StreamsBody).data;
  const key = (series: { stream?: Record<string, string>; metric?: Record<string, string> }) =>
    JSON.stringify(Object.entries(series.stream ?? series.metric ?? {}).sort());
  return {
    resultType: data.resultType,
    encodingFlags: data.encodingFlags,
    result: [...data.result].sort((a, b) => (key(a) < key(b) ? -1 : 1)),
  };
}

/** The nested key names of a JSON value, to compare shapes. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.length > 0 ? [shape(value[0])] : [];
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => [k, shape(v)]),
    );
  }
  return typeof value;
}

/** The stored data behind the fixtures: sample-app error lines (JSON) and the OTLP checkout records. */
async function fixtureStreams(): Promise<LokiStreamInput[]> {
  const streams: LokiStreamInput[] = [];
  for (const name of ['query_range-json-errors-backward.json', 'query_range-json-errors-forward.json']) {
    const body = (await fixture(name)).body as StreamsBody;
    for (const stream of body.data.result) {
      const entries = stream.values.map(([ts, line]) => ({ ts: String(ts), line: String(line) }));
      streams.push({ labels: { service_name: 'sample-app' }, entries });
    }
  }
  const otlp = (await fixture('query_range-otlp-checkout-categorize-labels.json')).body as StreamsBody;
  for (const stream of otlp.data.result) {
    const entries = stream.values.map(([ts, line, extra]) => ({
      ts: String(ts),
      line: String(line),
      metadata: (extra as { structuredMetadata: Record<string, string> }).structuredMetadata,
    }));
    streams.push({ labels: stream.stream, entries });
  }
  return streams;
}

describe('Loki test server', () => {
  let loki: LokiServer;

  beforeEach(async () => {
    loki = await startLokiServer({ streams: await fixtureStreams() });
  });

  afterEach(async () => {
    await loki.close();
  });

  it.each([
    'query_range-json-errors-backward.json',
    'query_range-json-errors-forward.json',
    'query_range-paging-page1.json',
    'query_range-paging-page2.json',
    'query_range-paging-page2-end-exclusive.json',
    'query_range-json-line-filter-trace-id-categorize-labels.json',
    'query_range-otlp-checkout.json',
    'query_range-otlp-checkout-categorize-labels.json',
    'query_range-otlp-checkout-trace_id-filter.json',
    'query_range-metric-categorize-labels.json',
    'query_range-no-match.json',
  ])('answers the real request of %s with the same result', async (name) => {
    // Prepare
    const recorded = await fixture(name);

    // Act
    const answer = await replay(loki, recorded);

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.type).toBe(recorded.contentType);
    expect(comparable(answer.body)).toEqual(comparable(recorded.body));
  });

  it('sends stats with the keys Loki 3.4 sends', async () => {
    // Prepare
    const recorded = await fixture('query_range-json-errors-backward.json');

    // Act
    const answer = await replay(loki, recorded);

    // Assess
    const stats = (answer.body as StreamsBody).data.stats;
    expect(shape(stats)).toEqual(shape((recorded.body as StreamsBody).data.stats));
    expect((stats as { summary: { totalEntriesReturned: number } }).summary.totalEntriesReturned).toBe(100);
  });

  it.each([
    'query_range-limit-6000-400.json',
    'query_range-invalid-logql-400.json',
    'query_range-start-after-end-400.json',
    'query_range-bad-time-400.json',
    'query-instant-log-query-400.json',
  ])('rejects the request of %s with the same status and text', async (name) => {
    // Prepare
    const recorded = await fixture(name);

    // Act
    const answer = await replay(loki, recorded);

    // Assess
    expect(answer).toMatchObject({ status: 400, type: recorded.contentType, text: recorded.body });
  });

  it('answers /ready and label names like Loki, with no data key for a label that is not indexed', async () => {
    // Act
    const ready = await replay(loki, await fixture('ready.json'));
    const labels = await replay(loki, await fixture('labels.json'));
    const detected = await replay(loki, await fixture('label-detected_level-values.json'));

    // Assess
    expect(ready).toMatchObject({ status: 200, text: 'ready\n' });
    expect(labels.body).toEqual((await fixture('labels.json')).body);
    expect(detected.body).toEqual({ status: 'success' });
  });

  it('counts the query requests it answered', async () => {
    // Act
    await replay(loki, await fixture('query_range-paging-page1.json'));
    await replay(loki, await fixture('query_range-limit-6000-400.json'));
    await replay(loki, await fixture('ready.json'));

    // Assess
    expect(loki.queryCount()).toBe(2);
    expect(loki.requests.map((r) => r.status)).toEqual([200, 400, 200]);
  });
});

describe('Loki test server LogQL subset', () => {
  let loki: LokiServer;
  // A whole hour, so every step used below divides it.
  const start = 1_795_856_400n * 1_000_000_000n;

  beforeEach(async () => {
    // Each minute: an info line on the minute, an error line 30 s later.
    const entries = [];
    for (let minute = 0; minute < 20; minute++) {
      const at = start + BigInt(minute) * 60_000_000_000n;
      entries.push({ ts: at, line: `{"level":"info","msg":"GET /products 200","duration_ms":12}` });
      entries.push({
        ts: at + 30_000_000_000n,
        line: `{"level":"error","msg":"POST /checkout 500","duration_ms":2200}`,
      });
    }
    const logfmt = [
      {
        ts: start + 5n,
        line: 'level=error msg="charge failed: upstream timeout" trace_id=22d281c84eea2f72c708a93265ad3908',
      },
      { ts: start + 6n, line: 'level=info msg="charge ok" trace_id=0f2d101d09097992c530e355f2374c22' },
    ];
    loki = await startLokiServer({
      streams: [
        { labels: { service_name: 'checkout' }, entries },
        { labels: { service_name: 'payments' }, entries: logfmt },
      ],
    });
  });

  afterEach(async () => {
    await loki.close();
  });

  async function query(path: string, params: Record<string, string>) {
    const url = new URL(path, loki.url);
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
    const response = await fetch(url);
    const text = await response.text();
    return { status: response.status, text, body: response.ok ? JSON.parse(text) : undefined };
  }

  const range = { start: String(start), end: String(start + 1_200_000_000_000n) };

  it('aligns matrix points to the step, outside start and end, and leaves out empty steps', async () => {
    // Act
    const answer = await query('/loki/api/v1/query_range', {
      query: 'sum by (level) (count_over_time({service_name="checkout"} | json [5m]))',
      start: String(start + 150_000_000_000n),
      end: String(start + 450_000_000_000n),
      step: '300',
    });

    // Assess: start 150 s into a 300 s step rounds down, end rounds up; points count (t - 5m, t].
    const base = Number(start / 1_000_000_000n);
    expect(answer.body.data.resultType).toBe('matrix');
    expect(answer.body.data.result).toEqual([
      {
        metric: { level: 'error' },
        values: [
          [base + 300, '5'],
          [base + 600, '5'],
        ],
      },
      {
        metric: { level: 'info' },
        values: [
          [base, '1'],
          [base + 300, '5'],
          [base + 600, '5'],
        ],
      },
    ]);
  });

  it('counts by detected_level without a parser, and computes rate per second', async () => {
    // Act
    const counts = await query('/loki/api/v1/query_range', {
      query: 'sum by (detected_level) (count_over_time({service_name=~"checkout|payments"}[10m]))',
      ...range,
      step: '600s',
    });
    const rate = await query('/loki/api/v1/query', {
      query: 'sum(rate({service_name="checkout"} |= "error" [10m]))',
      time: String(start + 600_000_000_000n),
    });

    // Assess
    expect(counts.body.data.result.map((s: { metric: unknown }) => s.metric)).toEqual([
      { detected_level: 'error' },
      { detected_level: 'info' },
    ]);
    expect(counts.body.data.result[0].values[0]).toEqual([Number(start / 1_000_000_000n) + 600, '11']);
    expect(rate.body.data.result).toEqual([
      { metric: {}, value: [Number(start / 1_000_000_000n) + 600, String(10 / 600)] },
    ]);
  });

  it('supports topk over a sum and logfmt label filters', async () => {
    // Act
    const top = await query('/loki/api/v1/query', {
      query: 'topk(1, sum by (trace_id) (count_over_time({service_name="payments"} | logfmt [20m])))',
      time: String(start + 600_000_000_000n),
    });
    const errors = await query('/loki/api/v1/query_range', {
      query: '{service_name="payments"} | logfmt | level="error" | trace_id=~"22d2.*"',
      ...range,
    });

    // Assess
    expect(top.body.data.result).toHaveLength(1);
    expect(errors.body.data.result).toHaveLength(1);
    expect(errors.body.data.result[0].stream).toMatchObject({
      service_name: 'payments',
      level: 'error',
      msg: 'charge failed: upstream timeout',
      detected_level: 'error',
    });
  });

  it('treats start as inclusive and end as exclusive, and compares numbers in label filters', async () => {
    // Act
    const edge = await query('/loki/api/v1/query_range', {
      query: '{service_name="checkout"} | json | duration_ms > 1000',
      start: String(start + 30_000_000_000n),
      end: String(start + 90_000_000_000n),
    });

    // Assess: the error at +30 s is in, the one at +90 s is not.
    expect(edge.body.data.result[0].values.map((v: string[]) => v[0])).toEqual([
      String(start + 30_000_000_000n),
    ]);
  });

  it.each([
    [
      '{service_name="checkout"} | pattern "<ip> <_>"',
      'parse error at line 1, col 29: syntax error: unexpected IDENTIFIER',
    ],
    [
      'avg_over_time({service_name="checkout"} | json | unwrap duration_ms [1m])',
      'parse error at line 1, col 1:',
    ],
    ['{service_name=~".*"}', 'queries require at least one regexp or equality matcher'],
    ['{service_name="checkout"} |~ "(unclosed"', 'error parsing regexp'],
    ['sum by (level) (count_over_time({service_name="checkout"} [5m])', 'syntax error: unexpected $end'],
  ])('answers %s with a 400 parse error', async (logql, message) => {
    // Act
    const answer = await query('/loki/api/v1/query_range', { query: logql, ...range });

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.text).toContain(message);
  });

  it('refuses more than 11,000 points per series and more series than max_query_series', async () => {
    // Prepare
    const small = await startLokiServer({
      maxQuerySeries: 1,
      streams: [
        {
          labels: { service_name: 'a' },
          entries: [
            { ts: start + 1n, line: 'k=x' },
            { ts: start + 2n, line: 'k=y' },
          ],
        },
      ],
    });

    // Act
    const points = await query('/loki/api/v1/query_range', {
      query: 'count_over_time({service_name="checkout"}[1m])',
      ...range,
      step: '0.1',
    });
    const series = await fetch(
      `${small.url}/loki/api/v1/query?query=${encodeURIComponent('count_over_time({service_name="a"} | logfmt [1m])')}&time=${start + 1_000_000_000n}`,
    );
    await small.close();

    // Assess
    expect(points.text).toBe(
      'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
    );
    expect(series.status).toBe(400);
    expect(await series.text()).toBe('maximum of series (1) reached for a single query');
  });
});

describe('Loki test server with generated lines', () => {
  const start = new Date('2026-11-28T08:05:00Z');
  const end = new Date('2026-11-28T09:05:00Z');
  const incident = { start: new Date('2026-11-28T08:55:00Z'), end, errorRatio: 0.2 };

  it('holds a million lines and answers count_over_time over all of them in about a second', async () => {
    // Prepare: 1,008,000 lines in two streams, computed on demand.
    const generator = {
      start,
      end,
      streams: [
        { labels: { service_name: 'sample-app' }, linesPerSecond: 200, errorRatio: 0.001, incident },
        {
          labels: { service_name: 'payments' },
          linesPerSecond: 80,
          errorRatio: 0.001,
          format: 'logfmt' as const,
        },
      ],
    };
    const loki = await startLokiServer({ generator });
    const url = new URL('/loki/api/v1/query_range', loki.url);
    url.searchParams.set('query', 'sum by (detected_level) (count_over_time({service_name=~".+"}[1m]))');
    url.searchParams.set('start', String(start.getTime() * 1e6));
    url.searchParams.set('end', String(end.getTime() * 1e6));
    url.searchParams.set('step', '60');

    // Act
    const before = performance.now();
    const response = await fetch(url);
    const body = (await response.json()) as { data: { result: { values: [number, string][] }[] } };
    const elapsedMs = performance.now() - before;
    await loki.close();

    // Assess
    const total = body.data.result.flatMap((s) => s.values).reduce((sum, [, v]) => sum + Number(v), 0);
    expect(generatedLineCount(generator)).toBe(1_008_000);
    expect(total).toBe(1_008_000);
    // About 0.4 s on an idle 2-core machine; the margin absorbs a loaded CI runner.
    expect(elapsedMs).toBeLessThan(3000);
  });

  it('extracts the same fields from a generated line as parsing its text would', async () => {
    // Prepare
    const loki = await startLokiServer({
      generator: {
        seed: 7,
        start,
        end,
        streams: [{ labels: { service_name: 'sample-app' }, linesPerSecond: 5, errorRatio: 0.05, incident }],
      },
    });
    const get = async (path: string, params: Record<string, string>) => {
      const url = new URL(path, loki.url);
      for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
      return (await (await fetch(url)).json()) as {
        data: { result: { stream: Record<string, string>; values: string[][]; value: [number, string] }[] };
      };
    };
    const window = { start: String(incident.start.getTime() * 1e6), end: String(end.getTime() * 1e6) };

    // Act
    const parsed = await get('/loki/api/v1/query_range', {
      query: '{service_name="sample-app"} | json',
      limit: '300',
      ...window,
    });
    const viaFields = await get('/loki/api/v1/query', {
      query: 'sum(count_over_time({service_name="sample-app"} | json | level="error" [1h]))',
      time: window.end,
    });
    const viaLine = await get('/loki/api/v1/query', {
      query: 'sum(count_over_time({service_name="sample-app"} |= "\\"level\\":\\"error\\"" [1h]))',
      time: window.end,
    });
    await loki.close();

    // Assess
    const streams = parsed.data.result;
    expect(streams.flatMap((s) => s.values)).toHaveLength(300);
    for (const { stream, values } of streams) {
      for (const [, line] of values) {
        const fields = Object.entries(JSON.parse(line ?? '{}') as Record<string, unknown>);
        expect(Object.fromEntries(fields.map(([k, v]) => [k, String(v)]))).toEqual({
          level: stream['level'],
          msg: stream['msg'],
          trace_id: stream['trace_id'],
          duration_ms: stream['duration_ms'],
        });
        expect(stream['detected_level']).toBe(stream['level']);
      }
    }
    expect(Number(viaFields.data.result[0]?.value[1])).toBeGreaterThan(100);
    expect(viaLine.data.result[0]?.value).toEqual(viaFields.data.result[0]?.value);
  });
});
