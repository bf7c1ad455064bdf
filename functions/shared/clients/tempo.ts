/**
 * A Tempo (2.x) client for what an incident timeline needs: fetch a trace by id, search with TraceQL,
 * and pick the spans worth showing (the failing endpoint, the slowest span).
 *
 * Trace ids come in three spellings and all are normalised to lower-case 32-hex: hex from logs,
 * hex with the leading zeros stripped from search results, and base64 of the raw bytes inside trace
 * bodies. Trace-by-id uses the v2 endpoint: it says when a trace was cut short (`status: PARTIAL`,
 * too large to return whole) where v1 silently returns what fits; on a Tempo without v2 (a 404, since
 * v2 answers an unknown id with 200 and an empty trace) the client falls back to v1 for good.
 */
import * as z from 'zod';
import { UpstreamError, ValidationError } from '../errors.js';
import { TenantJsonApi } from './http-json.js';

export interface TempoClientOptions {
  /** Tempo's base URL (TEMPO_URL), e.g. http://tempo:3200. */
  readonly baseUrl: string;
  /** Tenant sent as X-Scope-OrgID when Tempo runs multi-tenant. @default none */
  readonly tenant?: string;
  /** Time limit per HTTP request in milliseconds. @default 10000 */
  readonly timeoutMs?: number;
  /** The fetch to use. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** A larger answer is an UpstreamError. @default 10 MiB */
  readonly maxResponseBytes?: number;
  /** Authorization header for a hosted service (TEMPO_AUTH), sent to baseUrl's origin only. @default none */
  readonly authorization?: string | undefined;
}

export type AttributeValue = string | number | boolean;
export type Attributes = Readonly<Record<string, AttributeValue>>;
export type SpanStatusCode = 'error' | 'ok' | 'unset';

export interface TraceSpan {
  /** 16 lower-case hex digits. */
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  /** The resource's service.name. */
  readonly service: string;
  /** 'server', 'client', 'internal', 'producer', 'consumer' or 'unspecified'. */
  readonly kind: string;
  readonly start: Date;
  readonly durationMs: number;
  readonly statusCode: SpanStatusCode;
  readonly statusMessage?: string;
  /** Span attributes, flattened: strings, numbers (intValue/doubleValue) and booleans. */
  readonly attributes: Attributes;
}

export interface Trace {
  /** 32 lower-case hex digits. */
  readonly traceId: string;
  /** In the order Tempo returned them. */
  readonly spans: readonly TraceSpan[];
  /** True when Tempo cut the trace short because it is too large. */
  readonly partial: boolean;
}

export interface TraceOptions {
  /** Only look in blocks from this time on (epoch seconds on the wire). @default none */
  readonly start?: Date;
  readonly end?: Date;
  readonly signal?: AbortSignal;
}

export interface SearchOptions {
  /** Always sent: without a range Tempo searches only recent data held by the ingesters. */
  readonly start: Date;
  readonly end: Date;
  /** Traces returned at most. Tempo does not promise the newest ones when more match. @default 20 */
  readonly limit?: number;
  /** Matching spans returned per span set. @default 3 */
  readonly spss?: number;
  readonly signal?: AbortSignal;
}

export interface SearchSpan {
  readonly spanId: string;
  /** Present when the query named `name`. */
  readonly name?: string;
  readonly start: Date;
  readonly durationMs: number;
  /** Only the attributes the query named, e.g. service.name and status. */
  readonly attributes: Attributes;
}

export interface TraceSummary {
  /** 32 lower-case hex digits, the leading zeros Tempo strips put back. */
  readonly traceId: string;
  readonly rootServiceName: string;
  readonly rootTraceName?: string;
  readonly start: Date;
  readonly durationMs: number;
  readonly spanSets: readonly { readonly spans: readonly SearchSpan[]; readonly matched: number }[];
}

export interface FailingEndpoint {
  readonly service: string;
  /** `POST /checkout` from the HTTP method and route, else the span name. */
  readonly endpoint: string;
  readonly route?: string;
  readonly method?: string;
  readonly httpStatusCode?: number;
  readonly span: TraceSpan;
}

export interface SlowestSpan {
  readonly span: TraceSpan;
  /** The span's own time: its duration minus the time covered by its children. */
  readonly selfTimeMs: number;
}

const anyValueSchema: z.ZodType<unknown> = z.looseObject({
  stringValue: z.string().optional(),
  intValue: z.union([z.string(), z.number()]).optional(),
  doubleValue: z.union([z.number(), z.string()]).optional(),
  boolValue: z.boolean().optional(),
});
/** Tempo writes 64-bit nanoseconds as decimal strings; numbers are accepted too. */
const nanosSchema = z
  .union([
    z.string().regex(/^\d+$/, 'expected nanoseconds as a decimal string'),
    z.number().int().nonnegative(),
  ])
  .transform((value) => BigInt(value));
const keyValuesSchema = z.array(z.looseObject({ key: z.string(), value: anyValueSchema.optional() }));
const spanSchema = z.looseObject({
  spanId: z.string(),
  parentSpanId: z.string().optional(),
  name: z.string().default(''),
  kind: z.union([z.string(), z.number()]).optional(),
  startTimeUnixNano: nanosSchema.default(0n),
  endTimeUnixNano: nanosSchema.default(0n),
  attributes: keyValuesSchema.default([]),
  status: z
    .looseObject({ code: z.union([z.string(), z.number()]).optional(), message: z.string().optional() })
    .optional(),
});
const resourceSpansSchema = z.array(
  z.looseObject({
    resource: z.looseObject({ attributes: keyValuesSchema.default([]) }).optional(),
    scopeSpans: z.array(z.looseObject({ spans: z.array(spanSchema).default([]) })).default([]),
  }),
);
const traceV2Schema = z.looseObject({
  trace: z.looseObject({ resourceSpans: resourceSpansSchema.optional() }).default({}),
  status: z.string().optional(),
});
const traceV1Schema = z.looseObject({ batches: resourceSpansSchema.default([]) });
const searchSpanSchema = z.looseObject({
  spanID: z.string(),
  name: z.string().optional(),
  startTimeUnixNano: nanosSchema.default(0n),
  durationNanos: nanosSchema.default(0n),
  attributes: keyValuesSchema.default([]),
});
const spanSetSchema = z.looseObject({
  spans: z.array(searchSpanSchema).default([]),
  matched: z.number().default(0),
});
const searchSchema = z.looseObject({
  traces: z
    .array(
      z.looseObject({
        traceID: z.string(),
        rootServiceName: z.string().default(''),
        rootTraceName: z.string().optional(),
        startTimeUnixNano: nanosSchema.default(0n),
        durationMs: z.number().default(0),
        spanSet: spanSetSchema.optional(),
        spanSets: z.array(spanSetSchema).optional(),
      }),
    )
    .default([]),
});

export class TempoClient {
  private readonly api: TenantJsonApi;
  private v2Available = true;

  constructor(options: TempoClientOptions) {
    this.api = new TenantJsonApi('tempo', options);
  }

  /** The trace with this id (hex in any case, leading zeros or not, or base64), or undefined when unknown. */
  async trace(id: string, options: TraceOptions = {}): Promise<Trace | undefined> {
    const traceId = normaliseTraceId(id);
    const params: Record<string, string> = {};
    if (options.start) params['start'] = String(Math.floor(options.start.getTime() / 1000));
    if (options.end) params['end'] = String(Math.ceil(options.end.getTime() / 1000));

    if (this.v2Available) {
      const answer = await this.get(`/api/v2/traces/${traceId}`, params, options.signal, [404]);
      if (answer.status !== 404) {
        const body = parseShape(traceV2Schema, answer.body, 'v2 trace');
        const resourceSpans = body.trace.resourceSpans ?? [];
        if (resourceSpans.length === 0) return undefined;
        return normaliseTrace(traceId, resourceSpans, body.status === 'PARTIAL');
      }
      this.v2Available = false;
    }
    const answer = await this.get(`/api/traces/${traceId}`, params, options.signal, [404]);
    if (answer.status === 404) return undefined;
    const body = parseShape(traceV1Schema, answer.body, 'v1 trace');
    if (body.batches.length === 0) return undefined;
    return normaliseTrace(traceId, body.batches, false);
  }

  /** Searches with TraceQL, e.g. `{ resource.service.name = "api" && status = error }`. */
  async search(traceql: string, options: SearchOptions): Promise<TraceSummary[]> {
    const params: Record<string, string> = {
      q: traceql,
      start: String(Math.floor(options.start.getTime() / 1000)),
      end: String(Math.ceil(options.end.getTime() / 1000)),
      limit: String(options.limit ?? 20),
      spss: String(options.spss ?? 3),
    };
    const answer = await this.get('/api/search', params, options.signal, []);
    const body = parseShape(searchSchema, answer.body, 'search result');
    return body.traces.map((trace) => ({
      traceId: normaliseTraceId(trace.traceID),
      rootServiceName: trace.rootServiceName,
      ...(trace.rootTraceName !== undefined ? { rootTraceName: trace.rootTraceName } : {}),
      start: nsToDate(trace.startTimeUnixNano),
      durationMs: trace.durationMs,
      spanSets: (trace.spanSets ?? (trace.spanSet ? [trace.spanSet] : [])).map((set) => ({
        matched: set.matched,
        spans: set.spans.map((span) => ({
          spanId: normaliseSpanId(span.spanID),
          ...(span.name !== undefined ? { name: span.name } : {}),
          start: nsToDate(span.startTimeUnixNano),
          durationMs: Number(span.durationNanos) / 1e6,
          attributes: flattenAttributes(span.attributes),
        })),
      })),
    }));
  }

  private async get(
    path: string,
    params: Record<string, string>,
    signal: AbortSignal | undefined,
    passStatuses: readonly number[],
  ) {
    return this.api.get(path, params, signal, passStatuses);
  }
}

/**
 * A trace id as 32 lower-case hex digits. Accepts hex of up to 32 digits in any case (search strips
 * leading zeros; 64-bit ids are padded too) and base64 of 8 or 16 bytes (as inside trace bodies).
 * A string of hex digits is always read as hex.
 */
export function normaliseTraceId(id: string): string {
  const hex = idToHex(id, 16);
  if (hex === undefined || /^0+$/.test(hex)) {
    const message = `"${id}" is not a trace id: expected up to 32 hex digits or base64 of 16 bytes, not all zero`;
    throw new ValidationError(message, [{ path: 'traceId', message }]);
  }
  return hex;
}

/** A span id as 16 lower-case hex digits, from hex or base64 of 8 bytes. */
export function normaliseSpanId(id: string): string {
  const hex = idToHex(id, 8);
  if (hex === undefined) {
    const message = `"${id}" is not a span id: expected up to 16 hex digits or base64 of 8 bytes`;
    throw new ValidationError(message, [{ path: 'spanId', message }]);
  }
  return hex;
}

function idToHex(id: string, bytes: number): string | undefined {
  const text = id.trim();
  if (new RegExp(`^[0-9a-fA-F]{1,${bytes * 2}}$`).test(text))
    return text.toLowerCase().padStart(bytes * 2, '0');
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) return undefined;
  const raw = Buffer.from(text, 'base64');
  if (raw.length === 0 || raw.length > bytes || (raw.length !== bytes && raw.length !== bytes / 2))
    return undefined;
  return raw.toString('hex').padStart(bytes * 2, '0');
}

/** The span that spent the most time itself (not waiting on its children), e.g. a slow dependency call. */
export function slowestSpan(trace: Trace): SlowestSpan | undefined {
  const children = childrenBySpan(trace);
  let slowest: SlowestSpan | undefined;
  for (const span of trace.spans) {
    const selfTimeMs = span.durationMs - coveredMs(span, children.get(span.spanId) ?? []);
    if (slowest === undefined || selfTimeMs > slowest.selfTimeMs) slowest = { span, selfTimeMs };
  }
  return slowest;
}

/** The failing span closest to the root, preferring one with an HTTP route: the endpoint users saw fail. */
export function failingEndpoint(trace: Trace): FailingEndpoint | undefined {
  const depths = spanDepths(trace);
  const failing = trace.spans.filter((span) => span.statusCode === 'error');
  const closest = (spans: readonly TraceSpan[]) =>
    [...spans].sort(
      (a, b) =>
        (depths.get(a.spanId) ?? 0) - (depths.get(b.spanId) ?? 0) || a.start.getTime() - b.start.getTime(),
    )[0];
  const span =
    closest(failing.filter((s) => typeof s.attributes['http.route'] === 'string')) ?? closest(failing);
  if (span === undefined) return undefined;

  const route = stringAttribute(span, 'http.route');
  const method = stringAttribute(span, 'http.request.method') ?? stringAttribute(span, 'http.method');
  const status = span.attributes['http.response.status_code'] ?? span.attributes['http.status_code'];
  const httpStatusCode =
    typeof status === 'number' ? status : typeof status === 'string' ? Number(status) : NaN;
  return {
    service: span.service,
    endpoint: route === undefined ? span.name : method === undefined ? route : `${method} ${route}`,
    ...(route !== undefined ? { route } : {}),
    ...(method !== undefined ? { method } : {}),
    ...(Number.isInteger(httpStatusCode) ? { httpStatusCode } : {}),
    span,
  };
}

function stringAttribute(span: TraceSpan, name: string): string | undefined {
  const value = span.attributes[name];
  return typeof value === 'string' ? value : undefined;
}

function childrenBySpan(trace: Trace): Map<string, TraceSpan[]> {
  const children = new Map<string, TraceSpan[]>();
  for (const span of trace.spans) {
    if (span.parentSpanId === undefined) continue;
    const list = children.get(span.parentSpanId) ?? [];
    list.push(span);
    children.set(span.parentSpanId, list);
  }
  return children;
}

/** Milliseconds of `span` covered by the union of its children's intervals, clipped to the span. */
function coveredMs(span: TraceSpan, children: readonly TraceSpan[]): number {
  const from = span.start.getTime();
  const to = from + span.durationMs;
  const intervals = children
    .map((child) => [
      Math.max(from, child.start.getTime()),
      Math.min(to, child.start.getTime() + child.durationMs),
    ])
    .filter(([a, b]) => (b ?? 0) > (a ?? 0))
    .sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0));
  let covered = 0;
  let reach = from;
  for (const [a = 0, b = 0] of intervals) {
    const begin = Math.max(a, reach);
    if (b > begin) covered += b - begin;
    reach = Math.max(reach, b);
  }
  return covered;
}

/** Distance from the root for each span; spans whose parent is missing count as roots. */
function spanDepths(trace: Trace): Map<string, number> {
  const byId = new Map(trace.spans.map((span) => [span.spanId, span]));
  const depths = new Map<string, number>();
  const depthOf = (span: TraceSpan, seen: Set<string>): number => {
    const known = depths.get(span.spanId);
    if (known !== undefined) return known;
    const parent = span.parentSpanId === undefined ? undefined : byId.get(span.parentSpanId);
    const depth =
      parent === undefined || seen.has(parent.spanId) ? 0 : depthOf(parent, seen.add(span.spanId)) + 1;
    depths.set(span.spanId, depth);
    return depth;
  };
  for (const span of trace.spans) depthOf(span, new Set());
  return depths;
}

type ResourceSpans = z.output<typeof resourceSpansSchema>;

function normaliseTrace(traceId: string, resourceSpans: ResourceSpans, partial: boolean): Trace {
  const spans: TraceSpan[] = [];
  for (const batch of resourceSpans) {
    const service = flattenAttributes(batch.resource?.attributes ?? [])['service.name'];
    for (const scope of batch.scopeSpans) {
      for (const span of scope.spans) {
        const startNs = span.startTimeUnixNano;
        const endNs = span.endTimeUnixNano;
        const statusMessage = span.status?.message;
        spans.push({
          spanId: normaliseSpanId(span.spanId),
          ...(span.parentSpanId ? { parentSpanId: normaliseSpanId(span.parentSpanId) } : {}),
          name: span.name,
          service: typeof service === 'string' ? service : '',
          kind: spanKind(span.kind),
          start: new Date(Number(startNs / 1_000_000n)),
          durationMs: endNs > startNs ? Number(endNs - startNs) / 1e6 : 0,
          statusCode: statusCode(span.status?.code),
          ...(statusMessage ? { statusMessage } : {}),
          attributes: flattenAttributes(span.attributes),
        });
      }
    }
  }
  return { traceId, spans, partial };
}

const SPAN_KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] as const;

function spanKind(kind: string | number | undefined): string {
  if (typeof kind === 'number') return SPAN_KINDS[kind] ?? 'unspecified';
  if (kind === undefined) return 'unspecified';
  return kind.replace(/^SPAN_KIND_/, '').toLowerCase();
}

function statusCode(code: string | number | undefined): SpanStatusCode {
  if (code === 2 || code === 'STATUS_CODE_ERROR') return 'error';
  if (code === 1 || code === 'STATUS_CODE_OK') return 'ok';
  return 'unset';
}

function flattenAttributes(keyValues: readonly { key: string; value?: unknown }[]): Attributes {
  const attributes: Record<string, AttributeValue> = {};
  for (const { key, value } of keyValues) {
    const v = (value ?? {}) as {
      stringValue?: string;
      intValue?: string | number;
      doubleValue?: number | string;
      boolValue?: boolean;
    };
    if (v.stringValue !== undefined) attributes[key] = v.stringValue;
    else if (v.intValue !== undefined) attributes[key] = Number(v.intValue);
    else if (v.doubleValue !== undefined) attributes[key] = Number(v.doubleValue);
    else if (v.boolValue !== undefined) attributes[key] = v.boolValue;
  }
  return attributes;
}

function nsToDate(ns: bigint): Date {
  return new Date(Number(ns / 1_000_000n));
}

function parseShape<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? issue.path.join('.') : '(root)';
  throw new UpstreamError(
    'tempo',
    `answered a ${what} of an unexpected shape at ${where}: ${issue?.message}`,
  );
}
