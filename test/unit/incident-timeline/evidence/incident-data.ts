/**
 * The data behind the evidence tests, shaped like what was pushed to the real Loki 3.4 and Tempo 2.7
 * for test/fixtures/loki and test/fixtures/tempo: sample-app's checkout failing for 10 minutes from
 * 08:54:55 UTC because payment-gateway times out.
 */

import type { EvidenceRequest, IncidentAlert } from '../../../../functions/incident-timeline/model.js';
import { normaliseTraceId } from '../../../../functions/shared/clients/tempo.js';
import type { ToillessEvent } from '../../../../functions/shared/events/types.js';
import { parseToillessConfig, type ToillessConfig } from '../../../../functions/shared/stack-config.js';
import type { LokiEntryInput, LokiStreamInput } from '../../../support/loki-server.js';
import type { TempoTraceInput } from '../../../support/tempo-server.js';

export const WINDOW_START = new Date('2026-11-28T08:25:00Z');
export const WINDOW_END = new Date('2026-11-28T09:05:00Z');
export const ONSET = new Date('2026-11-28T08:55:00Z');
/** The first error line; one every 2 s from here, 300 in all (the last at 09:04:53). */
export const ERRORS_START = new Date('2026-11-28T08:54:55Z');

/** The error traces, one per minute of the error period; three start with 0 (Tempo's search strips them). */
export const ERROR_TRACE_IDS = [
  '000bfe540d18d2f80b5d8702fffdd1b4',
  '476d76e68531f8c73ce06a33bb479e9b',
  '416b0c9e9a90aa0242d72ebcf1ee0bce',
  '001b95fb9e8640dad2c131fd1fbd4880',
  '2fe87bcbf440f7f0d3aef073327075d2',
  '8317b9abe3bb9dea2dddbf7caf892b27',
  '22d281c84eea2f72c708a93265ad3908',
  '3f9fdef01efb7ece1829d60bf624fd92',
  '901883e556673e3ef83a07d3356b3f8c',
  '0f2d101d09097992c530e355f2374c22',
] as const;

export const OK_TRACE_IDS = [
  'f59945313596c31a891c29c5e63bb6eb',
  'bd8948e52f395b4ef7fa2440956d7104',
  '6530ff83fd2d27e9dfb2c6f83285b0f1',
  '34d398ecfb5968bde838ea9034b23637',
  'bd0b94bb8e7ca852c5db3571baae4b58',
] as const;

/**
 * The production deployment of sample-app (deployment 42 of acme/sample-app, commit c0ffee0) finished at
 * `finishedAt`: 08:40, a quarter of an hour before the onset, by default.
 */
export function sampleAppDeployment(
  id: string,
  finishedAt = '2026-11-28T08:40:00Z',
  services: readonly string[] = ['sample-app'],
): ToillessEvent<'DeploymentRecorded'> {
  return {
    id,
    type: 'DeploymentRecorded',
    time: finishedAt,
    detail: {
      repository: 'acme/sample-app',
      environment: 'production',
      deploymentId: '42',
      sha: 'c0ffee00112233445566778899aabbccddeeff00',
      status: 'success',
      production: true,
      finishedAt,
      services: [...services],
    },
  };
}

const at = (start: Date, offsetMs: number) => new Date(start.getTime() + offsetMs);

/** sample-app: 240 JSON info lines every 10 s over 40 minutes, 300 JSON error lines every 2 s over the last 10. */
export function sampleAppStream(): LokiStreamInput {
  const entries: LokiEntryInput[] = [];
  const infoStart = new Date('2026-11-28T08:24:55Z');
  for (let i = 0; i < 240; i++) {
    const traceId = i % 48 === 0 ? OK_TRACE_IDS[i / 48] : hex32(i);
    entries.push({
      ts: at(infoStart, i * 10_000),
      line: JSON.stringify({
        level: 'info',
        msg: 'GET /products 200',
        trace_id: traceId,
        duration_ms: 5 + (i % 36),
      }),
    });
  }
  for (let i = 0; i < 300; i++) {
    entries.push({
      ts: at(ERRORS_START, i * 2_000),
      line: JSON.stringify({
        level: 'error',
        msg: 'POST /checkout 500 upstream payment-gateway timeout',
        trace_id: ERROR_TRACE_IDS[Math.floor(i / 30)],
      }),
    });
  }
  return { labels: { service_name: 'sample-app' }, entries };
}

/** payments: logfmt, 40 error lines every 15 s over the error period, with span ids. */
export function paymentsStream(): LokiStreamInput {
  const entries: LokiEntryInput[] = [];
  for (let i = 0; i < 40; i++) {
    entries.push({
      ts: at(ERRORS_START, i * 15_000),
      line: `level=error msg="charge failed: upstream timeout after 2200ms" provider=acme trace_id=${ERROR_TRACE_IDS[Math.floor(i / 4)]} span_id=${hex32(i).slice(0, 16)} duration_ms=2200`,
    });
  }
  return { labels: { service_name: 'payments' }, entries };
}

/** checkout: OTLP records, the trace id in structured metadata only (not in the line). */
export function checkoutStream(): LokiStreamInput {
  const entries: LokiEntryInput[] = [];
  for (let i = 0; i < 20; i++) {
    const error = i % 4 !== 3;
    entries.push({
      ts: at(ERRORS_START, i * 30_000),
      line: error ? 'checkout failed: payment-gateway timeout' : 'retrying charge with backup provider',
      metadata: {
        trace_id: ERROR_TRACE_IDS[Math.floor(i / 2)] ?? '',
        severity_number: error ? '17' : '9',
        severity_text: error ? 'ERROR' : 'INFO',
      },
    });
  }
  return { labels: { service_name: 'checkout', deployment_environment: 'demo' }, entries };
}

/** The 10 failing checkouts (root 2.30 to 2.37 s, payment-gateway child 2.2 s) and 5 fast product pages. */
export function incidentTraces(): TempoTraceInput[] {
  const failing = ERROR_TRACE_IDS.map((traceId, i): TempoTraceInput => {
    const start = at(ERRORS_START, i * 60_000 + 5_000);
    const rootId = hex32(100 + i).slice(0, 16);
    return {
      traceId,
      spans: [
        {
          spanId: rootId,
          name: 'POST /checkout',
          service: 'sample-app',
          resource: { 'deployment.environment': 'demo' },
          scope: { name: 'sample-app.http' },
          kind: 'server',
          start,
          durationMs: 2300 + i * 8,
          status: { code: 'error', message: 'upstream payment-gateway timeout' },
          attributes: {
            'http.request.method': 'POST',
            'http.route': '/checkout',
            'http.response.status_code': 500,
          },
        },
        {
          spanId: hex32(200 + i).slice(0, 16),
          parentSpanId: rootId,
          name: 'payment-gateway charge',
          service: 'payment-gateway',
          kind: 'server',
          start: at(start, 50),
          durationMs: 2200,
          status: { code: 'error', message: 'deadline exceeded' },
          attributes: { 'rpc.method': 'Charge', 'payment.provider': 'acme' },
        },
      ],
    };
  });
  const fast = OK_TRACE_IDS.map(
    (traceId, i): TempoTraceInput => ({
      traceId,
      spans: [
        {
          spanId: hex32(300 + i).slice(0, 16),
          name: 'GET /products',
          service: 'sample-app',
          kind: 'server',
          start: at(new Date('2026-11-28T08:56:00Z'), i * 60_000),
          durationMs: 8 + i * 8,
          status: { code: 'ok' },
          attributes: {
            'http.request.method': 'GET',
            'http.route': '/products',
            'http.response.status_code': 200,
          },
        },
      ],
    }),
  );
  return [...failing, ...fast];
}

export function fastBurnAlert(overrides: Partial<IncidentAlert> = {}): IncidentAlert {
  return {
    fingerprint: 'b3f4b4334fc7f969',
    alertname: 'FastBurnRate',
    status: 'firing',
    severity: 'critical',
    labels: { alertname: 'FastBurnRate', service: 'sample-app', severity: 'critical', slo: 'availability' },
    annotations: { summary: 'sample-app is burning its error budget 20x too fast' },
    startsAt: '2026-11-28T08:56:15Z',
    generatorURL:
      'http://prometheus:9090/graph?g0.expr=sum%28rate%28http_requests_total%7Bservice%3D%22sample-app%22%2Cstatus_code%3D~%225..%22%7D%5B5m%5D%29%29+%2F+sum%28rate%28http_requests_total%7Bservice%3D%22sample-app%22%7D%5B5m%5D%29%29+%3E+0.144&g0.tab=1',
    ...overrides,
  };
}

export function evidenceRequest(overrides: Partial<EvidenceRequest> = {}): EvidenceRequest {
  return {
    incidentId: 'inc-test',
    service: 'sample-app',
    alerts: [fastBurnAlert()],
    onset: ONSET,
    from: WINDOW_START,
    to: WINDOW_END,
    signal: new AbortController().signal,
    ...overrides,
  };
}

export function toillessConfig(extra = ''): ToillessConfig {
  return parseToillessConfig(`links:\n  grafanaUrl: https://grafana.example.com\n${extra}`);
}

/** The same id Tempo writes inside trace bodies: standard base64 of the 16 bytes. */
export function base64TraceId(hex: string): string {
  return Buffer.from(normaliseTraceId(hex), 'hex').toString('base64');
}

/** 32 hex digits derived from n: ids that look real and do not collide with the fixture's. */
export function hex32(n: number): string {
  let h = (n + 1) * 0x9e3779b1;
  let out = '';
  for (let i = 0; i < 4; i++) {
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return out;
}
