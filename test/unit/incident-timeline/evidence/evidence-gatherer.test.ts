import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recordDeployment } from '../../../../functions/incident-timeline/deploy-index.js';
import {
  createEvidenceGatherer,
  type EvidenceGathererDependencies,
  latencyThreshold,
} from '../../../../functions/incident-timeline/evidence.js';
import type { EvidenceRequest, TimelineEvent } from '../../../../functions/incident-timeline/model.js';
import { FsObjectStore } from '../../../../functions/shared/adapters/local/fs-object-store.js';
import { silentLogger } from '../../../../functions/shared/log.js';
import { parseSloDefinitions } from '../../../../functions/shared/slo-definitions.js';
import { type LokiServer, startLokiServer } from '../../../support/loki-server.js';
import { freePort } from '../../../support/ports.js';
import { STACK_CONFIG_DIR } from '../../../support/stack-config-copy.js';
import { startTempoServer, type TempoServer } from '../../../support/tempo-server.js';
import {
  ERROR_TRACE_IDS,
  evidenceRequest,
  incidentTraces,
  sampleAppDeployment,
  sampleAppStream,
  toillessConfig,
} from './incident-data.js';

const unavailable = (events: readonly TimelineEvent[]) =>
  events.filter((event) => event.kind === 'source.unavailable');
const kindsFrom = (events: readonly TimelineEvent[], source: string) =>
  [...new Set(events.filter((event) => event.source === source).map((event) => event.kind))].sort();

describe('Evidence gatherer', () => {
  let loki: LokiServer;
  let tempo: TempoServer;
  let dir: string;
  let store: FsObjectStore;
  let closedPortUrl: string;

  beforeEach(async () => {
    loki = await startLokiServer({ streams: [sampleAppStream()] });
    tempo = await startTempoServer({ traces: incidentTraces() });
    dir = await mkdtemp(join(tmpdir(), 'toilless-evidence-'));
    store = new FsObjectStore(dir);
    closedPortUrl = `http://127.0.0.1:${await freePort()}`;
    await recordDeployment(store, sampleAppDeployment('deploy-1'));
  });

  afterEach(async () => {
    await loki.close();
    await tempo.close();
    await rm(dir, { recursive: true, force: true });
  });

  function gatherer(overrides: Partial<EvidenceGathererDependencies> = {}) {
    return createEvidenceGatherer({
      // Prometheus is down in these tests: its own behaviour is tested against the real one (integration).
      config: { prometheusUrl: closedPortUrl, lokiUrl: loki.url, tempoUrl: tempo.url },
      toilless: toillessConfig(),
      stackConfigDir: STACK_CONFIG_DIR,
      store,
      logger: silentLogger,
      clock: { now: () => new Date('2026-11-28T09:05:30Z'), sleep: async () => {} },
      slos: [],
      ...overrides,
    });
  }

  it('turns a source on a closed port into one source.unavailable naming it, and builds the rest', async () => {
    // Act
    const events = await gatherer()(evidenceRequest());

    // Assess
    expect(unavailable(events)).toEqual([
      expect.objectContaining({
        at: '2026-11-28T09:05:30.000Z',
        source: 'prometheus',
        relevance: 'normal',
        summary: expect.stringMatching(
          /^Prometheus unavailable: GET \/api\/v1\/(query_range|rules) failed: .*ECONNREFUSED/,
        ),
      }),
    ]);
    expect(kindsFrom(events, 'deployments')).toEqual(['deployment']);
    expect(kindsFrom(events, 'loki')).toEqual(['log.error', 'log.spike']);
    expect(kindsFrom(events, 'tempo')).toEqual(['trace.error', 'trace.slow']);
  });

  it('fetches the traces whose ids the sampled error lines carry', async () => {
    await gatherer()(evidenceRequest());

    // The newest 200 of the 300 error lines carry the ids of minutes 3 to 9.
    const fetched = tempo.requests
      .filter((r) => r.path.startsWith('/api/v2/traces/'))
      .map((r) => r.path.split('/').pop());
    expect(fetched).toEqual(expect.arrayContaining(ERROR_TRACE_IDS.slice(3)));
    expect(loki.queryCount()).toBeLessThanOrEqual(10);
    expect(tempo.requests.length).toBeLessThanOrEqual(25);
  });

  it('gives up on a slow source at its timeout, and the others still contribute', async () => {
    // Prepare
    loki.setLatency(5_000);
    const started = Date.now();

    // Act
    const events = await gatherer({ sourceTimeoutMs: 500 })(evidenceRequest());

    // Assess
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(unavailable(events).map((event) => [event.source, event.summary])).toEqual(
      expect.arrayContaining([['loki', 'Loki unavailable: no complete answer within 0.5 s']]),
    );
    expect(unavailable(events).filter((event) => event.source === 'loki')).toHaveLength(1);
    expect(kindsFrom(events, 'tempo')).toEqual(['trace.error', 'trace.slow']);
    expect(kindsFrom(events, 'deployments')).toEqual(['deployment']);
  });

  it("names the error of a source that answers 400, in the source's own words, once", async () => {
    loki.failNext({ status: 400, body: 'parse error at line 1, col 44: syntax error: unexpected $end' }, 2);

    const events = await gatherer()(evidenceRequest());

    expect(unavailable(events).filter((event) => event.source === 'loki')).toEqual([
      expect.objectContaining({
        summary: 'Loki unavailable: parse error at line 1, col 44: syntax error: unexpected $end',
      }),
    ]);
    expect(kindsFrom(events, 'tempo')).toEqual(['trace.error', 'trace.slow']);
  });

  it('counts the further problems of a source in its one event', async () => {
    loki.failNext({ status: 400, body: 'parse error at line 1, col 44: syntax error: unexpected $end' });
    loki.failNext({ status: 503, body: 'too many outstanding requests' });

    const events = await gatherer()(evidenceRequest());

    const fromLoki = unavailable(events).filter((event) => event.source === 'loki');
    expect(fromLoki).toHaveLength(1);
    expect(fromLoki[0]?.summary).toMatch(/^Loki unavailable: .+ \(and 1 more problem\)$/);
    expect(fromLoki[0]?.details['problems']).toEqual(
      expect.arrayContaining([
        'parse error at line 1, col 44: syntax error: unexpected $end',
        'too many outstanding requests',
      ]),
    );
  });

  it('reports a source answering 500 once, keeping what its other requests found', async () => {
    tempo.failNext({ status: 500, body: 'internal error: too many open files' });

    const events = await gatherer()(evidenceRequest());

    const fromTempo = unavailable(events).filter((event) => event.source === 'tempo');
    expect(fromTempo).toEqual([
      expect.objectContaining({ summary: 'Tempo partly unavailable: internal error: too many open files' }),
    ]);
    expect(events.some((event) => event.source === 'tempo' && event.kind === 'trace.error')).toBe(true);
  });

  it('stops slow sources when the overall budget runs out, and returns what it has', async () => {
    // Prepare
    loki.setLatency(10_000);
    tempo.setLatency(10_000);
    const request: EvidenceRequest = evidenceRequest({ signal: AbortSignal.timeout(300) });
    const started = Date.now();

    // Act
    const events = await gatherer()(request);

    // Assess
    expect(Date.now() - started).toBeLessThan(3_000);
    const stopped = unavailable(events).filter(
      (event) => event.source === 'loki' || event.source === 'tempo',
    );
    expect(stopped.map((event) => event.summary).sort()).toEqual([
      'Loki unavailable: stopped when the evidence budget ran out',
      'Tempo unavailable: stopped when the evidence budget ran out',
    ]);
    expect(kindsFrom(events, 'deployments')).toEqual(['deployment']);
  });

  it('tells onSourceUnavailable of each unavailable source, and of no source that answered', async () => {
    // Prepare: Prometheus and Loki are down, Tempo and the deployments answer.
    const told: string[] = [];
    const gather = gatherer({
      config: { prometheusUrl: closedPortUrl, lokiUrl: closedPortUrl, tempoUrl: tempo.url },
      onSourceUnavailable: (source) => told.push(source),
    });

    // Act
    const events = await gather(evidenceRequest());

    // Assess
    expect(told.sort()).toEqual(['loki', 'prometheus']);
    expect(
      unavailable(events)
        .map((event) => event.source)
        .sort(),
    ).toEqual(told);
  });

  it('never rejects, even with a request it cannot use', async () => {
    const broken = { ...evidenceRequest(), from: new Date(Number.NaN), onset: new Date(Number.NaN) };

    const events = await gatherer()(broken);

    expect(Array.isArray(events)).toBe(true);
    expect(unavailable(events).length).toBeGreaterThan(0);
  });
});

describe('Latency threshold of slow spans', () => {
  const slos = parseSloDefinitions(`services:
  sample-app:
    latency:
      description: fast
      objective: 95
      sli: { type: latency, metric: http_request_duration_seconds, selector: 'service="sample-app"', threshold: "0.5" }
    checkout-latency:
      description: faster
      objective: 95
      sli: { type: latency, metric: http_request_duration_seconds, selector: 'route="/checkout"', threshold: "0.25" }
    availability:
      description: up
      objective: 99
      sli: { type: availability, metric: http_requests_total, selector: 'service="sample-app"', badSelector: 'code=~"5.."' }
`);

  it("takes the strictest of the service's latency SLOs", () => {
    expect(latencyThreshold(slos, 'sample-app')).toEqual({ ms: 250, source: 'checkout-latency SLO' });
  });

  it('falls back to 500 ms for a service without a latency SLO', () => {
    expect(latencyThreshold(slos, 'payments')).toEqual({ ms: 500, source: 'default' });
  });
});
