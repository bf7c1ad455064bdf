/**
 * A stand-in for an evidence source (Prometheus, Loki or Tempo) that answers every query with an empty
 * result after a delay, and counts the requests it has in flight: what an alert-storm test needs to see
 * whether toilless keeps within incidents.concurrency.
 *
 *   const loki = await startCountingSourceServer('loki', { delayMs: 20 });
 *   loki.url; loki.peakInFlight; loki.requests; await loki.close();
 */
import { createServer } from 'node:http';
import { closeServer, listenOnLoopback } from './http-test-server.js';

export type CountedSource = 'prometheus' | 'loki' | 'tempo';

export interface CountingSourceServer {
  readonly url: string;
  /** Requests answered or under way. */
  readonly requests: number;
  /** The most requests that were in flight at once. */
  readonly peakInFlight: number;
  /** Requests the client gave up on before the answer (their end reaches this server late). */
  readonly abandoned: number;
  close(): Promise<void>;
}

export async function startCountingSourceServer(
  source: CountedSource,
  options: { readonly delayMs?: number } = {},
): Promise<CountingSourceServer> {
  const delayMs = options.delayMs ?? 20;
  let inFlight = 0;
  let peak = 0;
  let requests = 0;
  let abandoned = 0;
  const server = createServer((request, response) => {
    inFlight += 1;
    requests += 1;
    peak = Math.max(peak, inFlight);
    request.resume();
    const timer = setTimeout(() => {
      inFlight -= 1;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(emptyAnswer(source, new URL(request.url ?? '/', 'http://localhost'))));
    }, delayMs);
    response.once('close', () => {
      if (!response.writableEnded) {
        abandoned += 1;
        clearTimeout(timer);
        inFlight -= 1;
      }
    });
  });
  const url = await listenOnLoopback(server);
  return {
    url,
    get requests() {
      return requests;
    },
    get peakInFlight() {
      return peak;
    },
    get abandoned() {
      return abandoned;
    },
    close: () => closeServer(server),
  };
}

/** An empty answer of the shape the source's API gives for the path and query. */
function emptyAnswer(source: CountedSource, url: URL): unknown {
  if (source === 'tempo') return url.pathname.includes('/traces/') ? { batches: [] } : { traces: [] };
  const query = url.searchParams.get('query') ?? '';
  const logQuery = source === 'loki' && !query.includes('_over_time') && !query.includes('rate(');
  const resultType = logQuery ? 'streams' : url.pathname.endsWith('query_range') ? 'matrix' : 'vector';
  if (url.pathname.endsWith('/rules')) return { status: 'success', data: { groups: [] } };
  return { status: 'success', data: { resultType, result: [] } };
}
