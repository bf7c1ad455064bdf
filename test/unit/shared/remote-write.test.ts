import { readFileSync } from 'node:fs';
import { compress } from 'snappyjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError, UpstreamError, ValidationError } from '../../../functions/shared/errors.js';
import type { Clock } from '../../../functions/shared/ports/clock.js';
import {
  encodeWriteRequest,
  isStaleNaN,
  RemoteWriteClient,
  type RemoteWriteClientOptions,
  STALE_NAN,
  type TimeSeries,
} from '../../../functions/shared/prometheus/remote-write.js';
import {
  decodeWriteRequest,
  type RemoteWriteServer,
  startRemoteWriteServer,
} from '../../support/remote-write-server.js';

const T0 = Date.parse('2026-11-28T10:00:00Z');
const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** A clock whose sleeps return at once and move its time forward; it records what was slept. */
function fakeClock(): { clock: Clock; sleeps: number[] } {
  let now = T0;
  const sleeps: number[] = [];
  return {
    clock: {
      now: () => new Date(now),
      sleep: async (ms) => {
        sleeps.push(ms);
        now += ms;
      },
    },
    sleeps,
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

function validationIssues(run: () => unknown): {
  message: string;
  issues: readonly { path: string; message: string }[];
} {
  try {
    run();
  } catch (error) {
    if (error instanceof ValidationError) return { message: error.message, issues: error.issues };
    throw error;
  }
  throw new Error('expected a ValidationError');
}

const deploys: TimeSeries = {
  labels: { repository: 'acme/shop', __name__: 'toilless_deployments_total', environment: 'production' },
  samples: [
    { value: 41, timestampMs: T0 - 60_000 },
    { value: 42, timestampMs: T0 },
  ],
};

describe('Remote-write encoding', () => {
  it('encodes series that a protobuf decoder reads back with labels sorted by name', () => {
    // Prepare
    const leadTime: TimeSeries = {
      labels: { __name__: 'toilless_lead_time_seconds', service: 'café ☕', quantile: '0.5' },
      samples: [
        { value: Number.POSITIVE_INFINITY, timestampMs: -1_000 },
        { value: -0.25, timestampMs: 2 ** 50 },
      ],
    };

    // Act
    const decoded = decodeWriteRequest(encodeWriteRequest([deploys, leadTime]));

    // Assess
    expect(decoded).toEqual([
      {
        labels: [
          { name: '__name__', value: 'toilless_deployments_total' },
          { name: 'environment', value: 'production' },
          { name: 'repository', value: 'acme/shop' },
        ],
        samples: [
          { value: 41, timestampMs: T0 - 60_000, stale: false },
          { value: 42, timestampMs: T0, stale: false },
        ],
      },
      {
        labels: [
          { name: '__name__', value: 'toilless_lead_time_seconds' },
          { name: 'quantile', value: '0.5' },
          { name: 'service', value: 'café ☕' },
        ],
        samples: [
          { value: Number.POSITIVE_INFINITY, timestampMs: -1_000, stale: false },
          { value: -0.25, timestampMs: 2 ** 50, stale: false },
        ],
      },
    ]);
  });

  it('drops labels with an empty value, which Prometheus treats as absent', () => {
    // Act
    const [series] = decodeWriteRequest(
      encodeWriteRequest([
        { labels: { __name__: 'up', team: '', job: 'dora' }, samples: [{ value: 1, timestampMs: T0 }] },
      ]),
    );

    // Assess
    expect(series?.labels).toEqual([
      { name: '__name__', value: 'up' },
      { name: 'job', value: 'dora' },
    ]);
  });

  it('sorts out-of-order samples and sends a repeated sample once', () => {
    // Prepare
    const samples = [
      { value: 3, timestampMs: T0 + 2 },
      { value: 1, timestampMs: T0 },
      { value: 3, timestampMs: T0 + 2 },
      { value: 2, timestampMs: T0 + 1 },
    ];

    // Act
    const [series] = decodeWriteRequest(encodeWriteRequest([{ labels: { __name__: 'up' }, samples }]));

    // Assess
    expect(series?.samples.map((s) => [s.timestampMs, s.value])).toEqual([
      [T0, 1],
      [T0 + 1, 2],
      [T0 + 2, 3],
    ]);
  });

  it('merges entries with the same labels into one series in timestamp order', () => {
    // Prepare
    const later = {
      labels: { environment: 'production', __name__: 'toilless_deployments_total', repository: 'acme/shop' },
      samples: [{ value: 43, timestampMs: T0 + 60_000 }],
    };
    const other = { labels: { __name__: 'up' }, samples: [{ value: 1, timestampMs: T0 }] };

    // Act
    const decoded = decodeWriteRequest(encodeWriteRequest([later, other, deploys]));

    // Assess
    expect(decoded).toHaveLength(2);
    expect(decoded[0]?.samples.map((s) => s.value)).toEqual([41, 42, 43]);
  });

  it('omits series without samples', () => {
    // Act
    const decoded = decodeWriteRequest(
      encodeWriteRequest([{ labels: { __name__: 'up' }, samples: [] }, deploys]),
    );

    // Assess
    expect(decoded.map((s) => s.labels[0]?.value)).toEqual(['toilless_deployments_total']);
  });

  it('sends STALE_NAN with the exact bits 0x7ff0000000000002, also after V8 set its quiet bit', () => {
    // Prepare: V8 quiets a signalling NaN stored in an array of doubles.
    const quieted = [0.5, STALE_NAN][1]!;
    const staleBytes = Buffer.from('09020000000000f07f', 'hex');

    // Act
    const bytes = Buffer.from(
      encodeWriteRequest([
        { labels: { __name__: 'up', job: 'a' }, samples: [{ value: STALE_NAN, timestampMs: T0 }] },
        { labels: { __name__: 'up', job: 'b' }, samples: [{ value: quieted, timestampMs: T0 }] },
      ]),
    );

    // Assess
    expect(isStaleNaN(STALE_NAN)).toBe(true);
    expect(isStaleNaN(quieted)).toBe(true);
    expect(isStaleNaN(Number.NaN)).toBe(false);
    expect(bytes.indexOf(staleBytes)).toBeGreaterThan(0);
    expect(bytes.lastIndexOf(staleBytes)).toBeGreaterThan(bytes.indexOf(staleBytes));
    expect(decodeWriteRequest(bytes).flatMap((s) => s.samples.map((sample) => sample.stale))).toEqual([
      true,
      true,
    ]);
  });

  it.each([
    [
      'a series without __name__',
      { service: 'api' },
      '[1].labels.__name__',
      'series 1 {service="api"}: has no __name__ label',
    ],
    [
      'an invalid metric name',
      { __name__: 'http-requests' },
      '[1].labels.__name__',
      'metric name "http-requests" must match [a-zA-Z_:][a-zA-Z0-9_:]*',
    ],
    [
      'an invalid label name',
      { __name__: 'up', 'team-name': 'sre' },
      '[1].labels.team-name',
      'label name "team-name" must match [a-zA-Z_][a-zA-Z0-9_]*',
    ],
    [
      'a reserved label name',
      { __name__: 'up', __tenant: 'a' },
      '[1].labels.__tenant',
      'label name __tenant is reserved',
    ],
    ['an empty label name', { __name__: 'up', '': 'x' }, '[1].labels.', 'has a label with an empty name'],
    [
      'a label value that is not a string',
      { __name__: 'up', code: 200 as unknown as string },
      '[1].labels.code',
      'label "code" has a number value',
    ],
    [
      'a lone surrogate in a value',
      { __name__: 'up', team: 'bad \uD800' },
      '[1].labels.team',
      'not valid Unicode',
    ],
  ])('rejects %s, naming the series and the problem', (_case, labels, path, problem) => {
    // Prepare
    const series = [deploys, { labels, samples: [{ value: 1, timestampMs: T0 }] }];

    // Act
    const { message, issues } = validationIssues(() => encodeWriteRequest(series));

    // Assess
    expect(issues).toEqual([{ path, message: expect.stringContaining(problem) }]);
    expect(issues[0]?.message).toMatch(/^series 1 /);
    expect(message).toContain(problem);
  });

  it.each([
    [
      'a NaN value that is not the staleness marker',
      { value: Number.NaN, timestampMs: T0 },
      'value',
      'is NaN: NaN is only allowed as STALE_NAN',
    ],
    [
      'an infinite timestamp',
      { value: 1, timestampMs: Number.POSITIVE_INFINITY },
      'timestampMs',
      'has timestamp Infinity',
    ],
    ['a NaN timestamp', { value: 1, timestampMs: Number.NaN }, 'timestampMs', 'has timestamp NaN'],
    ['a fractional timestamp', { value: 1, timestampMs: T0 + 0.5 }, 'timestampMs', 'whole milliseconds'],
    [
      'a timestamp beyond 2^53',
      { value: 1, timestampMs: 2 ** 60 },
      'timestampMs',
      'whole milliseconds within ±2^53',
    ],
  ])('rejects %s, naming the series, the sample and the problem', (_case, sample, field, problem) => {
    // Prepare
    const series = [
      {
        labels: { __name__: 'toilless_change_failure_ratio', team: 'sre' },
        samples: [{ value: 0, timestampMs: T0 - 1 }, sample],
      },
    ];

    // Act
    const { issues } = validationIssues(() => encodeWriteRequest(series));

    // Assess
    expect(issues).toEqual([{ path: `[0].samples[1].${field}`, message: expect.stringContaining(problem) }]);
    expect(issues[0]?.message).toMatch(/^series 0 toilless_change_failure_ratio\{team="sre"\}: sample 1 /);
  });

  it('rejects two samples at one timestamp with different values', () => {
    // Prepare
    const series = [
      {
        labels: { __name__: 'up' },
        samples: [
          { value: 1, timestampMs: T0 },
          { value: 0, timestampMs: T0 },
        ],
      },
    ];

    // Act
    const { issues } = validationIssues(() => encodeWriteRequest(series));

    // Assess
    expect(issues).toEqual([
      {
        path: '[0].samples',
        message: `series 0 up{}: two samples at timestamp ${T0} have different values (1 and 0)`,
      },
    ]);
  });

  it('reports every invalid series at once', () => {
    // Prepare
    const series = [
      { labels: { __name__: '9lives' }, samples: [{ value: 1, timestampMs: T0 }] },
      deploys,
      { labels: { __name__: 'up' }, samples: [{ value: 1, timestampMs: 1.5 }] },
    ];

    // Act
    const { message, issues } = validationIssues(() => encodeWriteRequest(series));

    // Assess
    expect(issues.map((issue) => issue.path)).toEqual(['[0].labels.__name__', '[2].samples[0].timestampMs']);
    expect(message).toMatch(/^invalid remote-write series: series 0 .*; series 2 /);
  });
});

describe('Remote-write client', () => {
  let receiver: RemoteWriteServer;
  let time: ReturnType<typeof fakeClock>;

  const client = (options: Partial<RemoteWriteClientOptions> = {}) =>
    new RemoteWriteClient({ url: receiver.url, clock: time.clock, random: () => 0.5, ...options });

  beforeEach(async () => {
    receiver = await startRemoteWriteServer();
    time = fakeClock();
  });

  afterEach(async () => {
    await receiver.close();
  });

  it('posts a snappy-compressed WriteRequest with the remote-write headers, which extra headers cannot override', async () => {
    // Prepare
    const headers = { 'X-Scope-OrgID': 'tenant-a', 'content-type': 'text/plain', 'USER-AGENT': 'curl' };

    // Act
    const result = await client({ headers }).write([deploys]);

    // Assess
    expect(result).toEqual({ requests: 1, series: 1, samples: 2, attempts: 1 });
    expect(receiver.requests).toHaveLength(1);
    const [request] = receiver.requests;
    expect(request?.status).toBe(204);
    expect(request?.headers).toMatchObject({
      'content-encoding': 'snappy',
      'content-type': 'application/x-protobuf',
      'x-prometheus-remote-write-version': '0.1.0',
      'user-agent': `toilless/${version}`,
      'x-scope-orgid': 'tenant-a',
    });
    expect(request?.series).toEqual(decodeWriteRequest(encodeWriteRequest([deploys])));
  });

  it('sends the hosted receiver its Authorization header', async () => {
    // Act
    await client({ authorization: 'Bearer glc_token' }).write([deploys]);

    // Assess
    expect(receiver.requests[0]?.headers).toMatchObject({ authorization: 'Bearer glc_token' });
  });

  it('resends the same body after a 500 and succeeds', async () => {
    // Prepare
    receiver.answerNext({ status: 500, body: 'TSDB is busy' });

    // Act
    const result = await client().write([deploys]);

    // Assess
    expect(result.attempts).toBe(2);
    expect(receiver.requests.map((r) => r.status)).toEqual([500, 204]);
    expect(receiver.requests[1]?.body).toEqual(receiver.requests[0]?.body);
    expect(time.sleeps).toEqual([50]);
  });

  it('backs off exponentially with full jitter, capped at maxDelayMs', async () => {
    // Prepare
    receiver.answerNext({ status: 503 }, { status: 502 }, { status: 504 }, { status: 500 });

    // Act
    await client({ baseDelayMs: 100, maxDelayMs: 300, random: () => 0.5 }).write([deploys]);

    // Assess: half of the ceilings 100, 200, 300 (capped), 300
    expect(time.sleeps).toEqual([50, 100, 150, 150]);
    expect(receiver.requests).toHaveLength(5);
  });

  it('waits as long as Retry-After asks after a 429', async () => {
    // Prepare
    receiver.answerNext({ status: 429, body: 'rate limited', headers: { 'retry-after': '3' } });

    // Act
    await client().write([deploys]);

    // Assess
    expect(time.sleeps).toEqual([3_000]);
    expect(receiver.requests.map((r) => r.status)).toEqual([429, 204]);
  });

  it('does not resend after a 400 and carries the receiver message in the error', async () => {
    // Prepare
    receiver.answerNext({ status: 400, body: 'out of order sample' });

    // Act
    const error = await rejection(client().write([deploys]));

    // Assess
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).status).toBe(400);
    expect((error as UpstreamError).message).toBe(
      'prometheus remote-write: 400 out of order sample (1 attempt; not retried: the receiver refused this data)',
    );
    expect(receiver.requests).toHaveLength(1);
    expect(time.sleeps).toEqual([]);
  });

  it('truncates a long error answer to 500 characters', async () => {
    // Prepare
    receiver.answerNext({ status: 400, body: 'x'.repeat(2_000) });

    // Act
    const error = (await rejection(client().write([deploys]))) as UpstreamError;

    // Assess
    expect(error.message).toContain(`400 ${'x'.repeat(500)}... (1 attempt`);
  });

  it('gives up after maxAttempts, saying how many attempts were made', async () => {
    // Prepare
    receiver.answerNext(...Array.from({ length: 5 }, () => ({ status: 503, body: 'overloaded' })));

    // Act
    const error = (await rejection(client({ maxAttempts: 3 }).write([deploys]))) as UpstreamError;

    // Assess
    expect(error.message).toBe('prometheus remote-write: 503 overloaded (3 attempts)');
    expect(error.status).toBe(503);
    expect(receiver.requests).toHaveLength(3);
  });

  it('stops retrying when the next attempt would pass the deadline', async () => {
    // Prepare
    receiver.answerNext(...Array.from({ length: 10 }, () => ({ status: 503, body: 'overloaded' })));
    const impatient = client({ maxAttempts: 10, deadlineMs: 1_000, baseDelayMs: 400, random: () => 0.99 });

    // Act
    const error = (await rejection(impatient.write([deploys]))) as UpstreamError;

    // Assess: sleeps of 396 and 792 ms would end past 1000 ms, so only the first is taken
    expect(time.sleeps).toEqual([396]);
    expect(receiver.requests).toHaveLength(2);
    expect(error.message).toBe(
      'prometheus remote-write: 503 overloaded (2 attempts; gave up: another attempt would pass the 1000 ms deadline)',
    );
  });

  it('gives up at once when Retry-After asks for longer than the deadline allows', async () => {
    // Prepare
    receiver.answerNext({ status: 429, body: 'slow down', headers: { 'retry-after': '60' } });

    // Act
    const error = (await rejection(client().write([deploys]))) as UpstreamError;

    // Assess
    expect(error.message).toContain(
      '429 slow down (1 attempt; gave up: waiting the 60000 ms Retry-After asks for would pass the 30000 ms deadline)',
    );
    expect(receiver.requests).toHaveLength(1);
    expect(time.sleeps).toEqual([]);
  });

  it('retries when the connection drops without an answer', async () => {
    // Prepare
    receiver.answerNext({ drop: true });

    // Act
    const result = await client().write([deploys]);

    // Assess
    expect(result.attempts).toBe(2);
    expect(receiver.requests.map((r) => r.status)).toEqual([0, 204]);
  });

  it('retries a request that gets no answer within timeoutMs', async () => {
    // Prepare
    receiver.answerNext({ status: 204, delayMs: 1_000 });

    // Act
    const result = await client({ timeoutMs: 100 }).write([deploys]);

    // Assess
    expect(result.attempts).toBe(2);
    expect(receiver.requests).toHaveLength(2);
  });

  it('reports requests that all time out, saying how long it waited', async () => {
    // Prepare
    receiver.answerNext({ status: 204, delayMs: 1_000 }, { status: 204, delayMs: 1_000 });

    // Act
    const error = (await rejection(
      client({ timeoutMs: 100, maxAttempts: 2 }).write([deploys]),
    )) as UpstreamError;

    // Assess
    expect(error.message).toBe('prometheus remote-write: no answer within 100 ms (2 attempts)');
    expect(receiver.requests).toHaveLength(2);
  });

  it('reports an unreachable receiver with the socket error, after its attempts', async () => {
    // Prepare
    const gone = await startRemoteWriteServer();
    await gone.close();

    // Act
    const error = (await rejection(
      client({ url: gone.url, maxAttempts: 3 }).write([deploys]),
    )) as UpstreamError;

    // Assess
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.message).toMatch(
      /^prometheus remote-write: no answer: fetch failed \(.*ECONNREFUSED.*\) \(3 attempts\)$/,
    );
    expect(error.status).toBeUndefined();
    expect(error.cause).toBeInstanceOf(Error);
    expect(time.sleeps).toHaveLength(2);
  });

  it('says a refusal after an unanswered attempt may be due to that attempt having been written', async () => {
    // Prepare
    receiver.answerNext({ drop: true }, { status: 400, body: 'out of order sample' });

    // Act
    const error = (await rejection(client().write([deploys]))) as UpstreamError;

    // Assess
    expect(error.message).toContain('400 out of order sample (2 attempts; not retried');
    expect(error.message).toContain('an earlier attempt got no answer');
    expect(error.message).toContain('may have been written');
  });

  it('splits a large write into requests of at most maxSamplesPerRequest samples, in order', async () => {
    // Prepare
    const series = ['a', 'b', 'c'].map((job) => ({
      labels: { __name__: 'up', job },
      samples: Array.from({ length: 5 }, (_, i) => ({ value: i, timestampMs: T0 + i * 1_000 })),
    }));

    // Act
    const result = await client({ maxSamplesPerRequest: 4 }).write(series);

    // Assess
    expect(result).toEqual({ requests: 4, series: 3, samples: 15, attempts: 4 });
    const perRequest = receiver.requests.map((r) => r.series?.reduce((n, s) => n + s.samples.length, 0));
    expect(perRequest).toEqual([4, 4, 4, 3]);
    expect(
      [...receiver.written().entries()].map(([key, samples]) => [key, samples.map((s) => s.value)]),
    ).toEqual([
      ['up{job="a"}', [0, 1, 2, 3, 4]],
      ['up{job="b"}', [0, 1, 2, 3, 4]],
      ['up{job="c"}', [0, 1, 2, 3, 4]],
    ]);
  });

  it('says how much was written when a later request of a split write is refused', async () => {
    // Prepare
    receiver.answerNext({ status: 204 }, { status: 400, body: 'out of bounds' });
    const series = ['a', 'b'].map((job) => ({
      labels: { __name__: 'up', job },
      samples: [
        { value: 1, timestampMs: T0 },
        { value: 2, timestampMs: T0 + 1 },
      ],
    }));

    // Act
    const error = (await rejection(client({ maxSamplesPerRequest: 2 }).write(series))) as UpstreamError;

    // Assess
    expect(error.message).toContain(
      '400 out of bounds (1 attempt; not retried: the receiver refused this data; request 2 of 2; 1 request before it (2 samples) was written)',
    );
  });

  it('stops a split write once its deadline has passed, saying what was written', async () => {
    // Prepare: time jumps past the deadline once the first request has arrived
    const jumping: Clock = {
      now: () => new Date(receiver.requests.length === 0 ? T0 : T0 + 60_000),
      sleep: async () => undefined,
    };
    const series = ['a', 'b'].map((job) => ({
      labels: { __name__: 'up', job },
      samples: [{ value: 1, timestampMs: T0 }],
    }));

    // Act
    const error = (await rejection(
      client({ clock: jumping, maxSamplesPerRequest: 1 }).write(series),
    )) as UpstreamError;

    // Assess
    expect(error.message).toBe(
      'prometheus remote-write: the 30000 ms deadline passed before request 2 of 2 was sent; 1 request before it (1 sample) was written',
    );
    expect(receiver.requests).toHaveLength(1);
  });

  it('sends nothing when a series is invalid', async () => {
    // Act
    const error = await rejection(
      client().write([
        deploys,
        { labels: { __name__: 'up' }, samples: [{ value: Number.NaN, timestampMs: T0 }] },
      ]),
    );

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect(receiver.requests).toEqual([]);
  });

  it('sends no request for a write without samples', async () => {
    // Act
    const result = await client().write([]);

    // Assess
    expect(result).toEqual({ requests: 0, series: 0, samples: 0, attempts: 0 });
    expect(receiver.requests).toEqual([]);
  });

  it.each([
    [{ url: '/api/v1/write' }, 'is not a URL'],
    [{ url: 'ftp://prometheus/api/v1/write' }, 'must be http or https'],
    [{ maxAttempts: 0 }, 'maxAttempts must be a positive integer, got 0'],
    [{ timeoutMs: 1.5 }, 'timeoutMs must be a positive integer, got 1.5'],
  ])('refuses the options %o', (options, problem) => {
    // Act
    const create = () => client(options);

    // Assess
    expect(create).toThrow(ConfigurationError);
    expect(create).toThrow(problem);
  });
});

describe('Remote-write test receiver', () => {
  let receiver: RemoteWriteServer;

  beforeEach(async () => {
    receiver = await startRemoteWriteServer();
  });

  afterEach(async () => {
    await receiver.close();
  });

  const post = (headers: Record<string, string>, body: Uint8Array) =>
    fetch(receiver.url, { method: 'POST', headers, body });
  const protocolHeaders = {
    'content-encoding': 'snappy',
    'content-type': 'application/x-protobuf',
    'x-prometheus-remote-write-version': '0.1.0',
    'user-agent': 'test',
  };

  it.each([
    [{ 'content-encoding': '' }, 400, 'missing content-encoding header'],
    [{ 'x-prometheus-remote-write-version': '' }, 400, 'missing x-prometheus-remote-write-version header'],
    [
      { 'content-encoding': 'gzip' },
      415,
      'gzip encoding (compression) is not accepted by this server; only snappy is acceptable',
    ],
    [
      { 'content-type': 'application/json' },
      415,
      'expected application/x-protobuf as the first (media) part',
    ],
    [
      { 'x-prometheus-remote-write-version': '2.0.0' },
      400,
      'unsupported X-Prometheus-Remote-Write-Version 2.0.0',
    ],
  ])('answers a request with headers %o like Prometheus', async (override, status, message) => {
    // Prepare
    const headers = Object.fromEntries(
      Object.entries({ ...protocolHeaders, ...override }).filter(([, v]) => v !== ''),
    );

    // Act
    const response = await post(headers, compress(encodeWriteRequest([deploys])));

    // Assess
    expect(response.status).toBe(status);
    expect(await response.text()).toContain(message);
  });

  it('refuses a body that is not snappy-compressed', async () => {
    // Act
    const response = await post(protocolHeaders, encodeWriteRequest([deploys]));

    // Assess
    expect(response.status).toBe(400);
    expect(await response.text()).toBe('snappy: corrupt input\n');
  });

  it('refuses labels out of order, as the compliance suite does', async () => {
    // Prepare: swap the encoded labels, __name__="up" (16 bytes with tag and length) and a="b" (8 bytes)
    const bytes = Buffer.from(
      encodeWriteRequest([{ labels: { __name__: 'up', a: 'b' }, samples: [{ value: 1, timestampMs: 1 }] }]),
    );
    const at = bytes.indexOf(Buffer.from('0a0e0a085f5f6e616d655f5f', 'hex'));
    const swapped = Buffer.concat([
      bytes.subarray(0, at),
      bytes.subarray(at + 16, at + 24),
      bytes.subarray(at, at + 16),
      bytes.subarray(at + 24),
    ]);

    // Act
    const response = await post(protocolHeaders, compress(swapped));

    // Assess
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('labels out of order: a before __name__');
  });
});
