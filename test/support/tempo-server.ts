/**
 * A local Tempo (2.7) query API for tests, answering the way the real one does (test/fixtures/tempo).
 *
 *   const tempo = await startTempoServer({ traces: [{ traceId, spans: [...] }] });
 *   const tempo = await startTempoServer({ generator: { start, end, count: 10_000, errorRatio: 0.05 } });
 *   new TempoClient({ baseUrl: tempo.url });
 *   tempo.ingest(moreTraces);            // ingested now: searchable after `searchLagSeconds`
 *   await tempo.close();
 *
 * Routes: GET /api/traces/<id> (v1), /api/v2/traces/<id>, /api/search, /api/echo, /api/status/buildinfo,
 * /ready. Anything else: 404.
 *
 * Protocol, as Tempo 2.7 has it:
 * - Trace ids in paths are hex of up to 32 digits, any case, left-padded (search hands out ids with the
 *   leading zeros stripped and they work). Not hex: 400 `trace IDs can only contain hex characters:
 *   invalid character 'n' at position 1`; longer: 400 `trace IDs can't be larger than 128 bits`.
 * - v1 answers `{"batches":[resourceSpans]}`, an unknown id 404 with an empty body and no content type;
 *   v2 answers `{"trace":{"resourceSpans":[...]}}`, an unknown id 200 `{"trace":{}}`. Inside, ids are
 *   standard base64 of the raw bytes, kind and status code enum names, 64-bit numbers strings, zero
 *   values left out, resource attributes sorted by key.
 * - Search: `q` (TraceQL), `start`/`end` in epoch seconds (a trace overlapping the window matches; without
 *   both, only traces ingested within `recentWindowSeconds` are searched, as only the ingesters are asked),
 *   `limit` (default 20) traces newest first, `spss` (default 3) matched spans per span set. Results carry
 *   the hex id without leading zeros, `spanSet` and `spanSets`, matched spans with only the attributes the
 *   query names (`status` as a string attribute; `name` only when the query names it) and `serviceStats`
 *   (errorCount left out when 0). A trace is searchable `searchLagSeconds` after ingest; by id at once.
 * - Errors are 400 `text/plain; charset=utf-8` in Tempo's words; with `tenant` set, a request without
 *   X-Scope-OrgID is 401 `no org id` and another tenant sees no data.
 *
 * Where this server differs on purpose: when more traces match than `limit`, real Tempo returns an
 * arbitrary subset (not the newest); this server returns the newest. Backfill quirks are not modelled.
 *
 * The TraceQL subset (anything else is a 400 parse error, in Tempo's style):
 *   { }  or  { condition && condition && ... }   one span set, conditions on the same span
 *   condition  field op value
 *   field      resource.<attr> | span.<attr> | .<attr> | name | status | statusMessage | duration | kind
 *   op         = != =~ !~ (strings; regexes fully anchored), = != > >= < <= (numbers, durations)
 *   value      "string" | 42 | 1.5 | 500ms (ns us ms s m h) | error ok unset | server client ... | true false
 */
import type { IncomingMessage } from 'node:http';
import { type AnsweredQuery, type Reply, startQueryServer } from './http-test-server.js';

export type TempoAttributeValue = string | number | boolean;
export type SpanKindName = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';

export interface TempoSpanInput {
  /** 16 hex digits, or base64 of the 8 bytes. */
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  /** The resource's service.name. */
  readonly service: string;
  /** Other resource attributes, e.g. deployment.environment. @default none */
  readonly resource?: Readonly<Record<string, TempoAttributeValue>>;
  /** Instrumentation scope. @default none (rendered as `{}`) */
  readonly scope?: { readonly name: string; readonly version?: string };
  /** @default 'unspecified' */
  readonly kind?: SpanKindName;
  /** Nanoseconds since the epoch, or a Date. */
  readonly start: bigint | Date;
  /** The end, or `durationMs`; one of them is required. */
  readonly end?: bigint | Date;
  readonly durationMs?: number;
  /** @default { code: 'unset' } */
  readonly status?: { readonly code: 'error' | 'ok' | 'unset'; readonly message?: string };
  /** Integers become intValue, other numbers doubleValue. @default none */
  readonly attributes?: Readonly<Record<string, TempoAttributeValue>>;
}

export interface TempoTraceInput {
  /** Hex of up to 32 digits, or base64 of the 16 bytes. */
  readonly traceId: string;
  readonly spans: readonly TempoSpanInput[];
}

export interface TraceGenerator {
  /** Seed of every pseudo-random choice. @default 1 */
  readonly seed?: number;
  /** Inclusive. */
  readonly start: Date;
  /** Exclusive. */
  readonly end: Date;
  /** Traces to create, spread evenly over [start, end). */
  readonly count: number;
  /** Share of traces failing like the sample app's checkout, outside the incident. @default 0 */
  readonly errorRatio?: number;
  /** A window with its own failure share. @default none */
  readonly incident?: { readonly start: Date; readonly end: Date; readonly errorRatio: number };
}

export interface TempoServerOptions {
  /** Traces held from the start (ingested at start-up). @default none */
  readonly traces?: readonly TempoTraceInput[];
  /** Traces generated at start-up, shaped like the sample app's (see generateTraces). @default none */
  readonly generator?: TraceGenerator;
  /** Seconds after ingest before a trace shows up in search (by id it is found at once). @default 0 */
  readonly searchLagSeconds?: number;
  /** Without start/end, search covers traces ingested this many seconds ago at most. @default 1800 */
  readonly recentWindowSeconds?: number;
  /** The clock for ingest times and search lag. @default () => new Date() */
  readonly now?: () => Date;
  /** When set, requests must carry X-Scope-OrgID and the data belongs to this tenant. @default none */
  readonly tenant?: string;
  /** Delay before each answer, in milliseconds. @default 0 */
  readonly latencyMs?: number;
  /** False answers /api/v2/traces/<id> with a 404, like a Tempo without that endpoint. @default true */
  readonly traceByIdV2?: boolean;
}

/** A request the local Tempo answered. */
export type TempoRequest = AnsweredQuery;

export interface TempoServer {
  /** Base URL, e.g. http://127.0.0.1:41234 (TEMPO_URL). */
  readonly url: string;
  /** Every request, in arrival order. */
  readonly requests: readonly TempoRequest[];
  /** Adds traces as ingested now; spans of a known trace id are added to it. */
  ingest(traces: readonly TempoTraceInput[]): void;
  traceCount(): number;
  /** Delay before each following answer, in milliseconds. */
  setLatency(ms: number): void;
  /** The next `times` requests (default 1) are answered with this status and text body. */
  failNext(failure: { readonly status: number; readonly body?: string }, times?: number): void;
  close(): Promise<void>;
}

const MS = 1_000_000n;
const SECOND = 1_000_000_000n;
const JSON_TYPE = 'application/json';
const TEXT_TYPE = 'text/plain; charset=utf-8';
const MISSING_ROOT = '<root span not yet received>';

export async function startTempoServer(options: TempoServerOptions = {}): Promise<TempoServer> {
  const now = options.now ?? (() => new Date());
  const store = new TraceStore();
  if (options.traces) store.ingest(options.traces, now().getTime());
  if (options.generator) store.ingest(generateTraces(options.generator), now().getTime());
  const searchLagMs = (options.searchLagSeconds ?? 0) * 1000;
  const recentWindowMs = (options.recentWindowSeconds ?? 1800) * 1000;

  function route(req: IncomingMessage, url: URL, params: Record<string, string>): Reply {
    const path = url.pathname;
    if (path === '/ready') return text(200, 'ready\n');
    if (path === '/api/echo') return text(200, 'echo\n');
    if (req.method !== 'GET') return text(405, 'method not allowed\n');
    if (path === '/api/status/buildinfo') return json(200, BUILD_INFO);

    const orgId = req.headers['x-scope-orgid'];
    if (options.tenant !== undefined && orgId === undefined) return text(401, 'no org id\n');
    const visible = options.tenant === undefined || orgId === options.tenant ? store : new TraceStore();
    try {
      const byId = /^\/api\/(v2\/)?traces\/([^/]*)$/.exec(path);
      if (byId?.[1] && options.traceByIdV2 === false) return text(404, '404 page not found\n');
      if (byId) {
        const trace = visible.get(parseTraceIdParam(decodeURIComponent(byId[2] ?? '')));
        const window = parseWindow(params, 'ParseInt');
        const found = trace && (!window || overlaps(trace, window)) ? trace : undefined;
        if (byId[1]) return json(200, { trace: found ? { resourceSpans: renderResourceSpans(found) } : {} });
        return found ? json(200, { batches: renderResourceSpans(found) }) : { status: 404, body: '' };
      }
      if (path === '/api/search') {
        const nowMs = now().getTime();
        return json(200, search(visible, params, { nowMs, searchLagMs, recentWindowMs }));
      }
      return text(404, '404 page not found\n');
    } catch (error) {
      if (error instanceof BadRequest) return text(400, error.message);
      throw error;
    }
  }

  const server = await startQueryServer({ route, latencyMs: options.latencyMs ?? 0 });

  return {
    ...server,
    ingest: (traces) => store.ingest(traces, now().getTime()),
    traceCount: () => store.size(),
  };
}

// ---------------------------------------------------------------------------------------------------
// HTTP answers

/** A request Tempo rejects with 400 and this text. */
class BadRequest extends Error {}

function text(status: number, body: string): Reply {
  return { status, type: TEXT_TYPE, body };
}

function json(status: number, body: unknown): Reply {
  return { status, type: JSON_TYPE, body: JSON.stringify(body) };
}

const BUILD_INFO = {
  version: 'v2.7.2',
  revision: 'b33945ab',
  branch: 'HEAD',
  buildUser: '',
  buildDate: '',
  goVersion: 'go1.23.5',
};

/** Tempo's HexStringToTraceID: hex only, at most 128 bits, left-padded. */
function parseTraceIdParam(id: string): string {
  for (let i = 0; i < id.length; i++) {
    const c = id[i] ?? '';
    if (!/[0-9a-fA-F]/.test(c)) {
      throw new BadRequest(
        `trace IDs can only contain hex characters: invalid character '${c}' at position ${i + 1}`,
      );
    }
  }
  const even = id.length % 2 === 1 ? `0${id}` : id;
  if (even.length > 32) throw new BadRequest("trace IDs can't be larger than 128 bits");
  return even.toLowerCase().padStart(32, '0');
}

interface Window {
  readonly startNs: bigint;
  readonly endNs: bigint;
}

/** start/end in epoch seconds; both must be set (and not 0) for a window to apply. */
function parseWindow(params: Record<string, string>, parser: 'ParseInt' | 'ParseUint'): Window | undefined {
  const parse = (name: 'start' | 'end'): bigint => {
    const value = params[name];
    if (value === undefined || value === '') return 0n;
    if (!/^\d+$/.test(value)) {
      throw new BadRequest(
        `invalid ${name}: strconv.${parser}: parsing ${JSON.stringify(value)}: invalid syntax`,
      );
    }
    return BigInt(value);
  };
  const start = parse('start');
  const end = parse('end');
  if (start !== 0n && end !== 0n && start > end) {
    throw new BadRequest(`http parameter start must be before end. received start=${start} end=${end}`);
  }
  if (start === 0n || end === 0n) return undefined;
  return { startNs: start * SECOND, endNs: end * SECOND };
}

function overlaps(trace: StoredTrace, window: Window): boolean {
  return trace.startNs <= window.endNs && trace.endNs >= window.startNs;
}

// ---------------------------------------------------------------------------------------------------
// Storage and rendering

interface KeyValue {
  readonly key: string;
  readonly value: Record<string, unknown>;
}

interface StoredSpan {
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly service: string;
  readonly kind: SpanKindName;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly status: { readonly code: 'error' | 'ok' | 'unset'; readonly message?: string };
  readonly attributes: Readonly<Record<string, TempoAttributeValue>>;
  /** service.name included. */
  readonly resource: Readonly<Record<string, TempoAttributeValue>>;
  readonly scope?: { readonly name: string; readonly version?: string };
}

interface StoredTrace {
  readonly traceId: string;
  readonly spans: StoredSpan[];
  startNs: bigint;
  endNs: bigint;
  ingestedAtMs: number;
}

class TraceStore {
  private readonly traces = new Map<string, StoredTrace>();

  ingest(traces: readonly TempoTraceInput[], atMs: number): void {
    for (const input of traces) {
      const traceId = hexId(input.traceId, 16, 'trace id');
      const spans = input.spans.map(storeSpan);
      const known = this.traces.get(traceId);
      const trace = known ?? { traceId, spans: [], startNs: 0n, endNs: 0n, ingestedAtMs: atMs };
      trace.spans.push(...spans);
      trace.startNs = trace.spans[0]?.startNs ?? 0n;
      trace.endNs = 0n;
      for (const span of trace.spans) {
        if (span.startNs < trace.startNs) trace.startNs = span.startNs;
        if (span.endNs > trace.endNs) trace.endNs = span.endNs;
      }
      trace.ingestedAtMs = atMs;
      this.traces.set(traceId, trace);
    }
  }

  get(traceId: string): StoredTrace | undefined {
    return this.traces.get(traceId);
  }

  all(): IterableIterator<StoredTrace> {
    return this.traces.values();
  }

  size(): number {
    return this.traces.size;
  }
}

function storeSpan(span: TempoSpanInput): StoredSpan {
  const startNs = toNs(span.start);
  let endNs: bigint;
  if (span.end !== undefined) endNs = toNs(span.end);
  else if (span.durationMs !== undefined) endNs = startNs + BigInt(Math.round(span.durationMs * 1e6));
  else throw new Error(`span ${span.spanId} (${span.name}) needs an end or a durationMs`);
  return {
    spanId: hexId(span.spanId, 8, 'span id'),
    ...(span.parentSpanId ? { parentSpanId: hexId(span.parentSpanId, 8, 'parent span id') } : {}),
    name: span.name,
    service: span.service,
    kind: span.kind ?? 'unspecified',
    startNs,
    endNs,
    status: span.status ?? { code: 'unset' },
    attributes: span.attributes ?? {},
    resource: { ...span.resource, 'service.name': span.service },
    ...(span.scope ? { scope: span.scope } : {}),
  };
}

function toNs(value: bigint | Date): bigint {
  return typeof value === 'bigint' ? value : BigInt(value.getTime()) * MS;
}

/** Hex (any case, left-padded) or base64 of the raw bytes, to lower-case hex of `bytes` bytes. */
function hexId(id: string, bytes: number, what: string): string {
  if (new RegExp(`^[0-9a-fA-F]{1,${bytes * 2}}$`).test(id)) return id.toLowerCase().padStart(bytes * 2, '0');
  const raw = Buffer.from(id, 'base64');
  if (raw.length !== bytes) throw new Error(`${what} "${id}" is neither hex nor base64 of ${bytes} bytes`);
  return raw.toString('hex');
}

const base64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');

function renderValue(value: TempoAttributeValue): Record<string, unknown> {
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
}

function renderAttributes(attributes: Readonly<Record<string, TempoAttributeValue>>): KeyValue[] {
  return Object.entries(attributes).map(([key, value]) => ({ key, value: renderValue(value) }));
}

const KIND_NAMES: Readonly<Record<SpanKindName, string | undefined>> = {
  unspecified: undefined,
  internal: 'SPAN_KIND_INTERNAL',
  server: 'SPAN_KIND_SERVER',
  client: 'SPAN_KIND_CLIENT',
  producer: 'SPAN_KIND_PRODUCER',
  consumer: 'SPAN_KIND_CONSUMER',
};

const STATUS_NAMES = { error: 'STATUS_CODE_ERROR', ok: 'STATUS_CODE_OK', unset: undefined } as const;

/** Tempo's trace body: spans grouped by resource, then scope, in the order first seen. */
function renderResourceSpans(trace: StoredTrace): unknown[] {
  const resources = new Map<
    string,
    { attributes: KeyValue[]; scopes: Map<string, { scope: unknown; spans: unknown[] }> }
  >();
  const traceId = base64(trace.traceId);
  for (const span of trace.spans) {
    const resourceKey = JSON.stringify(Object.entries(span.resource).sort(([a], [b]) => (a < b ? -1 : 1)));
    const resource = resources.get(resourceKey) ?? {
      attributes: renderAttributes(span.resource).sort((a, b) =>
        a.key < b.key ? -1 : a.key > b.key ? 1 : 0,
      ),
      scopes: new Map(),
    };
    resources.set(resourceKey, resource);
    const scopeKey = JSON.stringify(span.scope ?? {});
    const scope = resource.scopes.get(scopeKey) ?? { scope: span.scope ? { ...span.scope } : {}, spans: [] };
    resource.scopes.set(scopeKey, scope);
    const kind = KIND_NAMES[span.kind];
    const code = STATUS_NAMES[span.status.code];
    const attributes = renderAttributes(span.attributes);
    scope.spans.push({
      traceId,
      spanId: base64(span.spanId),
      ...(span.parentSpanId ? { parentSpanId: base64(span.parentSpanId) } : {}),
      name: span.name,
      ...(kind ? { kind } : {}),
      startTimeUnixNano: span.startNs.toString(),
      endTimeUnixNano: span.endNs.toString(),
      ...(attributes.length > 0 ? { attributes } : {}),
      status: { ...(span.status.message ? { message: span.status.message } : {}), ...(code ? { code } : {}) },
    });
  }
  return [...resources.values()].map((resource) => ({
    resource: { attributes: resource.attributes },
    scopeSpans: [...resource.scopes.values()].map(({ scope, spans }) => ({ scope, spans })),
  }));
}

// ---------------------------------------------------------------------------------------------------
// Search

interface SearchContext {
  readonly nowMs: number;
  readonly searchLagMs: number;
  readonly recentWindowMs: number;
}

function search(store: TraceStore, params: Record<string, string>, context: SearchContext) {
  const window = parseWindow(params, 'ParseUint');
  const limit = positiveInt(params['limit'], 20, 'limit');
  const spss = positiveInt(params['spss'], 3, 'spss');
  const conditions = parseTraceQL(params['q'] ?? '{}');

  const results: { trace: StoredTrace; matched: StoredSpan[] }[] = [];
  let inspectedSpans = 0;
  for (const trace of store.all()) {
    if (context.nowMs < trace.ingestedAtMs + context.searchLagMs) continue;
    if (window ? !overlaps(trace, window) : context.nowMs - trace.ingestedAtMs > context.recentWindowMs)
      continue;
    inspectedSpans += trace.spans.length;
    const matched = trace.spans.filter((span) => conditions.every((c) => c.test(span)));
    if (matched.length > 0) results.push({ trace, matched });
  }
  results.sort((a, b) =>
    a.trace.startNs === b.trace.startNs
      ? a.trace.traceId < b.trace.traceId
        ? -1
        : 1
      : a.trace.startNs > b.trace.startNs
        ? -1
        : 1,
  );

  const jobs = window ? 3 : 1;
  return {
    traces: results.slice(0, limit).map(({ trace, matched }) => {
      const root = trace.spans.find((span) => span.parentSpanId === undefined);
      const spanSet = {
        spans: [...matched]
          .sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0))
          .slice(0, spss)
          .map((span) => searchSpan(span, conditions)),
        matched: matched.length,
      };
      const durationMs = Number((trace.endNs - trace.startNs) / MS);
      return {
        traceID: trace.traceId.replace(/^0+/, ''),
        rootServiceName: root?.service ?? MISSING_ROOT,
        ...(root ? { rootTraceName: root.name } : {}),
        startTimeUnixNano: trace.startNs.toString(),
        ...(durationMs > 0 ? { durationMs } : {}),
        spanSet,
        spanSets: [spanSet],
        serviceStats: serviceStats(trace),
      };
    }),
    metrics: { inspectedBytes: String(inspectedSpans * 180), completedJobs: jobs, totalJobs: jobs },
  };
}

function positiveInt(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const number = Number(value);
  if (!/^\d+$/.test(value) || number <= 0) throw new BadRequest(`invalid ${name}: must be a positive number`);
  return number;
}

function searchSpan(span: StoredSpan, conditions: readonly Condition[]) {
  const attributes = new Map<string, KeyValue>();
  let named = false;
  for (const condition of conditions) {
    const shown = condition.shown(span);
    if (shown === 'name') named = true;
    else if (shown && !attributes.has(shown.key)) attributes.set(shown.key, shown);
  }
  return {
    spanID: span.spanId,
    ...(named ? { name: span.name } : {}),
    startTimeUnixNano: span.startNs.toString(),
    durationNanos: (span.endNs - span.startNs).toString(),
    attributes: [...attributes.values()],
  };
}

function serviceStats(trace: StoredTrace): Record<string, { spanCount: number; errorCount?: number }> {
  const stats = new Map<string, { spanCount: number; errorCount: number }>();
  for (const span of trace.spans) {
    const entry = stats.get(span.service) ?? { spanCount: 0, errorCount: 0 };
    entry.spanCount++;
    if (span.status.code === 'error') entry.errorCount++;
    stats.set(span.service, entry);
  }
  return Object.fromEntries(
    [...stats.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([service, { spanCount, errorCount }]) => [
        service,
        errorCount > 0 ? { spanCount, errorCount } : { spanCount },
      ]),
  );
}

// ---------------------------------------------------------------------------------------------------
// TraceQL subset

interface Condition {
  readonly test: (span: StoredSpan) => boolean;
  /** What the search result shows for this condition: an attribute, 'name', or nothing (duration). */
  readonly shown: (span: StoredSpan) => KeyValue | 'name' | undefined;
}

interface Token {
  readonly kind: 'punct' | 'op' | 'string' | 'number' | 'duration' | 'word' | 'end';
  readonly text: string;
  readonly col: number;
}

const TRACEQL_OPERATORS = ['&&', '||', '>>', '=~', '!~', '!=', '>=', '<=', '=', '>', '<', '|', '!'];
const DURATION_NS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 6e10,
  h: 3.6e12,
};
const KINDS: readonly SpanKindName[] = [
  'unspecified',
  'internal',
  'server',
  'client',
  'producer',
  'consumer',
];
const OUTSIDE_SUBSET = ' (outside the TraceQL subset of this test server)';

function traceqlError(col: number, detail: string): BadRequest {
  return new BadRequest(`invalid TraceQL query: parse error at line 1, col ${col}: ${detail}`);
}

function tokenizeTraceQL(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < query.length) {
    const c = query[i] ?? '';
    const col = i + 1;
    const rest = query.slice(i);
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const op = TRACEQL_OPERATORS.find((o) => query.startsWith(o, i));
    let token: Token | undefined;
    if (op) token = { kind: 'op', text: op, col };
    else if ('{}()'.includes(c)) token = { kind: 'punct', text: c, col };
    else if (c === '"') {
      const match = /^"(?:[^"\\]|\\.)*"/.exec(rest);
      if (!match) throw traceqlError(col, 'literal not terminated');
      token = { kind: 'string', text: JSON.parse(match[0]) as string, col };
      i += match[0].length;
      tokens.push(token);
      continue;
    } else if (/[0-9]/.test(c)) {
      const duration = /^\d+(\.\d+)?(ns|us|µs|ms|s|m|h)(?![A-Za-z0-9_])/.exec(rest);
      const number = /^\d+(\.\d+)?/.exec(rest);
      token = duration
        ? { kind: 'duration', text: duration[0], col }
        : { kind: 'number', text: number?.[0] ?? c, col };
    } else if (/[A-Za-z_.]/.test(c)) {
      token = { kind: 'word', text: /^[A-Za-z_.][A-Za-z0-9_.:\-/]*/.exec(rest)?.[0] ?? c, col };
    } else {
      throw traceqlError(col, `syntax error: unexpected ${c}`);
    }
    tokens.push(token);
    i += token.text.length;
  }
  tokens.push({ kind: 'end', text: '$end', col: query.length + 1 });
  return tokens;
}

/** Parses `{ cond && cond ... }` into per-span conditions; everything else throws a 400 in Tempo's words. */
function parseTraceQL(query: string): Condition[] {
  const tokens = tokenizeTraceQL(query);
  let position = 0;
  const peek = (): Token => tokens[position] ?? (tokens[tokens.length - 1] as Token);
  const next = (): Token => {
    const token = peek();
    if (token.kind !== 'end') position++;
    return token;
  };
  const unexpected = (token: Token, hint = ''): BadRequest => {
    const name =
      token.kind === 'end'
        ? '$end'
        : token.kind === 'string'
          ? 'STRING'
          : token.kind === 'number' || token.kind === 'duration'
            ? token.kind.toUpperCase()
            : token.text;
    return traceqlError(token.col, `syntax error: unexpected ${name}${hint}`);
  };

  const open = next();
  if (open.text !== '{') throw unexpected(open, OUTSIDE_SUBSET);
  const conditions: Condition[] = [];
  if (peek().text !== '}') {
    conditions.push(condition());
    while (peek().text === '&&') {
      next();
      conditions.push(condition());
    }
  }
  const close = next();
  if (close.text !== '}') throw unexpected(close, close.kind === 'op' ? OUTSIDE_SUBSET : '');
  const end = next();
  if (end.kind !== 'end') throw unexpected(end, OUTSIDE_SUBSET);
  return conditions;

  function condition(): Condition {
    const field = next();
    if (field.kind !== 'word') throw unexpected(field);
    const op = next();
    if (op.kind !== 'op' || !['=', '!=', '=~', '!~', '>', '>=', '<', '<='].includes(op.text)) {
      throw unexpected(op, op.kind === 'op' ? OUTSIDE_SUBSET : '');
    }
    const value = next();
    if (value.kind === 'end' || value.kind === 'punct' || value.kind === 'op') throw unexpected(value);
    return buildCondition(field, op, value);
  }
}

function buildCondition(field: Token, op: Token, value: Token): Condition {
  const mismatch = () =>
    traceqlError(
      field.col,
      `${field.text} ${op.text} ${value.kind === 'string' ? JSON.stringify(value.text) : value.text}: operands are of different types`,
    );
  switch (field.text) {
    case 'duration': {
      if (value.kind !== 'duration') throw mismatch();
      const [, amount = '0', unit = 'ns'] = /^(\d+(?:\.\d+)?)(\D+)$/.exec(value.text) ?? [];
      const bound = BigInt(Math.round(Number(amount) * (DURATION_NS[unit] ?? 1)));
      const compare = ordered(op.text, field);
      return { test: (span) => compare(Number(span.endNs - span.startNs - bound)), shown: () => undefined };
    }
    case 'status': {
      if (
        value.kind !== 'word' ||
        !['error', 'ok', 'unset'].includes(value.text) ||
        !['=', '!='].includes(op.text)
      ) {
        throw mismatch();
      }
      const equal = op.text === '=';
      return {
        test: (span) => (span.status.code === value.text) === equal,
        shown: (span) => ({ key: 'status', value: { stringValue: span.status.code } }),
      };
    }
    case 'kind': {
      if (
        value.kind !== 'word' ||
        !KINDS.includes(value.text as SpanKindName) ||
        !['=', '!='].includes(op.text)
      ) {
        throw mismatch();
      }
      const equal = op.text === '=';
      return {
        test: (span) => (span.kind === value.text) === equal,
        shown: (span) => ({ key: 'kind', value: { stringValue: span.kind } }),
      };
    }
    case 'name':
    case 'statusMessage': {
      if (value.kind !== 'string') throw mismatch();
      const matches = stringTest(op, value);
      const read = (span: StoredSpan) => (field.text === 'name' ? span.name : (span.status.message ?? ''));
      return {
        test: (span) => matches(read(span)),
        shown: (span) =>
          field.text === 'name' ? 'name' : { key: 'statusMessage', value: { stringValue: read(span) } },
      };
    }
  }
  const attribute = /^(resource|span)?\.(.+)$/.exec(field.text);
  if (!attribute?.[2])
    throw traceqlError(field.col, `syntax error: unexpected ${field.text}${OUTSIDE_SUBSET}`);
  const scope = attribute[1];
  const key = attribute[2];
  const read = (span: StoredSpan): TempoAttributeValue | undefined =>
    scope === 'resource'
      ? span.resource[key]
      : scope === 'span'
        ? span.attributes[key]
        : (span.attributes[key] ?? span.resource[key]);
  let test: (actual: TempoAttributeValue) => boolean;
  if (value.kind === 'string') {
    const matches = stringTest(op, value);
    test = (actual) => typeof actual === 'string' && matches(actual);
  } else if (value.kind === 'number') {
    const compare = ordered(op.text, field);
    const bound = Number(value.text);
    test = (actual) => typeof actual === 'number' && compare(actual - bound);
  } else if (value.kind === 'word' && (value.text === 'true' || value.text === 'false')) {
    if (!['=', '!='].includes(op.text)) throw mismatch();
    const wanted = value.text === 'true';
    test = (actual) => typeof actual === 'boolean' && (actual === wanted) === (op.text === '=');
  } else {
    throw mismatch();
  }
  return {
    test: (span) => {
      const actual = read(span);
      return actual !== undefined && test(actual);
    },
    shown: (span) => {
      const actual = read(span);
      return actual === undefined ? undefined : { key, value: renderValue(actual) };
    },
  };
}

function stringTest(op: Token, value: Token): (actual: string) => boolean {
  if (op.text === '=') return (actual) => actual === value.text;
  if (op.text === '!=') return (actual) => actual !== value.text;
  if (op.text !== '=~' && op.text !== '!~') {
    throw traceqlError(op.col, `syntax error: unexpected ${op.text}: strings compare with = != =~ !~`);
  }
  let regex: RegExp;
  try {
    regex = new RegExp(`^(?:${value.text})$`);
  } catch (error) {
    throw traceqlError(value.col, `error parsing regexp: ${(error as Error).message}`);
  }
  return op.text === '=~' ? (actual) => regex.test(actual) : (actual) => !regex.test(actual);
}

/** A comparison on the sign of (actual - bound). */
function ordered(op: string, field: Token): (difference: number) => boolean {
  switch (op) {
    case '=':
      return (d) => d === 0;
    case '!=':
      return (d) => d !== 0;
    case '>':
      return (d) => d > 0;
    case '>=':
      return (d) => d >= 0;
    case '<':
      return (d) => d < 0;
    case '<=':
      return (d) => d <= 0;
    default:
      throw traceqlError(field.col, `syntax error: unexpected ${op}: numbers compare with = != > >= < <=`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Generated traces and OTLP input

/**
 * Traces shaped like the sample app's (fixtures/tempo): failing ones are `POST /checkout` (sample-app,
 * ERROR "upstream payment-gateway timeout", 2.30-2.38 s) with a failing `payment-gateway charge` child
 * (ERROR "deadline exceeded", 2.2 s); the others are one-span `GET /products` (OK, 8-40 ms). One trace
 * id in eight starts with zeros, which Tempo's search strips.
 */
export function generateTraces(generator: TraceGenerator): TempoTraceInput[] {
  const seed = generator.seed ?? 1;
  const startNs = toNs(generator.start);
  const spanNs = toNs(generator.end) - startNs;
  const incident = generator.incident
    ? {
        start: toNs(generator.incident.start),
        end: toNs(generator.incident.end),
        ratio: generator.incident.errorRatio,
      }
    : undefined;
  const traces: TempoTraceInput[] = [];
  for (let i = 0; i < generator.count; i++) {
    const start = startNs + (spanNs * BigInt(i)) / BigInt(Math.max(1, generator.count));
    const inIncident = incident !== undefined && start >= incident.start && start < incident.end;
    const ratio = inIncident ? (incident?.ratio ?? 0) : (generator.errorRatio ?? 0);
    const failing = hash32(seed, i, 1) / 4294967296 < ratio;
    const traceId = `${i % 8 === 7 ? '000' : ''}${hex(seed, i, 2, 4)}`.slice(0, 32);
    const rootId = hex(seed, i, 3, 2);
    const resource = { 'deployment.environment': 'demo' };
    if (!failing) {
      traces.push({
        traceId,
        spans: [
          {
            spanId: rootId,
            name: 'GET /products',
            service: 'sample-app',
            resource,
            scope: { name: 'sample-app.http' },
            kind: 'server',
            start,
            durationMs: 8 + (hash32(seed, i, 4) % 33),
            status: { code: 'ok' },
            attributes: {
              'http.request.method': 'GET',
              'http.route': '/products',
              'http.response.status_code': 200,
            },
          },
        ],
      });
      continue;
    }
    traces.push({
      traceId,
      spans: [
        {
          spanId: rootId,
          name: 'POST /checkout',
          service: 'sample-app',
          resource,
          scope: { name: 'sample-app.http' },
          kind: 'server',
          start,
          durationMs: 2300 + (hash32(seed, i, 5) % 81),
          status: { code: 'error', message: 'upstream payment-gateway timeout' },
          attributes: {
            'http.request.method': 'POST',
            'http.route': '/checkout',
            'http.response.status_code': 500,
          },
        },
        {
          spanId: hex(seed, i, 6, 2),
          parentSpanId: rootId,
          name: 'payment-gateway charge',
          service: 'payment-gateway',
          resource,
          scope: { name: 'payment-gateway.rpc' },
          kind: 'server',
          start: start + 50n * MS,
          durationMs: 2200,
          status: { code: 'error', message: 'deadline exceeded' },
          attributes: { 'rpc.method': 'Charge', 'payment.provider': 'acme' },
        },
      ],
    });
  }
  return traces;
}

/** Traces from OTLP-JSON resource spans (a trace body's `batches` or `resourceSpans`, or an OTLP export). */
export function tracesFromOtlp(resourceSpans: readonly unknown[]): TempoTraceInput[] {
  const traces = new Map<string, TempoSpanInput[]>();
  for (const batch of resourceSpans as OtlpResourceSpans[]) {
    const resource = otlpAttributes(batch.resource?.attributes);
    const service = String(resource['service.name'] ?? '');
    delete resource['service.name'];
    for (const scopeSpans of batch.scopeSpans ?? []) {
      for (const span of scopeSpans.spans ?? []) {
        const traceId = hexId(span.traceId, 16, 'trace id');
        const list = traces.get(traceId) ?? [];
        const kind =
          typeof span.kind === 'number'
            ? KINDS[span.kind]
            : span.kind?.replace(/^SPAN_KIND_/, '').toLowerCase();
        const code = span.status?.code;
        list.push({
          spanId: span.spanId,
          ...(span.parentSpanId ? { parentSpanId: span.parentSpanId } : {}),
          name: span.name ?? '',
          service,
          resource,
          ...(scopeSpans.scope?.name !== undefined
            ? { scope: { ...scopeSpans.scope, name: scopeSpans.scope.name } }
            : {}),
          ...(kind ? { kind: kind as SpanKindName } : {}),
          start: BigInt(span.startTimeUnixNano ?? 0),
          end: BigInt(span.endTimeUnixNano ?? 0),
          status: {
            code:
              code === 2 || code === 'STATUS_CODE_ERROR'
                ? 'error'
                : code === 1 || code === 'STATUS_CODE_OK'
                  ? 'ok'
                  : 'unset',
            ...(span.status?.message ? { message: span.status.message } : {}),
          },
          attributes: otlpAttributes(span.attributes),
        });
        traces.set(traceId, list);
      }
    }
  }
  return [...traces.entries()].map(([traceId, spans]) => ({ traceId, spans }));
}

interface OtlpResourceSpans {
  readonly resource?: { readonly attributes?: readonly OtlpKeyValue[] };
  readonly scopeSpans?: readonly {
    readonly scope?: { readonly name?: string; readonly version?: string };
    readonly spans?: readonly {
      readonly traceId: string;
      readonly spanId: string;
      readonly parentSpanId?: string;
      readonly name?: string;
      readonly kind?: string | number;
      readonly startTimeUnixNano?: string | number;
      readonly endTimeUnixNano?: string | number;
      readonly attributes?: readonly OtlpKeyValue[];
      readonly status?: { readonly code?: string | number; readonly message?: string };
    }[];
  }[];
}

interface OtlpKeyValue {
  readonly key: string;
  readonly value?: {
    readonly stringValue?: string;
    readonly intValue?: string | number;
    readonly doubleValue?: number;
    readonly boolValue?: boolean;
  };
}

function otlpAttributes(keyValues: readonly OtlpKeyValue[] | undefined): Record<string, TempoAttributeValue> {
  const attributes: Record<string, TempoAttributeValue> = {};
  for (const { key, value } of keyValues ?? []) {
    if (value?.stringValue !== undefined) attributes[key] = value.stringValue;
    else if (value?.intValue !== undefined) attributes[key] = Number(value.intValue);
    else if (value?.doubleValue !== undefined) attributes[key] = value.doubleValue;
    else if (value?.boolValue !== undefined) attributes[key] = value.boolValue;
  }
  return attributes;
}

/** A 32-bit mix of three integers (murmur3-style finaliser): fast, deterministic, well spread. */
function hash32(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ b;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) ^ c;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** `words` 32-bit words of seeded hex. */
function hex(seed: number, i: number, salt: number, words: number): string {
  let out = '';
  for (let w = 0; w < words; w++)
    out += hash32(seed, i, salt * 16 + w)
      .toString(16)
      .padStart(8, '0');
  return out;
}
