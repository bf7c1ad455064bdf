import { afterEach, describe, expect, it } from 'vitest';
import { SourceFindings } from '../../../../functions/incident-timeline/sources/findings.js';
import {
  errorLinesQuery,
  findErrorSpikes,
  gatherLokiEvidence,
  groupErrorLines,
  type LokiEvidenceOptions,
  messageOf,
  messageTemplate,
  type StepCount,
  traceIdsToFetch,
} from '../../../../functions/incident-timeline/sources/loki.js';
import { LokiClient } from '../../../../functions/shared/clients/loki.js';
import type { LokiServer } from '../../../support/loki-server.js';
import { startLokiServer } from '../../../support/loki-server.js';
import {
  checkoutStream,
  ERROR_TRACE_IDS,
  evidenceRequest,
  paymentsStream,
  sampleAppStream,
  WINDOW_END,
  WINDOW_START,
} from './incident-data.js';

const MIB = 1024 * 1024;

/** CPU milliseconds `run` takes, the lowest of three runs: the work itself, not waiting for a busy CPU. */
function lowestCpuMs(run: () => unknown): number {
  const runs = [0, 1, 2].map(() => {
    const before = process.cpuUsage();
    run();
    const used = process.cpuUsage(before);
    return (used.user + used.system) / 1000;
  });
  return Math.min(...runs);
}

const minute = (n: number, count: number): StepCount => ({
  at: new Date(Date.UTC(2026, 10, 28, 8, n)),
  count,
});

describe('Error spike detection', () => {
  it('flags the minutes above three times the median of the minutes before, once past the floor', () => {
    // Prepare: baseline 2/min; medians before each minute worked by hand below.
    const counts = [2, 2, 3, 2, 2, 7, 5, 30, 40, 12, 2].map((count, i) => minute(i, count));

    // Act
    const spikes = findErrorSpikes(counts);

    // Assess: minute 5 (7 > max(3 x 2, 5) = 6) is one spike; minute 6 (5, not > 6) ends it;
    // minutes 7 to 9 (30, 40, 12 > max(3 x 2, 5) = 6; the median before minute 9 is 2.5 -> 7.5) are the next.
    expect(spikes).toEqual([
      expect.objectContaining({ start: minute(5, 0).at, steps: 1, total: 7, baseline: 2, threshold: 6 }),
      expect.objectContaining({
        start: minute(7, 0).at,
        end: minute(9, 0).at,
        steps: 3,
        total: 82,
        peak: minute(8, 40),
        baseline: 2,
        threshold: 6,
      }),
    ]);
  });

  it('needs more than the floor of 5 errors when the service logged no errors before', () => {
    const spikes = findErrorSpikes([0, 0, 0, 5, 0, 6].map((count, i) => minute(i, count)));

    expect(spikes.map((spike) => [spike.start, spike.total])).toEqual([[minute(5, 0).at, 6]]);
  });

  it('stops calling a lasting error rate a spike once it is the median', () => {
    const spikes = findErrorSpikes([0, 0, 20, 20, 20, 20, 20].map((count, i) => minute(i, count)));

    // Before minute 4 the counts are [0, 0, 20, 20]: median 10, threshold 30, and 20 is not above it.
    expect(spikes).toEqual([expect.objectContaining({ start: minute(2, 0).at, steps: 2, total: 40 })]);
  });
});

describe('Error message templates', () => {
  it('replaces numbers, hex ids, uuids and addresses so that one failure is one template', () => {
    expect(
      messageTemplate(
        'charge 7f3a9c21d4 for order 3fa85f64-5717-4562-b3fc-2c963f66afa6 to 10.0.3.7:8443 failed after 2200ms',
      ),
    ).toBe('charge <id> for order <uuid> to <ip> failed after <n>ms');
  });

  it('groups lines by the message of JSON, logfmt and plain lines', () => {
    const line = (tsNs: string, text: string) => ({
      at: new Date(Number(BigInt(tsNs) / 1_000_000n)),
      tsNs,
      labels: {},
      line: text,
    });

    const templates = groupErrorLines([
      line(
        '3000000000',
        'level=error msg="charge failed: upstream timeout after 2200ms" trace_id=476d76e68531f8c73ce06a33bb479e9b',
      ),
      line(
        '2000000000',
        '{"level":"error","msg":"charge failed: upstream timeout after 2300ms","trace_id":"000bfe540d18d2f80b5d8702fffdd1b4"}',
      ),
      line('1000000000', 'panic: runtime error: index out of range [5] with length 3'),
    ]);

    expect(templates.map((t) => [t.template, t.count, t.first.tsNs, t.traceIds])).toEqual([
      [
        'charge failed: upstream timeout after <n>ms',
        2,
        '2000000000',
        ['000bfe540d18d2f80b5d8702fffdd1b4', '476d76e68531f8c73ce06a33bb479e9b'],
      ],
      ['panic: runtime error: index out of range [<n>] with length <n>', 1, '1000000000', []],
    ]);
  });

  it('picks trace ids in turn from each template, the most frequent first, up to the bound', () => {
    const template = (name: string, traceIds: string[]) => ({ template: name, traceIds }) as never;

    expect(
      traceIdsToFetch([template('a', ['1', '2', '3']), template('b', ['4']), template('c', ['5', '6'])], 4),
    ).toEqual(['1', '4', '5', '2']);
  });
});

describe('The message of a log line', () => {
  it.each([
    ['a quoted logfmt msg with escapes', 'level=error msg="say \\"hi\\" to db" x=1', 'say "hi" to db'],
    ['a bare logfmt message', 'level=error message=timeout x=1', 'timeout'],
    ['the first key that follows whitespace', 'xmsg=no msg= msg=yes', 'yes'],
    ['a JSON msg field', '{"level":"error","msg":"boom"}', 'boom'],
    ['a plain line, as itself', '  panic: out of range  ', 'panic: out of range'],
  ])('reads %s', (_what, line, message) => {
    expect(messageOf(line)).toBe(message);
  });

  it.each([
    ['an unterminated quote', `msg="${'a'.repeat(MIB)}`],
    ['a run of backslashes', `msg="${'\\'.repeat(MIB)}`],
    ['many keys without a value', ' msg= message='.repeat(MIB / 14)],
    ['many keys glued to words', 'amsg='.repeat(MIB / 5)],
  ])('reads a 1 MiB line of %s in well under 50 ms of CPU', (_what, line) => {
    expect(lowestCpuMs(() => messageOf(line))).toBeLessThan(50);
  });
});

describe('Loki evidence', () => {
  let loki: LokiServer | undefined;

  afterEach(async () => {
    await loki?.close();
    loki = undefined;
  });

  async function gather(
    server: LokiServer,
    options: Partial<LokiEvidenceOptions> = {},
    service = 'sample-app',
  ) {
    const findings = new SourceFindings();
    let traceIds: readonly string[] | undefined;
    await gatherLokiEvidence(evidenceRequest({ service }), new AbortController().signal, findings, {
      client: new LokiClient({ baseUrl: server.url }),
      selector: `{service_name=${JSON.stringify(service)}}`,
      grafanaUrl: 'https://grafana.example.com',
      maxErrorLines: 200,
      onTraceIds: (ids) => {
        traceIds = ids;
      },
      ...options,
    });
    return { events: findings.events(), problems: findings.problems, traceIds };
  }

  it('reports the error spike at onset with its numbers, and the most frequent message', async () => {
    // Prepare
    loki = await startLokiServer({ streams: [sampleAppStream()] });

    // Act
    const { events, problems } = await gather(loki);

    // Assess: the minute ending 08:55:00 holds 3 errors (08:54:55, :57, :59), not above the floor of 5;
    // each minute from 08:56:00 holds 30, the one ending 09:05:00 holds 27 (09:04:01 to 09:04:53).
    expect(problems).toEqual([]);
    const spike = events.find((event) => event.kind === 'log.spike');
    expect(spike).toMatchObject({
      at: '2026-11-28T08:56:00.000Z',
      source: 'loki',
      relevance: 'high',
      summary: 'Error logs spiked to 30/min (baseline 0/min): 297 errors in 10 min',
      details: { end: '2026-11-28T09:05:00.000Z', total: 297, baseline: 0, threshold: 5 },
    });
    // The newest 200 of 300 error lines: the oldest of them is line 100, at 08:54:55 + 200 s.
    expect(events.filter((event) => event.kind === 'log.error')).toEqual([
      expect.objectContaining({
        at: '2026-11-28T08:58:15.000Z',
        relevance: 'high',
        summary:
          'Error log "POST /checkout <n> upstream payment-gateway timeout": 200 of the newest 200 error lines',
        details: expect.objectContaining({ count: 200, sampled: 200, sampleTruncated: true }),
      }),
    ]);
  });

  it('samples at most maxErrorLines of a million lines in two requests', async () => {
    // Prepare: 1,000,000 lines over the 40-minute window, 5% errors.
    loki = await startLokiServer({
      generator: {
        start: WINDOW_START,
        end: WINDOW_END,
        streams: [
          { labels: { service_name: 'sample-app' }, linesPerSecond: 1_000_000 / 2400, errorRatio: 0.05 },
        ],
      },
    });

    // Act
    const { events, traceIds } = await gather(loki);

    // Assess
    expect(loki.lineCount()).toBe(1_000_000);
    const sampled = events.find((event) => event.kind === 'log.error');
    expect(sampled?.details).toMatchObject({ count: 200, sampled: 200, sampleTruncated: true });
    expect(loki.queryCount()).toBe(2);
    const sampleRequest = loki.requests.find(
      (r) => r.params['query'] === errorLinesQuery('{service_name="sample-app"}'),
    );
    expect(Number(sampleRequest?.params['limit'])).toBeLessThanOrEqual(5000);
    expect(traceIds).toHaveLength(10);
  });

  it('pages under the 5000-entry limit when more lines are wanted than one query may return', async () => {
    loki = await startLokiServer({
      generator: {
        start: WINDOW_START,
        end: WINDOW_END,
        streams: [{ labels: { service_name: 'sample-app' }, linesPerSecond: 10, errorRatio: 1 }],
      },
    });

    const { events } = await gather(loki, { maxErrorLines: 5000 });

    expect(events.find((event) => event.kind === 'log.error')?.details).toMatchObject({ count: 5000 });
    const limits = loki.requests.filter((r) => r.params['limit']).map((r) => Number(r.params['limit']));
    expect(limits.length).toBeGreaterThan(1);
    expect(Math.max(...limits)).toBeLessThanOrEqual(5000);
  });

  it('hands over the trace ids of JSON lines, logfmt lines and OTLP structured metadata', async () => {
    loki = await startLokiServer({ streams: [sampleAppStream(), paymentsStream(), checkoutStream()] });

    const json = (await gather(loki, {}, 'sample-app')).traceIds;
    const logfmt = (await gather(loki, {}, 'payments')).traceIds;
    const otlp = (await gather(loki, {}, 'checkout')).traceIds;

    // Newest 200 sample-app lines reach back to minute 3; payments and checkout have fewer than 200.
    expect(json).toEqual(ERROR_TRACE_IDS.slice(3));
    expect(logfmt).toEqual([...ERROR_TRACE_IDS]);
    expect(otlp).toEqual([...ERROR_TRACE_IDS]);
  });

  it('falls back to keywords when Loki detects no levels', async () => {
    // Prepare: entries whose detected_level is empty, as from a Loki with discover_log_levels off.
    const stream = sampleAppStream();
    loki = await startLokiServer({
      streams: [
        {
          labels: stream.labels,
          entries: stream.entries.map((entry) => ({ ...entry, metadata: { detected_level: '' } })),
        },
      ],
    });

    // Act
    const { events, problems } = await gather(loki);

    // Assess
    expect(problems).toEqual([]);
    expect(events.find((event) => event.kind === 'log.spike')?.details).toMatchObject({
      total: 297,
      errorFilter: 'keywords',
    });
    expect(events.find((event) => event.kind === 'log.error')?.details).toMatchObject({ count: 200 });
  });

  it('keeps the spikes when the line sample is refused, and reports why', async () => {
    // Prepare: a Loki whose max_entries_limit_per_query is below the sample's page.
    loki = await startLokiServer({ streams: [sampleAppStream()], maxEntriesLimitPerQuery: 100 });

    // Act
    const { events, problems, traceIds } = await gather(loki);

    // Assess
    expect(events.map((event) => event.kind)).toEqual(['log.spike']);
    expect(problems.map((problem) => (problem as Error).message)).toEqual([
      'loki: max entries limit per query exceeded, limit > max_entries_limit_per_query (201 > 100)',
    ]);
    expect(traceIds).toEqual([]);
  });
});
