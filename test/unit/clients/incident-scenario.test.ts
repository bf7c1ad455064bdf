import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { incidentScenario } from '../../../bench/loki-tempo-data.js';
import { extractTraceIds, LokiClient } from '../../../functions/shared/clients/loki.js';
import { failingEndpoint, slowestSpan, TempoClient } from '../../../functions/shared/clients/tempo.js';
import { type LokiServer, startLokiServer } from '../../support/loki-server.js';
import { startTempoServer, type TempoServer } from '../../support/tempo-server.js';

describe('Loki and Tempo clients on the incident scenario', () => {
  const scenario = incidentScenario();
  let loki: LokiServer;
  let tempo: TempoServer;

  beforeAll(async () => {
    loki = await startLokiServer({ generator: scenario.logs });
    tempo = await startTempoServer({ traces: scenario.traces });
  });

  afterAll(async () => {
    await loki.close();
    await tempo.close();
  });

  it('holds about a million lines and ten thousand traces', () => {
    // Assess
    expect(loki.lineCount()).toBeGreaterThanOrEqual(999_000);
    expect(tempo.traceCount()).toBe(10_000);
    expect(scenario.errorTraceIds.some((id) => id.startsWith('000'))).toBe(true);
  });

  it('shows the error spike, samples its lines and follows their trace ids into Tempo', async () => {
    // Prepare
    const lokiClient = new LokiClient({ baseUrl: loki.url });
    const tempoClient = new TempoClient({ baseUrl: tempo.url });
    const before = loki.queryCount();

    // Act
    const levels = await lokiClient.queryRangeMatrix(
      'sum by (detected_level) (count_over_time({service_name="sample-app"}[5m]))',
      { start: scenario.start, end: scenario.end, stepSeconds: 300 },
    );
    const sample = await lokiClient.sampleLines('{service_name="sample-app"} | json | level="error"', {
      start: scenario.incident.start,
      end: scenario.end,
      limit: 200,
    });
    const ids = extractTraceIds(sample.lines);
    const traces = await Promise.all(ids.slice(0, 3).map((id) => tempoClient.trace(id)));

    // Assess
    const errors = levels.find((series) => series.metric['detected_level'] === 'error')?.values ?? [];
    const peak = Math.max(...errors.map((point) => point.value));
    expect(errors.find((point) => point.value === peak)?.at.getTime()).toBeGreaterThan(
      scenario.incident.start.getTime(),
    );
    expect(peak).toBeGreaterThan(10 * (errors[0]?.value ?? 0));
    expect(sample).toMatchObject({ pages: 1, truncated: true });
    expect(ids.every((id) => scenario.errorTraceIds.includes(id))).toBe(true);
    expect(traces.map((trace) => trace && failingEndpoint(trace)?.endpoint)).toEqual([
      'POST /checkout',
      'POST /checkout',
      'POST /checkout',
    ]);
    expect(traces[0] && slowestSpan(traces[0])?.span.name).toBe('payment-gateway charge');
    expect(loki.queryCount() - before).toBe(2);
  });

  it('finds the failing traces with TraceQL, ids padded back to 32 hex digits', async () => {
    // Prepare
    const tempoClient = new TempoClient({ baseUrl: tempo.url });

    // Act
    const results = await tempoClient.search('{ resource.service.name = "sample-app" && status = error }', {
      start: scenario.incident.start,
      end: scenario.end,
      limit: 50,
    });

    // Assess
    expect(results).toHaveLength(50);
    expect(results.every((result) => scenario.errorTraceIds.includes(result.traceId))).toBe(true);
  });
});
