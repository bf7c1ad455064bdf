import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordDeployment } from '../../../functions/incident-timeline/deploy-index.js';
import { createEvidenceGatherer } from '../../../functions/incident-timeline/evidence.js';
import type { IncidentAlert, TimelineEvent } from '../../../functions/incident-timeline/model.js';
import { SourceFindings } from '../../../functions/incident-timeline/sources/findings.js';
import { gatherPrometheusEvidence } from '../../../functions/incident-timeline/sources/prometheus.js';
import { FsObjectStore } from '../../../functions/shared/adapters/local/fs-object-store.js';
import { PrometheusClient } from '../../../functions/shared/clients/prometheus.js';
import { silentLogger } from '../../../functions/shared/log.js';
import {
  RemoteWriteClient,
  STALE_NAN,
  type TimeSeries,
} from '../../../functions/shared/prometheus/remote-write.js';
import { type LokiServer, startLokiServer } from '../../support/loki-server.js';
import { type RunningPrometheus, startPrometheus } from '../../support/prometheus.js';
import { STACK_CONFIG_DIR } from '../../support/stack-config-copy.js';
import { startTempoServer, type TempoServer } from '../../support/tempo-server.js';
import {
  evidenceRequest,
  fastBurnAlert,
  incidentTraces,
  sampleAppDeployment,
  sampleAppStream,
  toillessConfig,
  WINDOW_END,
  WINDOW_START,
} from '../../unit/incident-timeline/evidence/incident-data.js';

const STEP_MS = 15_000;
const ERRORS_FROM = Date.parse('2026-11-28T08:55:00Z');

/** Samples every 15 s over the window, valued by time. */
function series(labels: Record<string, string>, value: (ms: number) => number | undefined): TimeSeries {
  const samples: { value: number; timestampMs: number }[] = [];
  for (let ms = WINDOW_START.getTime(); ms <= WINDOW_END.getTime(); ms += STEP_MS) {
    const v = value(ms);
    if (v !== undefined) samples.push({ value: v, timestampMs: ms });
  }
  return { labels, samples };
}

/**
 * sample-app: 10 requests/s, of which 5/s fail from 08:55:00; the 5m error ratio recording rule's
 * output as a gauge (0.01, then 0.2 from 08:55:00, 0.31 at 08:58:00 only, then 0.25); HighLatency
 * firing 08:50 to 09:00 and the incident's own FastBurnRate from 08:56:15.
 */
function incidentSeries(): TimeSeries[] {
  const seconds = (ms: number) => (ms - WINDOW_START.getTime()) / 1000;
  return [
    series(
      { __name__: 'http_requests_total', service: 'sample-app', status_code: '200' },
      (ms) => 10 * seconds(ms),
    ),
    series({ __name__: 'http_requests_total', service: 'sample-app', status_code: '500' }, (ms) =>
      ms < ERRORS_FROM ? 0 : (5 * (ms - ERRORS_FROM)) / 1000,
    ),
    series({ __name__: 'slo:sli_error:ratio_rate5m', service: 'sample-app', slo: 'availability' }, (ms) =>
      ms < ERRORS_FROM
        ? 0.01
        : ms === Date.parse('2026-11-28T08:58:00Z')
          ? 0.31
          : ms < Date.parse('2026-11-28T08:58:00Z')
            ? 0.2
            : 0.25,
    ),
    series(
      {
        __name__: 'ALERTS',
        alertname: 'HighLatency',
        alertstate: 'firing',
        service: 'sample-app',
        severity: 'warning',
      },
      // Prometheus marks a resolved alert's series stale at its next evaluation.
      (ms) =>
        ms >= Date.parse('2026-11-28T08:50:00Z') && ms <= Date.parse('2026-11-28T09:00:00Z')
          ? 1
          : ms === Date.parse('2026-11-28T09:00:15Z')
            ? STALE_NAN
            : undefined,
    ),
    series(
      {
        __name__: 'ALERTS',
        alertname: 'FastBurnRate',
        alertstate: 'firing',
        service: 'sample-app',
        severity: 'critical',
        slo: 'availability',
      },
      (ms) => (ms >= Date.parse('2026-11-28T08:56:15Z') ? 1 : undefined),
    ),
    series(
      {
        __name__: 'ALERTS',
        alertname: 'DiskFull',
        alertstate: 'firing',
        service: 'checkout',
        severity: 'warning',
      },
      () => 1,
    ),
  ];
}

function alertWithExpression(expr: string): IncidentAlert {
  return fastBurnAlert({
    generatorURL: `http://prometheus:9090/graph?g0.expr=${encodeURIComponent(expr)}&g0.tab=1`,
  });
}

describe('Evidence from the real Prometheus', () => {
  let prometheus: RunningPrometheus;

  beforeAll(async () => {
    prometheus = await startPrometheus();
    await new RemoteWriteClient({ url: prometheus.remoteWriteUrl }).write(incidentSeries());
  });

  afterAll(async () => {
    await prometheus?.stop();
  });

  async function prometheusEvents(alerts: readonly IncidentAlert[]) {
    const findings = new SourceFindings();
    await gatherPrometheusEvidence(evidenceRequest({ alerts }), new AbortController().signal, findings, {
      client: new PrometheusClient({ baseUrl: prometheus.url }),
      grafanaUrl: 'https://grafana.example.com',
      // The test alerts' generatorURLs name the host Prometheus would put there.
      trustedUrls: [prometheus.url, 'http://prometheus:9090'],
    });
    return { events: findings.events(), problems: findings.problems };
  }

  it('finds when a threshold rule first held and its peak', async () => {
    // Act
    const { events, problems } = await prometheusEvents([
      alertWithExpression(
        'slo:sli_error:ratio_rate5m{service="sample-app",slo="availability"} > (14.4 * 0.01)',
      ),
    ]);

    // Assess
    expect(problems).toEqual([]);
    expect(
      events.filter((event) => event.kind === 'metric').map((e) => [e.at, e.relevance, e.summary]),
    ).toEqual([
      ['2026-11-28T08:55:00.000Z', 'high', 'FastBurnRate condition first true: 0.2 > 0.144'],
      ['2026-11-28T08:58:00.000Z', 'normal', 'FastBurnRate expression peaked at 0.31 (threshold > 0.144)'],
    ]);
  });

  it("evaluates the captured alert's error ratio over the window", async () => {
    const { events } = await prometheusEvents([fastBurnAlert()]);

    // 5 of 15 requests/s fail from 08:55:00: the 5m ratio passes 0.144 once rate[5m] of the failures
    // passes about 1.7/s, close to two minutes later; its peak is 1/3.
    const firstTrue = events.find((event) => event.relevance === 'high' && event.kind === 'metric');
    expect(Date.parse(firstTrue?.at ?? '')).toBeGreaterThanOrEqual(Date.parse('2026-11-28T08:56:00Z'));
    expect(Date.parse(firstTrue?.at ?? '')).toBeLessThanOrEqual(Date.parse('2026-11-28T08:58:00Z'));
    const peak = events.find((event) => event.summary.includes('peaked'));
    expect(peak?.details['value']).toBeCloseTo(1 / 3, 2);
  });

  it("lists the service's other firing alerts, not the incident's own nor other services'", async () => {
    const { events } = await prometheusEvents([fastBurnAlert()]);

    expect(events.filter((event) => event.kind === 'alert.firing')).toEqual([
      expect.objectContaining({
        at: '2026-11-28T08:50:00.000Z',
        source: 'prometheus',
        relevance: 'normal',
        summary: 'Also firing for sample-app: HighLatency (warning)',
        details: expect.objectContaining({ lastSeen: '2026-11-28T09:00:00.000Z' }),
      }),
    ]);
  });

  it('reports an expression Prometheus refuses and keeps the rest', async () => {
    const { events, problems } = await prometheusEvents([
      alertWithExpression('sum(rate(http_requests_total[5m])'),
    ]);

    expect(problems.map((problem) => (problem as Error).message)).toEqual([
      expect.stringMatching(/^prometheus: bad_data: .*parse error/),
    ]);
    expect(events.map((event) => event.kind)).toEqual(['alert.firing']);
  });

  describe('with Loki, Tempo and the deployment index', () => {
    let loki: LokiServer;
    let tempo: TempoServer;
    let dir: string;
    let store: FsObjectStore;

    beforeAll(async () => {
      loki = await startLokiServer({ streams: [sampleAppStream()] });
      tempo = await startTempoServer({ traces: incidentTraces() });
      dir = await mkdtemp(join(tmpdir(), 'toilless-evidence-'));
      store = new FsObjectStore(dir);
      await recordDeployment(store, sampleAppDeployment('deploy-42'));
    });

    afterAll(async () => {
      await loki?.close();
      await tempo?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    function gatherer(prometheusUrl = prometheus.url) {
      return createEvidenceGatherer({
        config: { prometheusUrl, lokiUrl: loki.url, tempoUrl: tempo.url },
        // The external URL the test alerts' generatorURLs carry, as an operator would configure it.
        toilless: toillessConfig('prometheus:\n  externalUrls: [http://prometheus:9090]\n'),
        stackConfigDir: STACK_CONFIG_DIR,
        store,
        logger: silentLogger,
        slos: [],
      });
    }

    const high = (events: readonly TimelineEvent[]) =>
      events
        .filter((event) => event.relevance === 'high')
        .map((event) => [event.source, event.kind, event.summary]);

    it('builds the key events from all four sources', async () => {
      // Act
      const events = await gatherer()(evidenceRequest());

      // Assess
      expect(events.filter((event) => event.kind === 'source.unavailable')).toEqual([]);
      expect(high(events)).toHaveLength(5);
      expect(high(events)).toEqual(
        expect.arrayContaining([
          [
            'deployments',
            'deployment',
            'acme/sample-app c0ffee0 deployed to production 15 minutes before onset',
          ],
          [
            'prometheus',
            'metric',
            expect.stringMatching(/^FastBurnRate condition first true: 0\.1\d+ > 0\.144$/),
          ],
          ['loki', 'log.spike', 'Error logs spiked to 30/min (baseline 0/min): 297 errors in 10 min'],
          [
            'loki',
            'log.error',
            'Error log "POST /checkout <n> upstream payment-gateway timeout": 200 of the newest 200 error lines',
          ],
          [
            'tempo',
            'trace.error',
            'POST /checkout failed in payment-gateway (span payment-gateway charge, 2.2 s: deadline exceeded), 8 traces',
          ],
        ]),
      );
      expect(new Set(events.map((event) => event.source))).toEqual(
        new Set(['deployments', 'prometheus', 'loki', 'tempo']),
      );
    });

    it('turns a Prometheus that refuses queries into one event while the others contribute', async () => {
      const events = await gatherer()(evidenceRequest({ alerts: [alertWithExpression('rate(x[5m]')] }));

      const down = events.filter((event) => event.kind === 'source.unavailable');
      expect(down).toEqual([
        expect.objectContaining({
          source: 'prometheus',
          summary: expect.stringMatching(/^Prometheus partly unavailable: bad_data: .*parse error/),
        }),
      ]);
      expect(new Set(events.map((event) => event.source))).toEqual(
        new Set(['deployments', 'prometheus', 'loki', 'tempo']),
      );
    });
  });
});
