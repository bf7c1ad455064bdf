/**
 * One server of the timeline benchmark, in a process of its own: its memory is not counted as the
 * timeline's, and Loki, Tempo and Prometheus answer in parallel as the real services do.
 *
 *   node --import tsx bench/timeline-servers.ts loki|tempo|prometheus '{"from":"<iso>","onset":"<iso>","to":"<iso>"}'
 *
 * - loki: 1,000,000 lines of sample-app in the window; error lines carry the failing traces' ids.
 * - tempo: 10,000 traces of sample-app over the window.
 * - prometheus: the real one, holding sample-app's request counters.
 *
 * Prints one JSON line `{url, held}` once ready. Then each line `stats` on stdin is answered with a JSON
 * line `{requests}` (query requests so far), and `stop` (or the end of stdin) stops the server.
 */
import { createInterface } from 'node:readline';
import { RemoteWriteClient, type TimeSeries } from '../functions/shared/prometheus/remote-write.js';
import { startLokiServer } from '../test/support/loki-server.js';
import { startPrometheus } from '../test/support/prometheus.js';
import { startTempoServer, type TempoTraceInput } from '../test/support/tempo-server.js';

const LOG_LINES = 1_000_000;
const TRACES = 10_000;

interface RunningServer {
  readonly url: string;
  readonly held: number;
  requests(): number;
  close(): Promise<void>;
}

const kind = process.argv[2];
const window = JSON.parse(process.argv[3] ?? '{}') as { from: string; onset: string; to: string };
const from = new Date(window.from);
const onset = new Date(window.onset);
const to = new Date(window.to);

const server = await start();
process.stdout.write(`${JSON.stringify({ url: server.url, held: server.held })}\n`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await server.close().catch(() => undefined);
  process.exit(0);
}

const commands = createInterface({ input: process.stdin });
commands.on('line', (line) => {
  if (line.trim() === 'stats') process.stdout.write(`${JSON.stringify({ requests: server.requests() })}\n`);
  else if (line.trim() === 'stop') void stop();
});
commands.on('close', () => void stop());
process.once('SIGTERM', () => void stop());

async function start(): Promise<RunningServer> {
  if (kind === 'loki') {
    // The error lines carry the ids of the failing traces, as the sample app's do.
    const failingIds = checkoutTraces()
      .filter((trace) => trace.spans.some((span) => span.status?.code === 'error'))
      .map((trace) => trace.traceId);
    const loki = await startLokiServer({
      generator: {
        start: from,
        end: to,
        streams: [
          {
            labels: { service_name: 'sample-app' },
            linesPerSecond: LOG_LINES / ((to.getTime() - from.getTime()) / 1000),
            errorRatio: 0.01,
            incident: { start: onset, end: to, errorRatio: 0.3 },
            errorTraceIds: failingIds,
          },
        ],
      },
    });
    return {
      url: loki.url,
      held: loki.lineCount(),
      requests: () => loki.queryCount(),
      close: () => loki.close(),
    };
  }
  if (kind === 'tempo') {
    const tempo = await startTempoServer({ traces: checkoutTraces() });
    return {
      url: tempo.url,
      held: tempo.traceCount(),
      requests: () => tempo.requests.length,
      close: () => tempo.close(),
    };
  }
  if (kind === 'prometheus') {
    const prometheus = await startPrometheus();
    const counters = requestCounters();
    await new RemoteWriteClient({ url: prometheus.remoteWriteUrl }).write(counters);
    return {
      url: prometheus.url,
      held: counters.reduce((sum, series) => sum + series.samples.length, 0),
      requests: () => 0,
      close: () => prometheus.stop(),
    };
  }
  throw new Error(`unknown server "${kind}": use loki, tempo or prometheus`);
}

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
