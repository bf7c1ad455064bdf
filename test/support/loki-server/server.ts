/** startLokiServer: the HTTP routes and answers (query_range, query, labels, label values, buildinfo). */
import type { IncomingMessage } from 'node:http';
import { type Reply, startQueryServer } from '../http-test-server.js';
import { BadRequest } from './bad-request.js';
import { evaluateMetric, formatSample, presentSteps, runLogQuery } from './evaluator.js';
import { ceilDiv, floorDiv } from './labels.js';
import { type Limits, MAX_POINTS, MS } from './limits.js';
import { LogStore } from './log-store.js';
import { parseDirection, parseLimit, parseRange, parseStep, parseTime } from './parameters.js';
import { parseLogQL } from './parser.js';
import { type QueryStats, statsBody } from './stats.js';
import type { LokiServer, LokiServerOptions } from './types.js';

export const JSON_TYPE = 'application/json; charset=UTF-8';
export const TEXT_TYPE = 'text/plain; charset=utf-8';
export const CATEGORIZE_LABELS = 'categorize-labels';

export async function startLokiServer(options: LokiServerOptions = {}): Promise<LokiServer> {
  const store = new LogStore();
  if (options.streams) store.push(options.streams);
  if (options.generator) store.addGenerator(options.generator);
  const limits = {
    maxEntries: options.maxEntriesLimitPerQuery ?? 5000,
    maxSeries: options.maxQuerySeries ?? 500,
  };

  async function route(req: IncomingMessage, url: URL, params: Record<string, string>): Promise<Reply> {
    const path = url.pathname;
    if (path === '/ready') return text(200, 'ready\n');
    if (!path.startsWith('/loki/api/v1/')) return text(404, '404 page not found\n');
    if (req.method !== 'GET') return text(405, 'method not allowed\n');
    if (path === '/loki/api/v1/status/buildinfo') return json(200, BUILD_INFO);

    const orgId = header(req, 'x-scope-orgid');
    if (options.tenant !== undefined && orgId === undefined) return text(401, 'no org id\n');
    const visible = options.tenant === undefined || orgId === options.tenant ? store : new LogStore();
    const categorize = (header(req, 'x-loki-response-encoding-flags') ?? '')
      .split(',')
      .includes(CATEGORIZE_LABELS);
    try {
      if (path === '/loki/api/v1/query_range')
        return json(200, queryRange(visible, params, categorize, limits));
      if (path === '/loki/api/v1/query') return json(200, queryInstant(visible, params, limits));
      if (path === '/loki/api/v1/labels') return json(200, labelNames(visible, params));
      const values = /^\/loki\/api\/v1\/label\/([^/]+)\/values$/.exec(path);
      if (values?.[1]) return json(200, labelValues(visible, decodeURIComponent(values[1]), params));
      return text(404, '404 page not found\n');
    } catch (error) {
      if (error instanceof BadRequest) return text(400, error.message);
      throw error;
    }
  }

  const server = await startQueryServer({ route, latencyMs: options.latencyMs ?? 0 });

  return {
    ...server,
    queryCount: () =>
      server.requests.filter((r) => r.path === '/loki/api/v1/query_range' || r.path === '/loki/api/v1/query')
        .length,
    push: (streams) => store.push(streams),
    lineCount: () => store.lineCount(),
  };
}

export function text(status: number, body: string): Reply {
  return { status, type: TEXT_TYPE, body };
}

export function json(status: number, body: unknown): Reply {
  return { status, type: JSON_TYPE, body: JSON.stringify(body) };
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export const BUILD_INFO = {
  version: 'v3.4.6',
  revision: '2b7b94ff',
  branch: 'HEAD',
  buildUser: '',
  buildDate: '',
  goVersion: '',
};

export function queryRange(
  store: LogStore,
  params: Record<string, string>,
  categorize: boolean,
  limits: Limits,
) {
  const started = performance.now();
  const limit = parseLimit(params['limit'], limits);
  const { start, end } = parseRange(params);
  if (end <= start) throw new BadRequest('end timestamp must not be before or equal to start time');
  const direction = parseDirection(params['direction']);
  const query = parseLogQL(params['query'] ?? '');
  if (query.kind === 'log') {
    const result = runLogQuery(store, query.selector, { start, end, limit, direction, categorize });
    return success('streams', result.streams, result.stats, started, categorize);
  }
  const stepNs = parseStep(params['step'], start, end);
  // The query-frontend aligns start down and end up to a multiple of the step (milliseconds).
  const stepMs = stepNs / MS;
  const firstMs = floorDiv(start / MS, stepMs) * stepMs;
  const lastMs = ceilDiv(end / MS, stepMs) * stepMs;
  if ((end - start) / stepNs > BigInt(MAX_POINTS)) {
    throw new BadRequest(
      'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
    );
  }
  const points = { firstNs: firstMs * MS, stepNs, count: Number((lastMs - firstMs) / stepMs) + 1 };
  const { series, stats } = evaluateMetric(store, query.expr, points, limits);
  const result = series.map((s) => ({
    metric: s.labels,
    values: presentSteps(s.values).map((k) => [
      Number(firstMs + BigInt(k) * stepMs) / 1000,
      formatSample(s.values[k] ?? 0),
    ]),
  }));
  return success('matrix', result, stats, started, false);
}

export function queryInstant(store: LogStore, params: Record<string, string>, limits: Limits) {
  const started = performance.now();
  parseLimit(params['limit'], limits);
  parseDirection(params['direction']);
  const at = params['time'] ? parseTime(params['time'], 'time') : BigInt(Date.now()) * MS;
  const atMs = at / MS;
  const query = parseLogQL(params['query'] ?? '');
  if (query.kind === 'log') {
    throw new BadRequest(
      'log queries are not supported as an instant query type, please change your query to a range query type',
    );
  }
  const { series, stats } = evaluateMetric(
    store,
    query.expr,
    { firstNs: atMs * MS, stepNs: MS, count: 1 },
    limits,
  );
  const result = series
    .filter((s) => (s.values[0] ?? 0) !== 0)
    .map((s) => ({ metric: s.labels, value: [Number(atMs) / 1000, formatSample(s.values[0] ?? 0)] }));
  return success('vector', result, stats, started, false);
}

export function labelNames(store: LogStore, params: Record<string, string>) {
  const { start, end } = parseRange(params);
  const names = new Set<string>();
  for (const source of store.sourcesIn(start, end))
    for (const name of Object.keys(source.labels)) names.add(name);
  return { status: 'success', data: [...names].sort() };
}

export function labelValues(store: LogStore, name: string, params: Record<string, string>) {
  const { start, end } = parseRange(params);
  const values = new Set<string>();
  for (const source of store.sourcesIn(start, end)) {
    const value = source.labels[name];
    if (value !== undefined) values.add(value);
  }
  // Loki leaves `data` out entirely for a name that is no index label (e.g. detected_level).
  return values.size === 0 ? { status: 'success' } : { status: 'success', data: [...values].sort() };
}

export function success(
  resultType: string,
  result: unknown,
  stats: QueryStats,
  startedMs: number,
  categorize: boolean,
): unknown {
  return {
    status: 'success',
    data: {
      resultType,
      ...(categorize ? { encodingFlags: [CATEGORIZE_LABELS] } : {}),
      result,
      stats: statsBody(stats, (performance.now() - startedMs) / 1000),
    },
  };
}
