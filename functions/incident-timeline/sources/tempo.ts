/**
 * Tempo evidence: the traces the error logs point at, plus two TraceQL searches over the window (error
 * spans of the service, spans slower than its latency objective), summarised as what failed where and
 * what was slow. Every search carries start and end: without them Tempo searches only recent data.
 *
 * Searches return only the matched spans, without names; the traces worth naming (the oldest error
 * result, the slowest slow one) are fetched by id, through one cache shared with the log trace ids.
 */
import {
  failingEndpoint,
  normaliseTraceId,
  slowestSpan,
  type TempoClient,
  type Trace,
  type TraceSpan,
  type TraceSummary,
} from '../../shared/clients/tempo.js';
import type { EvidenceRequest, TimelineEvent, TimelineLink } from '../model.js';
import { exploreTraceSearchUrl, exploreTraceUrl } from './explore-links.js';
import type { SourceFindings } from './findings.js';
import { queryWindow, shortHash } from './query-window.js';

export interface TempoEvidenceOptions {
  readonly client: TempoClient;
  /** toilless.yaml links.grafanaUrl, for Explore links. */
  readonly grafanaUrl: string;
  /** Spans slower than this are slow: the service's latency objective. */
  readonly latencyThresholdMs: number;
  /** Where the threshold comes from, shown with it, e.g. "latency SLO" or "default". */
  readonly latencyThresholdSource: string;
  /** Trace ids from the error logs; resolves (to an empty list at worst) once Loki's sample is in. */
  readonly traceIds: Promise<readonly string[]>;
  /** Traces fetched by id from the logs' ids at most. @default 10 */
  readonly maxTraces?: number;
  /** Search `limit`. @default 20 */
  readonly searchLimit?: number;
  /** Search `spss` (matched spans per span set). @default 3 */
  readonly spansPerSpanSet?: number;
}

/** What went wrong in a trace: the endpoint users saw fail and the failing span the failure came from. */
export interface TraceFailure {
  readonly endpoint: string;
  readonly endpointService: string;
  readonly httpStatusCode?: number;
  /** The deepest failing span: no failing span below it. */
  readonly origin: TraceSpan;
}

export function errorSearchQuery(service: string): string {
  return `{ resource.service.name = ${JSON.stringify(service)} && status = error }`;
}

export function slowSearchQuery(service: string, thresholdMs: number): string {
  return `{ resource.service.name = ${JSON.stringify(service)} && duration > ${durationLiteral(thresholdMs)} }`;
}

/** A TraceQL duration: whole milliseconds as `500ms`, anything finer in microseconds. */
export function durationLiteral(ms: number): string {
  return Number.isInteger(ms) ? `${ms}ms` : `${Math.round(ms * 1000)}us`;
}

/** The failure a trace shows, or undefined when no span failed. */
export function traceFailure(trace: Trace): TraceFailure | undefined {
  const endpoint = failingEndpoint(trace);
  if (endpoint === undefined) return undefined;
  const failing = trace.spans.filter((span) => span.statusCode === 'error');
  const byId = new Map(trace.spans.map((span) => [span.spanId, span]));
  const depth = (span: TraceSpan): number => {
    let level = 0;
    const seen = new Set<string>();
    for (let parent = span.parentSpanId; parent !== undefined && !seen.has(parent); level++) {
      seen.add(parent);
      parent = byId.get(parent)?.parentSpanId;
    }
    return level;
  };
  const origin =
    [...failing].sort((a, b) => depth(b) - depth(a) || a.start.getTime() - b.start.getTime())[0] ??
    endpoint.span;
  return {
    endpoint: endpoint.endpoint,
    endpointService: endpoint.service,
    ...(endpoint.httpStatusCode !== undefined ? { httpStatusCode: endpoint.httpStatusCode } : {}),
    origin,
  };
}

/** "POST /checkout failed in payments (span charge-card, 2.3 s: deadline exceeded)" */
export function describeFailure(failure: TraceFailure): string {
  const { origin } = failure;
  const message = origin.statusMessage ? `: ${origin.statusMessage}` : '';
  return `${failure.endpoint} failed in ${origin.service || failure.endpointService} (span ${origin.name}, ${formatDuration(origin.durationMs)}${message})`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

/** Fetches the log traces and runs both searches side by side; events are built from what arrived. */
export async function gatherTempoEvidence(
  request: EvidenceRequest,
  signal: AbortSignal,
  findings: SourceFindings,
  options: TempoEvidenceOptions,
): Promise<void> {
  const { from, to } = queryWindow(request);
  const limit = options.searchLimit ?? 20;
  const spss = options.spansPerSpanSet ?? 3;
  const requested = new Map<string, Promise<Trace | undefined>>();
  const traces = new Map<string, Trace>();
  const missing = new Set<string>();
  const fetchTrace = (id: string): Promise<Trace | undefined> => {
    let pending = requested.get(id);
    if (pending === undefined) {
      pending = options.client.trace(id, { start: from, end: to, signal });
      requested.set(id, pending);
      pending.then(
        (trace) => (trace ? traces.set(id, trace) : missing.add(id)),
        () => undefined,
      );
    }
    return pending;
  };
  let logTraceIds: readonly string[] = [];
  let errorResults: readonly TraceSummary[] | undefined;
  let slowResults: readonly TraceSummary[] | undefined;
  const errorQuery = errorSearchQuery(request.service);
  const slowQuery = slowSearchQuery(request.service, options.latencyThresholdMs);

  findings.summarise(() => [
    ...failureEvents(request, options, [...traces.values()], logTraceIds),
    ...errorSearchEvents(request, options, errorQuery, errorResults, limit),
    ...slowSearchEvents(request, options, slowQuery, slowResults, traces, limit),
  ]);

  await Promise.all([
    findings.part(async () => {
      logTraceIds = distinctTraceIds(await options.traceIds).slice(0, options.maxTraces ?? 10);
      const settled = await Promise.allSettled(logTraceIds.map(fetchTrace));
      for (const outcome of settled) if (outcome.status === 'rejected') findings.fail(outcome.reason);
      return [];
    }),
    findings.part(async () => {
      errorResults = await options.client.search(errorQuery, { start: from, end: to, limit, spss, signal });
      const oldest = [...errorResults].sort((a, b) => a.start.getTime() - b.start.getTime())[0];
      if (oldest) await fetchTrace(oldest.traceId);
      return [];
    }),
    findings.part(async () => {
      slowResults = await options.client.search(slowQuery, { start: from, end: to, limit, spss, signal });
      const slowest = [...slowResults].sort((a, b) => b.durationMs - a.durationMs)[0];
      if (slowest) await fetchTrace(slowest.traceId);
      return [];
    }),
  ]);
}

function failureEvents(
  request: EvidenceRequest,
  options: TempoEvidenceOptions,
  traces: readonly Trace[],
  logTraceIds: readonly string[],
): TimelineEvent[] {
  const { from, to } = queryWindow(request);
  const groups = new Map<string, { failure: TraceFailure; traces: Trace[] }>();
  for (const trace of traces) {
    const failure = traceFailure(trace);
    if (failure === undefined) continue;
    const signature = [
      failure.endpointService,
      failure.endpoint,
      failure.origin.service,
      failure.origin.name,
    ].join('\u0000');
    const group = groups.get(signature) ?? { failure, traces: [] };
    group.traces.push(trace);
    groups.set(signature, group);
  }
  const ranked = [...groups]
    .map(([signature, group]) => ({ signature, ...group, start: Math.min(...group.traces.map(traceStart)) }))
    .sort((a, b) => b.traces.length - a.traces.length || a.start - b.start);
  return ranked.map(({ signature, failure, traces: members, start }, index) => {
    const ordered = [...members].sort((a, b) => traceStart(a) - traceStart(b));
    const fromLogs = ordered.filter((trace) => logTraceIds.includes(trace.traceId)).length;
    return {
      at: new Date(start).toISOString(),
      kind: 'trace.error',
      source: 'tempo',
      summary: `${describeFailure(failure)}, ${members.length} trace${members.length === 1 ? '' : 's'}`,
      relevance: index === 0 ? 'high' : 'normal',
      links: ordered.slice(0, 3).map((trace) => traceLink(options.grafanaUrl, trace.traceId, from, to)),
      details: {
        key: `tempo:error:${request.service}:${shortHash(signature)}`,
        endpoint: failure.endpoint,
        endpointService: failure.endpointService,
        ...(failure.httpStatusCode !== undefined ? { httpStatusCode: failure.httpStatusCode } : {}),
        span: failure.origin.name,
        spanService: failure.origin.service,
        spanDurationMs: failure.origin.durationMs,
        ...(failure.origin.statusMessage ? { statusMessage: failure.origin.statusMessage } : {}),
        traceIds: ordered.map((trace) => trace.traceId),
        fromLogs,
      },
    } satisfies TimelineEvent;
  });
}

function errorSearchEvents(
  request: EvidenceRequest,
  options: TempoEvidenceOptions,
  query: string,
  results: readonly TraceSummary[] | undefined,
  limit: number,
): TimelineEvent[] {
  if (results === undefined || results.length === 0) return [];
  const { from, to } = queryWindow(request);
  const count = `${results.length}${results.length >= limit ? '+' : ''}`;
  const first = Math.min(...results.map((result) => result.start.getTime()));
  return [
    {
      at: new Date(first).toISOString(),
      kind: 'trace.error',
      source: 'tempo',
      summary: `${count} traces of ${request.service} with error spans (TraceQL search)`,
      relevance: 'normal',
      links: [
        {
          title: 'Error traces in Grafana Explore',
          url: exploreTraceSearchUrl(options.grafanaUrl, query, from, to),
        },
      ],
      details: {
        key: `tempo:error-search:${request.service}`,
        query,
        found: results.length,
        limit,
        traceIds: results.map((result) => result.traceId),
      },
    },
  ];
}

function slowSearchEvents(
  request: EvidenceRequest,
  options: TempoEvidenceOptions,
  query: string,
  results: readonly TraceSummary[] | undefined,
  traces: ReadonlyMap<string, Trace>,
  limit: number,
): TimelineEvent[] {
  if (results === undefined || results.length === 0) return [];
  const { from, to } = queryWindow(request);
  const slowest = [...results].sort((a, b) => b.durationMs - a.durationMs)[0];
  if (slowest === undefined) return [];
  const count = `${results.length}${results.length >= limit ? '+' : ''}`;
  const threshold = `${formatDuration(options.latencyThresholdMs)} (${options.latencyThresholdSource})`;
  const trace = traces.get(slowest.traceId);
  const self = trace ? slowestSpan(trace) : undefined;
  const failure = trace ? traceFailure(trace) : undefined;
  const name = slowest.rootTraceName ?? trace?.spans.find((span) => span.parentSpanId === undefined)?.name;
  const parts = [
    `${count} traces of ${request.service} slower than ${threshold}; slowest ${formatDuration(slowest.durationMs)}${name ? ` (${name})` : ''}`,
    ...(self
      ? [`most time in span ${self.span.name} of ${self.span.service} (${formatDuration(self.selfTimeMs)})`]
      : []),
    ...(failure ? [describeFailure(failure)] : []),
  ];
  const first = Math.min(...results.map((result) => result.start.getTime()));
  const links: TimelineLink[] = [
    traceLink(options.grafanaUrl, slowest.traceId, from, to, 'Slowest trace'),
    {
      title: 'Slow traces in Grafana Explore',
      url: exploreTraceSearchUrl(options.grafanaUrl, query, from, to),
    },
  ];
  return [
    {
      at: new Date(first).toISOString(),
      kind: 'trace.slow',
      source: 'tempo',
      summary: parts.join('; '),
      relevance: 'normal',
      links,
      details: {
        key: `tempo:slow:${request.service}`,
        query,
        thresholdMs: options.latencyThresholdMs,
        thresholdSource: options.latencyThresholdSource,
        found: results.length,
        limit,
        slowestTraceId: slowest.traceId,
        slowestDurationMs: slowest.durationMs,
        ...(self
          ? {
              slowestSpan: self.span.name,
              slowestSpanService: self.span.service,
              slowestSpanSelfMs: self.selfTimeMs,
            }
          : {}),
        ...(failure ? { failingEndpoint: failure.endpoint } : {}),
      },
    },
  ];
}

/** Ids as 32 lower-case hex digits (logs may spell them in base64 or without leading zeros), each once. */
function distinctTraceIds(ids: readonly string[]): string[] {
  const distinct = new Set<string>();
  for (const id of ids) {
    try {
      distinct.add(normaliseTraceId(id));
    } catch {
      // Not a trace id after all (a log field that looked like one): nothing to fetch.
    }
  }
  return [...distinct];
}

function traceLink(grafanaUrl: string, traceId: string, from: Date, to: Date, title?: string): TimelineLink {
  return { title: title ?? `Trace ${traceId}`, url: exploreTraceUrl(grafanaUrl, traceId, from, to) };
}

function traceStart(trace: Trace): number {
  return Math.min(...trace.spans.map((span) => span.start.getTime()));
}
