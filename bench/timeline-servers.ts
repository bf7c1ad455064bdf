/**
 * The servers of the timeline benchmark, in their own process so that their memory is not counted as
 * the timeline's: a Loki holding 1,000,000 lines of sample-app in the window, a Tempo holding 10,000
 * traces, and the real Prometheus with the service's request counters.
 *
 *   node --import tsx bench/timeline-servers.ts '{"from":"<iso>","onset":"<iso>","to":"<iso>"}'
 *
 * Prints one JSON line with the URLs once ready. Then each line `stats` on stdin is answered with a JSON
 * line of request counts, and `stop` (or the end of stdin) stops everything.
 */
import { createInterface } from 'node:readline';
import { RemoteWriteClient, type TimeSeries } from '../functions/shared/prometheus/remote-write.js';
import { startLokiServer } from '../test/support/loki-server.js';
import { startPrometheus } from '../test/support/prometheus.js';
import { startTempoServer, type TempoTraceInput } from '../test/support/tempo-server.js';

const LOG_LINES = 1_000_000;
const TRACES = 10_000;

const window = JSON.parse(process.argv[2] ?? '{}') as { from: string; onset: string; to: string };
const from = new Date(window.from);
const onset = new Date(window.onset);
const to = new Date(window.to);
const seconds = (to.getTime() - from.getTime()) / 1000;

const traces = checkoutTraces();
// The error lines carry the ids of the failing traces, as the sample app's do.
const failingIds = traces
  .filter((trace) => trace.spans.some((span) => span.status?.code === 'error'))
  .map((trace) => trace.traceId);

const loki = await startLokiServer({
  generator: {
    start: from,
    end: to,
    streams: [
      {
        labels: { service_name: 'sample-app' },
        linesPerSecond: LOG_LINES / seconds,
        errorRatio: 0.01,
        incident: { start: onset, end: to, errorRatio: 0.3 },
        errorTraceIds: failingIds,
      },
    ],
  },
});
const tempo = await startTempoServer({ traces });
const prometheus = await startPrometheus();
await new RemoteWriteClient({ url: prometheus.remoteWriteUrl }).write(requestCounters());

process.stdout.write(
  `${JSON.stringify({
    lokiUrl: loki.url,
    tempoUrl: tempo.url,
    prometheusUrl: prometheus.url,
    lokiLines: loki.lineCount(),
    tempoTraces: tempo.traceCount(),
  })}\n`,
);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await Promise.allSettled([loki.close(), tempo.close(), prometheus.stop()]);
  process.exit(0);
}

const commands = createInterface({ input: process.stdin });
commands.on('line', (line) => {
  if (line.trim() === 'stats') {
    process.stdout.write(
      `${JSON.stringify({ lokiRequests: loki.queryCount(), tempoRequests: tempo.requests.length })}\n`,
    );
  } else if (line.trim() === 'stop') {
    void stop();
  }
});
commands.on('close', () => void stop());
process.once('SIGTERM', () => void stop());

/** sample-app's request counters: 100/s, of which 30% fail from onset. */
function requestCounters(): TimeSeries[] {
  const ok: { value: number; timestampMs: number }[] = [];
  const failed: { value: number; timestampMs: number }[] = [];
  let okCount = 0;
  let failedCount = 0;
  for (let ms = from.getTime(); ms <= to.getTime(); ms += 15_000) {
    const failing = ms >= onset.getTime() ? 0.3 : 0.01;
    okCount += 1500 * (1 - failing);
    failedCount += 1500 * failing;
    ok.push({ value: okCount, timestampMs: ms });
    failed.push({ value: failedCount, timestampMs: ms });
  }
  return [
    { labels: { __name__: 'http_requests_total', service: 'sample-app', status_code: '200' }, samples: ok },
    {
      labels: { __name__: 'http_requests_total', service: 'sample-app', status_code: '500' },
      samples: failed,
    },
  ];
}

/**
 * TRACES traces spread evenly over the window, shaped like the sample app's: GET /products, or a failing
 * POST /checkout waiting on payment-gateway (1% before onset, 30% after). Every 8th id starts with zeros.
 */
function checkoutTraces(): TempoTraceInput[] {
  const list: TempoTraceInput[] = [];
  const spanMs = to.getTime() - from.getTime();
  for (let i = 0; i < TRACES; i++) {
    const start = new Date(from.getTime() + Math.floor((spanMs * i) / TRACES));
    const failing = mix(i, 1) / 4294967296 < (start >= onset ? 0.3 : 0.01);
    const traceId = `${i % 8 === 7 ? '000' : ''}${hexWords(i, 2, 4)}`.slice(0, 32);
    const rootId = hexWords(i, 3, 2);
    const attributes = failing
      ? { 'http.request.method': 'POST', 'http.route': '/checkout', 'http.response.status_code': 500 }
      : { 'http.request.method': 'GET', 'http.route': '/products', 'http.response.status_code': 200 };
    const root = {
      spanId: rootId,
      name: failing ? 'POST /checkout' : 'GET /products',
      service: 'sample-app',
      kind: 'server' as const,
      start,
      durationMs: failing ? 2300 + (mix(i, 4) % 81) : 8 + (mix(i, 4) % 33),
      status: failing
        ? { code: 'error' as const, message: 'upstream payment-gateway timeout' }
        : { code: 'ok' as const },
      attributes,
    };
    if (!failing) {
      list.push({ traceId, spans: [root] });
      continue;
    }
    list.push({
      traceId,
      spans: [
        root,
        {
          spanId: hexWords(i, 5, 2),
          parentSpanId: rootId,
          name: 'payment-gateway charge',
          service: 'payment-gateway',
          kind: 'server',
          start: new Date(start.getTime() + 50),
          durationMs: 2200,
          status: { code: 'error', message: 'deadline exceeded' },
          attributes: { 'rpc.method': 'Charge', 'payment.provider': 'acme' },
        },
      ],
    });
  }
  return list;
}

function hexWords(i: number, salt: number, words: number): string {
  let out = '';
  for (let w = 0; w < words; w++)
    out += mix(i, salt * 16 + w)
      .toString(16)
      .padStart(8, '0');
  return out;
}

/** A 32-bit hash of two integers (murmur3 finaliser). */
function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ b;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}
