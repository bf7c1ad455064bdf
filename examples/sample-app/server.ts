/**
 * The HTTP edge: every routed request gets a server span (continuing a caller's traceparent), a count
 * and duration in the metrics, and one JSON log line that carries the span's trace_id and span_id.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { SampleAppConfig } from './config.js';
import { createRequestMetrics } from './metrics.js';
import { QueryParameterError } from './parameters.js';
import { burnCpu, ROUTES, type RouteEffects, type RouteResult } from './routes.js';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);

/** The route label: a known path, or one value for all others so a scan cannot grow the series. */
export function routeLabel(pathname: string): string {
  return Object.hasOwn(ROUTES, pathname) ? pathname : 'unmatched';
}

export function createSampleAppServer(config: SampleAppConfig, logger: Logger): Server {
  const metrics = createRequestMetrics();
  const tracer = trace.getTracer('sample-app');
  const effects: RouteEffects = { config, tracer, random: Math.random, sleep: (ms) => sleep(ms), burnCpu };

  const answer = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://sample-app');
    if (url.pathname === '/metrics' || url.pathname === '/healthz') {
      // Scrapes and probes are not traffic: counting them would dilute the SLIs.
      if (url.pathname === '/metrics') {
        send(response, 200, await metrics.registry.metrics(), metrics.registry.contentType);
      } else {
        send(response, 200, JSON.stringify({ status: 'ok' }), 'application/json');
      }
      return;
    }

    const started = performance.now();
    const method = METHODS.has(request.method ?? '') ? (request.method as string) : 'OTHER';
    const route = routeLabel(url.pathname);
    const parent = propagation.extract(context.active(), request.headers);
    await tracer.startActiveSpan(
      `${method} ${route}`,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': method, 'http.route': route, 'url.path': route },
      },
      parent,
      async (span) => {
        let result: RouteResult;
        try {
          result = await routeResult(method, route, url.searchParams, effects);
        } catch (error) {
          span.recordException(error as Error);
          logger.error({ err: error, route }, 'request failed');
          result = { status: 500, body: { error: 'internal error' } };
        }
        send(response, result.status, JSON.stringify(result.body), 'application/json');
        const durationSeconds = (performance.now() - started) / 1000;
        metrics.observe(
          { method, route, status_code: String(result.status) },
          durationSeconds,
          span.spanContext().traceId,
        );
        span.setAttribute('http.response.status_code', result.status);
        if (result.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        const line = {
          method,
          route,
          status_code: result.status,
          duration_ms: Math.round(durationSeconds * 1000),
        };
        if (result.status >= 500) logger.error(line, 'request failed');
        else if (result.status >= 400) logger.warn(line, 'request refused');
        else logger.info(line, 'request served');
        span.end();
      },
    );
  };

  return createServer((request, response) => {
    answer(request, response).catch((error: unknown) => {
      logger.error({ err: error }, 'could not answer a request');
      if (!response.headersSent)
        send(response, 500, JSON.stringify({ error: 'internal error' }), 'application/json');
    });
  });
}

async function routeResult(
  method: string,
  route: string,
  query: URLSearchParams,
  effects: RouteEffects,
): Promise<RouteResult> {
  const handler = ROUTES[route];
  if (handler === undefined)
    return { status: 404, body: { error: `no such route; try one of ${Object.keys(ROUTES).join(', ')}` } };
  if (method !== 'GET' && method !== 'HEAD') {
    return { status: 405, body: { error: `${route} answers GET only` } };
  }
  try {
    return await handler(query, effects);
  } catch (error) {
    if (error instanceof QueryParameterError) return { status: 400, body: { error: error.message } };
    throw error;
  }
}

function send(response: ServerResponse, status: number, body: string, contentType: string): void {
  response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  response.end(body);
}
