import { afterEach, describe, expect, it } from 'vitest';
import { SourceFindings } from '../../../../functions/incident-timeline/sources/findings.js';
import {
  durationLiteral,
  gatherTempoEvidence,
  slowSearchQuery,
  type TempoEvidenceOptions,
} from '../../../../functions/incident-timeline/sources/tempo.js';
import { TempoClient } from '../../../../functions/shared/clients/tempo.js';
import { startTempoServer, type TempoServer } from '../../../support/tempo-server.js';
import {
  base64TraceId,
  ERROR_TRACE_IDS,
  evidenceRequest,
  incidentTraces,
  WINDOW_END,
  WINDOW_START,
} from './incident-data.js';

describe('Tempo evidence', () => {
  let tempo: TempoServer | undefined;

  afterEach(async () => {
    await tempo?.close();
    tempo = undefined;
  });

  async function gather(server: TempoServer, options: Partial<TempoEvidenceOptions> = {}) {
    const findings = new SourceFindings();
    await gatherTempoEvidence(evidenceRequest(), new AbortController().signal, findings, {
      client: new TempoClient({ baseUrl: server.url }),
      grafanaUrl: 'https://grafana.example.com',
      latencyThresholdMs: 500,
      latencyThresholdSource: 'latency SLO',
      traceIds: Promise.resolve([]),
      ...options,
    });
    return { events: findings.events(), problems: findings.problems };
  }

  const fetchedIds = (server: TempoServer) =>
    server.requests
      .filter((r) => r.path.startsWith('/api/v2/traces/'))
      .map((r) => r.path.slice('/api/v2/traces/'.length));

  it('names the failing endpoint and the span it failed in, with a link to each trace', async () => {
    // Prepare
    tempo = await startTempoServer({ traces: incidentTraces() });

    // Act
    const { events, problems } = await gather(tempo, { traceIds: Promise.resolve(ERROR_TRACE_IDS.slice(3)) });

    // Assess: 7 traces from the logs plus the oldest one the error search found (08:55:00).
    expect(problems).toEqual([]);
    const failure = events.find((event) => event.kind === 'trace.error' && event.relevance === 'high');
    expect(failure).toMatchObject({
      at: '2026-11-28T08:55:00.000Z',
      source: 'tempo',
      summary:
        'POST /checkout failed in payment-gateway (span payment-gateway charge, 2.2 s: deadline exceeded), 8 traces',
      details: { endpoint: 'POST /checkout', httpStatusCode: 500, fromLogs: 7 },
    });
    expect(failure?.links).toHaveLength(3);
    expect(failure?.links[0]?.url).toMatch(
      /^https:\/\/grafana\.example\.com\/explore\?schemaVersion=1&orgId=1&panes=/,
    );
    expect(decodeURIComponent(failure?.links[0]?.url ?? '')).toContain(`"query":"${ERROR_TRACE_IDS[0]}"`);
  });

  it('counts the error traces the search found', async () => {
    tempo = await startTempoServer({ traces: incidentTraces() });

    const { events } = await gather(tempo);

    expect(events).toContainEqual(
      expect.objectContaining({
        kind: 'trace.error',
        relevance: 'normal',
        summary: '10 traces of sample-app with error spans (TraceQL search)',
      }),
    );
  });

  it('names the slowest span of the slowest trace over the latency threshold', async () => {
    tempo = await startTempoServer({ traces: incidentTraces() });

    const { events } = await gather(tempo);

    // The 10th checkout is the slowest: 2300 + 9 x 8 = 2372 ms; its own time is mostly the gateway's 2.2 s.
    expect(events.find((event) => event.kind === 'trace.slow')).toMatchObject({
      at: '2026-11-28T08:55:00.000Z',
      summary:
        '10 traces of sample-app slower than 500 ms (latency SLO); slowest 2.4 s (POST /checkout); most time in span payment-gateway charge of payment-gateway (2.2 s); POST /checkout failed in payment-gateway (span payment-gateway charge, 2.2 s: deadline exceeded)',
      details: { slowestTraceId: ERROR_TRACE_IDS[9], slowestDurationMs: 2372, thresholdMs: 500 },
    });
  });

  it('always searches with start, end, limit 20 and spss 3', async () => {
    tempo = await startTempoServer({ traces: incidentTraces() });

    await gather(tempo, { latencyThresholdMs: 250 });

    const searches = tempo.requests.filter((r) => r.path === '/api/search');
    expect(searches.map((r) => r.params['q'])).toEqual(
      expect.arrayContaining([
        '{ resource.service.name = "sample-app" && status = error }',
        '{ resource.service.name = "sample-app" && duration > 250ms }',
      ]),
    );
    for (const search of searches) {
      expect(search.params).toMatchObject({
        start: String(WINDOW_START.getTime() / 1000),
        end: String(WINDOW_END.getTime() / 1000),
        limit: '20',
        spss: '3',
      });
    }
  });

  it('fetches a trace once whether its id is hex with leading zeros, base64, or stripped by search', async () => {
    // Prepare: Tempo's search hands out 000bfe... as bfe540d... (29 digits).
    tempo = await startTempoServer({ traces: incidentTraces() });

    // Act
    const { events } = await gather(tempo, {
      traceIds: Promise.resolve([ERROR_TRACE_IDS[0], base64TraceId(ERROR_TRACE_IDS[1])]),
    });

    // Assess
    expect(fetchedIds(tempo).sort()).toEqual(
      [ERROR_TRACE_IDS[0], ERROR_TRACE_IDS[1], ERROR_TRACE_IDS[9]].sort(),
    );
    const failure = events.find((event) => event.kind === 'trace.error' && event.relevance === 'high');
    expect(failure?.details).toMatchObject({
      traceIds: [ERROR_TRACE_IDS[0], ERROR_TRACE_IDS[1], ERROR_TRACE_IDS[9]],
      fromLogs: 2,
    });
  });

  it('fetches at most 10 traces from the logs', async () => {
    tempo = await startTempoServer({ traces: incidentTraces() });
    const many = Array.from({ length: 30 }, (_, i) => (i + 1).toString(16).padStart(32, '0'));

    const { events } = await gather(tempo, { traceIds: Promise.resolve(many) });

    expect(fetchedIds(tempo).filter((id) => many.includes(id))).toHaveLength(10);
    expect(tempo.requests.length).toBeLessThanOrEqual(25);
    expect(events.some((event) => event.kind === 'trace.error')).toBe(true);
  });

  it('keeps the traces it fetched when a search is refused, and reports the refusal', async () => {
    tempo = await startTempoServer({ traces: incidentTraces() });
    tempo.failNext({
      status: 400,
      body: 'invalid TraceQL query: parse error at line 1, col 52: syntax error: unexpected }',
    });

    const { events, problems } = await gather(tempo, {
      traceIds: Promise.resolve(ERROR_TRACE_IDS.slice(0, 2)),
    });

    expect(problems.map((problem) => (problem as Error).message)).toEqual([
      'tempo: invalid TraceQL query: parse error at line 1, col 52: syntax error: unexpected }',
    ]);
    expect(events.some((event) => event.kind === 'trace.error' && event.relevance === 'high')).toBe(true);
  });
});

describe('TraceQL durations', () => {
  it('writes whole milliseconds as ms and finer thresholds in microseconds', () => {
    expect(durationLiteral(500)).toBe('500ms');
    expect(durationLiteral(0.25)).toBe('250us');
    expect(slowSearchQuery('payments', 1200)).toBe(
      '{ resource.service.name = "payments" && duration > 1200ms }',
    );
  });
});
