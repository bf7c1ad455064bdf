/**
 * A local Loki (3.4) query API for tests, answering the way the real one does (test/fixtures/loki).
 *
 *   const loki = await startLokiServer({ streams: [{ labels: { service_name: 'checkout' }, entries }] });
 *   const loki = await startLokiServer({ generator: { start, end, streams: [{ labels, linesPerSecond: 50 }] } });
 *   new LokiClient({ baseUrl: loki.url });
 *   loki.queryCount()                  // query_range + query requests so far (a timeline's budget)
 *   loki.failNext({ status: 503, body: 'too many outstanding requests' })
 *   await loki.close();
 *
 * Routes: GET /loki/api/v1/query_range, /loki/api/v1/query (metric queries only), /loki/api/v1/labels,
 * /loki/api/v1/label/<name>/values, /loki/api/v1/status/buildinfo, /ready. Anything else: 404.
 *
 * Protocol, as Loki 3.4 has it:
 * - Times are ns epoch integers, float seconds (rounded to ms) or RFC3339; integers of up to 10 digits
 *   are seconds. end defaults to now, start to end - 1h. start is inclusive, END IS EXCLUSIVE.
 * - Log queries: `limit` (default 100, at most 5000, else 400) entries across all streams, newest first
 *   (`direction=backward`, the default) or oldest first. Streams are split by every label an entry
 *   carries (index labels, structured metadata, parsed fields), entries ordered within a stream only.
 *   With `X-Loki-Response-Encoding-Flags: categorize-labels` streams carry index labels only and each
 *   value is `[ts, line, { structuredMetadata?, parsed? }]`.
 * - Metric queries: points at `step` multiples from start rounded down to end rounded up; a point at t
 *   counts entries in (t - range, t]; steps without samples are left out. At most 11,000 points per
 *   series and 500 series per query (400 otherwise).
 * - detected_level is added as structured metadata at ingest, as Loki does: from a level label or
 *   metadata, the OTLP severity_number, a JSON/logfmt level field, or keywords in the line.
 * - Errors are HTTP 400 `text/plain; charset=utf-8` with Loki's own wording; with `tenant` set, a request
 *   without X-Scope-OrgID is 401 `no org id` and another tenant sees no data.
 *
 * The LogQL subset (anything else is a 400 parse error, in Loki's style):
 *   log query    {name="v", name!="v", name=~"re", name!~"re", ...}  then any of
 *                |= "text"  != "text"  |~ "re"  !~ "re"  | json  | logfmt
 *                | label op value   (op: = != =~ !~ with a string; == != > >= < <= with a number)
 *   metric query count_over_time(<log query> [range]) or rate(...), optionally inside
 *                sum(...), sum by (labels) (...), sum without (labels) (...), and topk(k, ...).
 *
 * Storage holds a million lines without trouble: stored streams keep time-sorted typed arrays, generated
 * streams (`generator`) compute each line from its index and a seed, and queries binary-search the
 * time range instead of scanning everything.
 */
import type { IncomingMessage } from 'node:http';
import { type AnsweredQuery, type Reply, startQueryServer } from './http-test-server.js';

export type Labels = Readonly<Record<string, string>>;

export interface LokiEntryInput {
  /** Nanoseconds since the epoch (a bigint or a decimal string), or a Date. */
  readonly ts: bigint | string | Date;
  readonly line: string;
  /** Structured metadata such as trace_id or severity_number; detected_level is added when missing. */
  readonly metadata?: Labels;
}

export interface LokiStreamInput {
  /** Index labels, e.g. { service_name: 'checkout' }. */
  readonly labels: Labels;
  readonly entries: readonly LokiEntryInput[];
}

export interface GeneratedLogStream {
  /** Index labels, e.g. { service_name: 'checkout' }. */
  readonly labels: Labels;
  /** Lines per second, evenly spaced; each stream starts at a seeded offset within the first interval. */
  readonly linesPerSecond: number;
  /** Share of lines at level error outside the incident window, 0 to 1. @default 0 */
  readonly errorRatio?: number;
  /** A window with its own error share, e.g. the incident an alert fired for. @default none */
  readonly incident?: { readonly start: Date; readonly end: Date; readonly errorRatio: number };
  /** 'json' lines like the sample app's, or 'logfmt' lines like the payments service's. @default 'json' */
  readonly format?: 'json' | 'logfmt';
  /** Trace ids that error lines carry (picked by the seed), so they match traces in Tempo. @default random */
  readonly errorTraceIds?: readonly string[];
  /** `msg` of error lines. @default 'POST /checkout 500 upstream payment-gateway timeout' */
  readonly errorMessage?: string;
  /** `msg` of the other lines. @default 'GET /products 200' */
  readonly infoMessage?: string;
}

export interface LogGenerator {
  /** Seed of every pseudo-random choice: the same seed gives the same lines. @default 1 */
  readonly seed?: number;
  /** Inclusive. */
  readonly start: Date;
  /** Exclusive. */
  readonly end: Date;
  readonly streams: readonly GeneratedLogStream[];
}

export interface LokiServerOptions {
  /** Stored streams; entries may come in any order and are kept sorted. @default none */
  readonly streams?: readonly LokiStreamInput[];
  /** Streams computed on demand from a seed, for large volumes. @default none */
  readonly generator?: LogGenerator;
  /** When set, requests must carry X-Scope-OrgID and the data belongs to this tenant. @default none */
  readonly tenant?: string;
  /** Delay before each answer, in milliseconds. @default 0 */
  readonly latencyMs?: number;
  /** Loki's max_entries_limit_per_query. @default 5000 */
  readonly maxEntriesLimitPerQuery?: number;
  /** Loki's max_query_series. @default 500 */
  readonly maxQuerySeries?: number;
}

/** A request the local Loki answered. */
export type LokiRequest = AnsweredQuery;

export interface LokiServer {
  /** Base URL, e.g. http://127.0.0.1:41234 (LOKI_URL). */
  readonly url: string;
  /** Every request, in arrival order. */
  readonly requests: readonly LokiRequest[];
  /** Requests to query_range and query so far. */
  queryCount(): number;
  /** Adds entries; streams with the same index labels are merged and kept sorted. */
  push(streams: readonly LokiStreamInput[]): void;
  /** Lines held, generated ones included. */
  lineCount(): number;
  /** Delay before each following answer, in milliseconds. */
  setLatency(ms: number): void;
  /** The next `times` requests (default 1) are answered with this status and text body. */
  failNext(failure: { readonly status: number; readonly body?: string }, times?: number): void;
  close(): Promise<void>;
}

const MS = 1_000_000n;
const SECOND = 1_000_000_000n;
const MAX_POINTS = 11_000;
const JSON_TYPE = 'application/json; charset=UTF-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';
const CATEGORIZE_LABELS = 'categorize-labels';

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

// ---------------------------------------------------------------------------------------------------
// HTTP answers

/** A request Loki rejects with 400 and this text. */
class BadRequest extends Error {}

function text(status: number, body: string): Reply {
  return { status, type: TEXT_TYPE, body };
}

function json(status: number, body: unknown): Reply {
  return { status, type: JSON_TYPE, body: JSON.stringify(body) };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

const BUILD_INFO = {
  version: 'v3.4.6',
  revision: '2b7b94ff',
  branch: 'HEAD',
  buildUser: '',
  buildDate: '',
  goVersion: '',
};

interface Limits {
  readonly maxEntries: number;
  readonly maxSeries: number;
}

function queryRange(store: LogStore, params: Record<string, string>, categorize: boolean, limits: Limits) {
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

function queryInstant(store: LogStore, params: Record<string, string>, limits: Limits) {
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

function labelNames(store: LogStore, params: Record<string, string>) {
  const { start, end } = parseRange(params);
  const names = new Set<string>();
  for (const source of store.sourcesIn(start, end))
    for (const name of Object.keys(source.labels)) names.add(name);
  return { status: 'success', data: [...names].sort() };
}

function labelValues(store: LogStore, name: string, params: Record<string, string>) {
  const { start, end } = parseRange(params);
  const values = new Set<string>();
  for (const source of store.sourcesIn(start, end)) {
    const value = source.labels[name];
    if (value !== undefined) values.add(value);
  }
  // Loki leaves `data` out entirely for a name that is no index label (e.g. detected_level).
  return values.size === 0 ? { status: 'success' } : { status: 'success', data: [...values].sort() };
}

function success(
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

// ---------------------------------------------------------------------------------------------------
// Parameters, with Loki's error texts

function parseLimit(value: string | undefined, limits: Limits): number {
  if (value === undefined || value === '') return 100;
  if (!/^[+-]?\d+$/.test(value))
    throw new BadRequest(`strconv.Atoi: parsing ${JSON.stringify(value)}: invalid syntax`);
  const limit = Number(value);
  if (limit <= 0) throw new BadRequest('limit must be a positive value');
  if (limit > limits.maxEntries) {
    throw new BadRequest(
      `max entries limit per query exceeded, limit > max_entries_limit_per_query (${limit} > ${limits.maxEntries})`,
    );
  }
  return limit;
}

function parseDirection(value: string | undefined): 'backward' | 'forward' {
  if (value === undefined || value === '') return 'backward';
  const lower = value.toLowerCase();
  if (lower === 'backward' || lower === 'forward') return lower;
  throw new BadRequest(`invalid direction '${value}'`);
}

function parseRange(params: Record<string, string>): { start: bigint; end: bigint } {
  const now = BigInt(Date.now()) * MS;
  const end = params['end'] ? parseTime(params['end'], 'end') : now;
  const start = params['start']
    ? parseTime(params['start'], 'start')
    : (end < now ? end : now) - 3600n * SECOND;
  return { start, end };
}

/** Loki's parseTimestamp: float seconds (ms precision), integers (<= 10 digits are seconds, else ns), RFC3339. */
function parseTime(value: string, name: string): bigint {
  if (value.includes('.') && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value)) {
    const seconds = Number(value);
    const whole = Math.trunc(seconds);
    return BigInt(whole) * SECOND + BigInt(Math.round((seconds - whole) * 1000)) * MS;
  }
  if (/^[+-]?\d+$/.test(value)) {
    const number = BigInt(value);
    if (number > 9223372036854775807n || number < -9223372036854775808n) {
      throw new BadRequest(
        `could not parse '${name}' parameter: strconv.ParseInt: parsing ${JSON.stringify(value)}: value out of range`,
      );
    }
    return value.replace(/^[+-]/, '').length <= 10 ? number * SECOND : number;
  }
  const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(value);
  const ms = Date.parse(value.replace(/\.\d+/, ''));
  if (rfc3339 && Number.isFinite(ms)) {
    const fraction = (rfc3339[2] ?? '').padEnd(9, '0');
    return BigInt(Math.floor(ms / 1000)) * SECOND + BigInt(fraction);
  }
  throw new BadRequest(
    `could not parse '${name}' parameter: strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`,
  );
}

/** A step as float seconds ("300", "0.5") or a Prometheus duration ("60s", "1m"); default range/250. */
function parseStep(value: string | undefined, start: bigint, end: bigint): bigint {
  let stepNs: bigint;
  if (value === undefined || value === '') {
    const seconds = (end - start) / SECOND / 250n;
    stepNs = (seconds > 1n ? seconds : 1n) * SECOND;
  } else if (/^[+-]?(\d+\.?\d*|\.\d+)$/.test(value)) {
    stepNs = BigInt(Math.round(Number(value) * 1000)) * MS;
  } else {
    const ms = parseDurationMs(value);
    if (ms === undefined) throw new BadRequest(`not a valid duration string: ${JSON.stringify(value)}`);
    stepNs = BigInt(ms) * MS;
  }
  if (stepNs <= 0n) {
    throw new BadRequest(
      'zero or negative query resolution step widths are not accepted. Try a positive integer',
    );
  }
  if (stepNs % MS !== 0n) stepNs = (stepNs / MS + 1n) * MS;
  return stepNs;
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

/** Prometheus durations: one or more `<integer><unit>` with units ms, s, m, h, d, w, y. */
function parseDurationMs(value: string): number | undefined {
  if (!/^(\d+(ms|s|m|h|d|w|y))+$/.test(value)) return undefined;
  let total = 0;
  for (const [, amount, unit] of value.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) {
    total += Number(amount) * (DURATION_UNITS_MS[unit ?? ''] ?? 0);
  }
  return total;
}

// ---------------------------------------------------------------------------------------------------
// Storage

/** One stream as queries see it: entries sorted by time, read by index. */
interface LogSource {
  readonly labels: Labels;
  readonly size: number;
  timestamp(i: number): bigint;
  /** The first index whose timestamp is >= ns (size when none). */
  lowerBound(ns: bigint): number;
  /** Nanoseconds from `base` to entry i, as a number: exact within ±104 days, fast in tight loops. */
  offsetsFrom(base: bigint): (i: number) => number;
  line(i: number): string;
  /** Structured metadata, detected_level included. */
  metadata(i: number): Labels;
  /** The fields a parser would extract, when the source knows them without parsing (generated lines). */
  parsed?(i: number, parser: Parser): Labels | undefined;
}

class LogStore {
  private readonly stored = new Map<string, StoredStream>();
  private readonly generated: GeneratedStream[] = [];
  private readonly interned = new Map<string, Labels>();

  push(streams: readonly LokiStreamInput[]): void {
    const incoming = new Map<string, { labels: Labels; entries: StoredEntry[] }>();
    for (const stream of streams) {
      const key = labelsKey(stream.labels);
      const group = incoming.get(key) ?? { labels: { ...stream.labels }, entries: [] };
      for (const entry of stream.entries) {
        const metadata = { ...entry.metadata };
        if (metadata['detected_level'] === undefined) {
          metadata['detected_level'] = detectLevel(stream.labels, metadata, entry.line);
        }
        group.entries.push({ ts: toNs(entry.ts), line: entry.line, metadata: this.intern(metadata) });
      }
      incoming.set(key, group);
    }
    for (const [key, group] of incoming) {
      const existing = this.stored.get(key);
      const entries = existing ? [...existing.entries(), ...group.entries] : group.entries;
      this.stored.set(key, new StoredStream(existing?.labels ?? group.labels, entries));
    }
  }

  addGenerator(generator: LogGenerator): void {
    const seed = generator.seed ?? 1;
    const start = BigInt(generator.start.getTime()) * MS;
    const end = BigInt(generator.end.getTime()) * MS;
    generator.streams.forEach((spec, index) => {
      this.generated.push(new GeneratedStream(spec, seed, index, start, end));
    });
  }

  sources(): LogSource[] {
    return [...this.stored.values(), ...this.generated];
  }

  /** Sources with at least one entry in [start, end). */
  sourcesIn(start: bigint, end: bigint): LogSource[] {
    return this.sources().filter((s) => s.lowerBound(start) < s.lowerBound(end));
  }

  lineCount(): number {
    return this.sources().reduce((sum, source) => sum + source.size, 0);
  }

  /** One shared object per distinct metadata set: a million entries often carry a handful of sets. */
  private intern(metadata: Labels): Labels {
    const key = labelsKey(metadata);
    const known = this.interned.get(key);
    if (known) return known;
    this.interned.set(key, metadata);
    return metadata;
  }
}

interface StoredEntry {
  readonly ts: bigint;
  readonly line: string;
  readonly metadata: Labels;
}

class StoredStream implements LogSource {
  readonly size: number;
  private readonly times: BigInt64Array;
  private readonly lines: string[];
  private readonly metas: Labels[];

  constructor(
    readonly labels: Labels,
    entries: StoredEntry[],
  ) {
    entries.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
    this.times = new BigInt64Array(entries.length);
    this.lines = [];
    this.metas = [];
    let size = 0;
    for (const entry of entries) {
      // Loki drops an entry identical (same nanosecond, same line) to one the stream already has.
      if (this.isDuplicate(entry, size)) continue;
      this.times[size++] = entry.ts;
      this.lines.push(entry.line);
      this.metas.push(entry.metadata);
    }
    this.size = size;
  }

  private isDuplicate(entry: StoredEntry, size: number): boolean {
    for (let i = size - 1; i >= 0 && this.times[i] === entry.ts; i--)
      if (this.lines[i] === entry.line) return true;
    return false;
  }

  timestamp(i: number): bigint {
    return this.times[i] ?? 0n;
  }

  lowerBound(ns: bigint): number {
    let low = 0;
    let high = this.size;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.times[mid] ?? 0n) < ns) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  offsetsFrom(base: bigint): (i: number) => number {
    return (i) => Number((this.times[i] ?? 0n) - base);
  }

  line(i: number): string {
    return this.lines[i] ?? '';
  }

  metadata(i: number): Labels {
    return this.metas[i] ?? {};
  }

  entries(): StoredEntry[] {
    return this.lines.map((line, i) => ({ ts: this.timestamp(i), line, metadata: this.metadata(i) }));
  }
}

const ERROR_METADATA: Labels = { detected_level: 'error' };
const INFO_METADATA: Labels = { detected_level: 'info' };

/** A stream whose i-th line is computed from i and the seed: no memory per line. */
class GeneratedStream implements LogSource {
  readonly labels: Labels;
  readonly size: number;
  private readonly first: bigint;
  private readonly interval: bigint;
  private readonly salt: number;
  private readonly incidentFrom: number;
  private readonly incidentTo: number;
  private readonly format: Parser;
  private readonly messages: { error: string; info: string; quotedError: string; quotedInfo: string };

  constructor(
    private readonly spec: GeneratedLogStream,
    seed: number,
    index: number,
    start: bigint,
    end: bigint,
  ) {
    if (!(spec.linesPerSecond > 0))
      throw new Error(`generated stream ${index}: linesPerSecond must be positive`);
    this.labels = { ...spec.labels };
    this.format = spec.format ?? 'json';
    const error = spec.errorMessage ?? 'POST /checkout 500 upstream payment-gateway timeout';
    const info = spec.infoMessage ?? 'GET /products 200';
    this.messages = { error, info, quotedError: JSON.stringify(error), quotedInfo: JSON.stringify(info) };
    this.salt = hash32(seed, index, 0x5eed);
    this.interval = BigInt(Math.max(1, Math.round(1e9 / spec.linesPerSecond)));
    this.first = start + BigInt(this.salt % Number(this.interval));
    this.size = end > this.first ? Number((end - this.first + this.interval - 1n) / this.interval) : 0;
    const incident = spec.incident;
    this.incidentFrom = incident ? this.lowerBound(BigInt(incident.start.getTime()) * MS) : 0;
    this.incidentTo = incident ? this.lowerBound(BigInt(incident.end.getTime()) * MS) : 0;
  }

  timestamp(i: number): bigint {
    return this.first + BigInt(i) * this.interval;
  }

  lowerBound(ns: bigint): number {
    if (ns <= this.first) return 0;
    const index = (ns - this.first + this.interval - 1n) / this.interval;
    return index >= BigInt(this.size) ? this.size : Number(index);
  }

  offsetsFrom(base: bigint): (i: number) => number {
    const first = Number(this.first - base);
    const interval = Number(this.interval);
    return (i) => first + i * interval;
  }

  private isError(i: number): boolean {
    const inIncident = i >= this.incidentFrom && i < this.incidentTo;
    const ratio = inIncident ? (this.spec.incident?.errorRatio ?? 0) : (this.spec.errorRatio ?? 0);
    return hash32(this.salt, i, 1) / 4294967296 < ratio;
  }

  private fields(i: number): Record<string, string> {
    const error = this.isError(i);
    const ids = this.spec.errorTraceIds;
    const traceId =
      error && ids && ids.length > 0
        ? (ids[hash32(this.salt, i, 2) % ids.length] ?? '')
        : hex32(this.salt, i, 3) + hex32(this.salt, i, 4) + hex32(this.salt, i, 5) + hex32(this.salt, i, 6);
    const duration = error ? 2200 + (hash32(this.salt, i, 7) % 200) : 5 + (hash32(this.salt, i, 7) % 36);
    return {
      level: error ? 'error' : 'info',
      msg: error ? this.messages.error : this.messages.info,
      trace_id: traceId,
      duration_ms: String(duration),
    };
  }

  line(i: number): string {
    const f = this.fields(i);
    // Messages are quoted once: JSON.stringify per line would dominate a million-line scan.
    const quoted = f['level'] === 'error' ? this.messages.quotedError : this.messages.quotedInfo;
    if (this.format === 'logfmt') {
      return `level=${f['level']} msg=${quoted} trace_id=${f['trace_id']} duration_ms=${f['duration_ms']}`;
    }
    return `{"level":"${f['level']}","msg":${quoted},"trace_id":"${f['trace_id']}","duration_ms":${f['duration_ms']}}`;
  }

  metadata(i: number): Labels {
    return this.isError(i) ? ERROR_METADATA : INFO_METADATA;
  }

  parsed(i: number, parser: Parser): Labels | undefined {
    return parser === this.format ? this.fields(i) : undefined;
  }
}

/** A 32-bit mix of three integers (murmur3-style finaliser): fast, deterministic, well spread. */
function hash32(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ b;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) ^ c;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

const HEX_PAIRS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Eight hex digits of hash32 (a table lookup: toString(16) is too slow for a million ids). */
function hex32(a: number, b: number, c: number): string {
  const h = hash32(a, b, c);
  return `${HEX_PAIRS[h >>> 24]}${HEX_PAIRS[(h >>> 16) & 255]}${HEX_PAIRS[(h >>> 8) & 255]}${HEX_PAIRS[h & 255]}`;
}

/** The number of lines a generator produces (what the server will hold). */
export function generatedLineCount(generator: LogGenerator): number {
  const store = new LogStore();
  store.addGenerator(generator);
  return store.lineCount();
}

function toNs(ts: bigint | string | Date): bigint {
  if (typeof ts === 'bigint') return ts;
  if (ts instanceof Date) return BigInt(ts.getTime()) * MS;
  if (!/^\d+$/.test(ts)) throw new Error(`entry timestamp "${ts}" is not nanoseconds since the epoch`);
  return BigInt(ts);
}

const LEVEL_NAMES = ['level', 'LEVEL', 'Level', 'severity', 'SEVERITY', 'Severity', 'lvl', 'LVL', 'Lvl'];

/** Loki 3.4's level detection at ingest (distributor `detected_level`). */
function detectLevel(labels: Labels, metadata: Labels, line: string): string {
  for (const source of [labels, metadata]) {
    for (const name of LEVEL_NAMES) {
      const value = source[name];
      if (value !== undefined) return value;
    }
  }
  const severity = metadata['severity_number'];
  if (severity !== undefined) {
    const number = Number(severity);
    if (!Number.isInteger(number)) return 'info';
    if (number === 0) return 'unknown';
    const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
    return levels[Math.floor((number - 1) / 4)] ?? 'unknown';
  }
  const trimmed = line.trim();
  const fields =
    trimmed.startsWith('{') && trimmed.endsWith('}') ? parseJsonLine(line) : parseLogfmtLine(line);
  const value = LEVEL_NAMES.map((name) => fields[name]).find((v) => v !== undefined);
  const normalised = value?.toLowerCase();
  if (normalised === 'trace' || normalised === 'trc') return 'trace';
  if (normalised === 'debug' || normalised === 'dbg') return 'debug';
  if (normalised === 'info' || normalised === 'inf') return 'info';
  if (normalised === 'warn' || normalised === 'wrn') return 'warn';
  if (normalised === 'error' || normalised === 'err') return 'error';
  if (normalised === 'critical') return 'critical';
  if (normalised === 'fatal') return 'fatal';
  if (/info|INFO/.test(line)) return 'info';
  if (/err:|ERR:|error|ERROR/.test(line)) return 'error';
  if (/warn:|WARN:|warning|WARNING/.test(line)) return 'warn';
  if (/CRITICAL:|critical:/.test(line)) return 'critical';
  if (/debug:|DEBUG:/.test(line)) return 'debug';
  return 'unknown';
}

// ---------------------------------------------------------------------------------------------------
// LogQL subset: tokens

type TokenKind =
  | '{'
  | '}'
  | '('
  | ')'
  | '['
  | ']'
  | ','
  | '|'
  | 'op'
  | 'string'
  | 'number'
  | 'duration'
  | 'ident'
  | 'end';

interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  /** 1-based column of the token's first character, as Loki reports it. */
  readonly col: number;
}

const OPERATORS = ['|=', '|~', '!=', '!~', '=~', '==', '>=', '<=', '=', '>', '<'];

function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < query.length) {
    const c = query[i] ?? '';
    const col = i + 1;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const op = OPERATORS.find((o) => query.startsWith(o, i));
    if (op) {
      tokens.push({ kind: 'op', text: op, col });
      i += op.length;
    } else if ('{}()[],|'.includes(c)) {
      tokens.push({ kind: c as TokenKind, text: c, col });
      i++;
    } else if (c === '"' || c === '`') {
      const end = c === '`' ? query.indexOf('`', i + 1) : closingQuote(query, i);
      if (end < 0) throw parseError(col, 'literal not terminated');
      const raw = query.slice(i, end + 1);
      tokens.push({ kind: 'string', text: c === '`' ? raw.slice(1, -1) : unquote(raw, col), col });
      i = end + 1;
    } else if (/\d/.test(c)) {
      const match = /^(\d+(ms|s|m|h|d|w|y))+|^\d+(\.\d+)?/.exec(query.slice(i));
      const value = match?.[0] ?? c;
      tokens.push({ kind: /[a-z]$/.test(value) ? 'duration' : 'number', text: value, col });
      i += value.length;
    } else if (/[A-Za-z_]/.test(c)) {
      const value = /^[A-Za-z_][A-Za-z0-9_]*/.exec(query.slice(i))?.[0] ?? c;
      tokens.push({ kind: 'ident', text: value, col });
      i += value.length;
    } else {
      throw parseError(col, `syntax error: unexpected ${c}`);
    }
  }
  tokens.push({ kind: 'end', text: '$end', col: query.length + 1 });
  return tokens;
}

function closingQuote(query: string, open: number): number {
  for (let i = open + 1; i < query.length; i++) {
    if (query[i] === '\\') i++;
    else if (query[i] === '"') return i;
  }
  return -1;
}

function unquote(raw: string, col: number): string {
  try {
    return JSON.parse(raw) as string;
  } catch {
    throw parseError(col, `invalid string literal ${raw}`);
  }
}

function parseError(col: number, detail: string): BadRequest {
  return new BadRequest(`parse error at line 1, col ${col}: ${detail}`);
}

// ---------------------------------------------------------------------------------------------------
// LogQL subset: syntax tree and parser

type Parser = 'json' | 'logfmt';
type MatchOp = '=' | '!=' | '=~' | '!~';

interface Matcher {
  readonly name: string;
  readonly test: (value: string) => boolean;
  /** True when the empty string matches: Loki needs at least one matcher that does not. */
  readonly matchesEmpty: boolean;
}

type Stage =
  | { readonly kind: 'line'; readonly test: (line: string) => boolean }
  | { readonly kind: 'parser'; readonly parser: Parser }
  | { readonly kind: 'label'; readonly name: string; readonly test: (value: string | undefined) => boolean };

interface LogSelector {
  readonly matchers: readonly Matcher[];
  readonly stages: readonly Stage[];
}

interface Grouping {
  readonly mode: 'by' | 'without';
  readonly labels: readonly string[];
}

type MetricExpr =
  | {
      readonly kind: 'range';
      readonly fn: 'count_over_time' | 'rate';
      readonly selector: LogSelector;
      readonly rangeNs: bigint;
    }
  | { readonly kind: 'sum'; readonly grouping?: Grouping; readonly inner: MetricExpr }
  | { readonly kind: 'topk'; readonly k: number; readonly inner: MetricExpr };

type Query =
  | { readonly kind: 'log'; readonly selector: LogSelector }
  | { readonly kind: 'metric'; readonly expr: MetricExpr };

const OUTSIDE_SUBSET = ' (outside the LogQL subset of this test server)';

/** Parses the supported LogQL subset; everything else throws a 400 in Loki's words. */
function parseLogQL(query: string): Query {
  const tokens = tokenize(query);
  let position = 0;
  const peek = (): Token => tokens[position] ?? (tokens[tokens.length - 1] as Token);
  const next = (): Token => {
    const token = peek();
    if (token.kind !== 'end') position++;
    return token;
  };
  const unexpected = (token: Token, hint = ''): BadRequest =>
    parseError(token.col, `syntax error: unexpected ${describeToken(token)}${hint}`);
  const expect = (kind: TokenKind, text?: string): Token => {
    const token = next();
    if (token.kind !== kind || (text !== undefined && token.text !== text)) throw unexpected(token);
    return token;
  };

  function selector(): LogSelector {
    const open = expect('{');
    const matchers: Matcher[] = [];
    while (peek().kind !== '}') {
      if (matchers.length > 0) expect(',');
      const name = expect('ident').text;
      const op = next();
      if (op.kind !== 'op' || !['=', '!=', '=~', '!~'].includes(op.text)) throw unexpected(op);
      const value = expect('string');
      matchers.push(matcher(name, op.text as MatchOp, value));
    }
    expect('}');
    if (!matchers.some((m) => !m.matchesEmpty)) {
      throw new BadRequest(
        `parse error at line 1, col ${open.col}: queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~".*" does not meet this requirement, but app=~".+" will`,
      );
    }
    const stages: Stage[] = [];
    while (true) {
      const token = peek();
      if (token.kind === 'op' && ['|=', '!=', '|~', '!~'].includes(token.text)) {
        next();
        const value = expect('string');
        stages.push({ kind: 'line', test: lineFilter(token.text, value) });
      } else if (token.kind === '|') {
        next();
        stages.push(stage());
      } else {
        return { matchers, stages };
      }
    }
  }

  function stage(): Stage {
    const name = expect('ident');
    const op = peek();
    if (op.kind !== 'op') {
      if (name.text === 'json' || name.text === 'logfmt') return { kind: 'parser', parser: name.text };
      throw unexpected(name, OUTSIDE_SUBSET);
    }
    next();
    const value = next();
    if (value.kind === 'string' && ['=', '!=', '=~', '!~'].includes(op.text)) {
      const m = matcher(name.text, op.text as MatchOp, value);
      return { kind: 'label', name: name.text, test: (v) => m.test(v ?? '') };
    }
    if (
      (value.kind === 'number' || value.kind === 'duration') &&
      ['==', '!=', '>', '>=', '<', '<='].includes(op.text)
    ) {
      const bound = value.kind === 'number' ? Number(value.text) : (parseDurationMs(value.text) ?? 0) / 1000;
      return { kind: 'label', name: name.text, test: numericTest(op.text, bound) };
    }
    throw unexpected(value);
  }

  function grouping(): Grouping | undefined {
    const token = peek();
    if (token.kind !== 'ident' || (token.text !== 'by' && token.text !== 'without')) return undefined;
    next();
    expect('(');
    const labels: string[] = [];
    while (peek().kind !== ')') {
      if (labels.length > 0) expect(',');
      labels.push(expect('ident').text);
    }
    expect(')');
    return { mode: token.text as 'by' | 'without', labels };
  }

  function metric(): MetricExpr {
    const token = next();
    if (token.kind !== 'ident') throw unexpected(token);
    if (token.text === 'sum') {
      const before = grouping();
      expect('(');
      const inner = metric();
      expect(')');
      const group = before ?? grouping();
      return group ? { kind: 'sum', grouping: group, inner } : { kind: 'sum', inner };
    }
    if (token.text === 'topk') {
      expect('(');
      const k = Number(expect('number').text);
      expect(',');
      const inner = metric();
      expect(')');
      return { kind: 'topk', k, inner };
    }
    if (token.text === 'count_over_time' || token.text === 'rate') {
      expect('(');
      const logSelector = selector();
      expect('[');
      const range = expect('duration');
      expect(']');
      expect(')');
      return {
        kind: 'range',
        fn: token.text,
        selector: logSelector,
        rangeNs: BigInt(parseDurationMs(range.text) ?? 0) * MS,
      };
    }
    throw unexpected(token, OUTSIDE_SUBSET);
  }

  const result: Query =
    peek().kind === '{' ? { kind: 'log', selector: selector() } : { kind: 'metric', expr: metric() };
  expect('end');
  return result;
}

function describeToken(token: Token): string {
  switch (token.kind) {
    case 'end':
      return '$end';
    case 'string':
      return 'STRING';
    case 'number':
      return 'NUMBER';
    case 'duration':
      return 'DURATION';
    case 'ident':
      return 'IDENTIFIER';
    default:
      return token.text;
  }
}

function matcher(name: string, op: MatchOp, value: Token): Matcher {
  const test = valueTest(op, value.text, value.col);
  return { name, test, matchesEmpty: test('') };
}

/** Label matching: `=~` and `!~` are fully anchored, as in Prometheus and Loki. */
function valueTest(op: MatchOp, value: string, col: number): (candidate: string) => boolean {
  if (op === '=') return (candidate) => candidate === value;
  if (op === '!=') return (candidate) => candidate !== value;
  const regex = compileRegex(value, col, true);
  return op === '=~' ? (candidate) => regex.test(candidate) : (candidate) => !regex.test(candidate);
}

/** Line filters: `|=` contains, `!=` does not, `|~`/`!~` an unanchored RE2-style regex. */
function lineFilter(op: string, value: Token): (line: string) => boolean {
  if (op === '|=') return (line) => line.includes(value.text);
  if (op === '!=') return (line) => !line.includes(value.text);
  const regex = compileRegex(value.text, value.col, false);
  return op === '|~' ? (line) => regex.test(line) : (line) => !regex.test(line);
}

function compileRegex(pattern: string, col: number, anchored: boolean): RegExp {
  // RE2's leading (?i) is the one flag LogQL queries commonly use.
  const insensitive = pattern.startsWith('(?i)');
  const body = insensitive ? pattern.slice(4) : pattern;
  try {
    return new RegExp(anchored ? `^(?:${body})$` : body, insensitive ? 'i' : '');
  } catch (error) {
    throw parseError(col, `error parsing regexp: ${(error as Error).message}`);
  }
}

function numericTest(op: string, bound: number): (value: string | undefined) => boolean {
  return (value) => {
    if (value === undefined || value === '') return false;
    const number = Number(value);
    if (Number.isNaN(number)) return false;
    switch (op) {
      case '==':
        return number === bound;
      case '!=':
        return number !== bound;
      case '>':
        return number > bound;
      case '>=':
        return number >= bound;
      case '<':
        return number < bound;
      default:
        return number <= bound;
    }
  };
}

// ---------------------------------------------------------------------------------------------------
// Evaluation

/** An entry that passed the pipeline, with the label sets it carries. */
interface Passed {
  readonly source: LogSource;
  readonly index: number;
  readonly metadata: Labels;
  readonly parsed: Labels | undefined;
}

function selects(source: LogSource, matchers: readonly Matcher[]): boolean {
  return matchers.every((m) => m.test(source.labels[m.name] ?? ''));
}

function lookup(entry: Passed, name: string): string | undefined {
  return entry.parsed?.[name] ?? entry.metadata[name] ?? entry.source.labels[name];
}

/** Stream labels, structured metadata and parsed labels in one object (plain loops: spreads are slow here). */
function allLabels(entry: Passed): Labels {
  const labels: Record<string, string> = {};
  for (const part of [entry.source.labels, entry.metadata, entry.parsed ?? {}]) {
    for (const name in part) labels[name] = part[name] ?? '';
  }
  return labels;
}

function clashes(fields: Labels, labels: Labels, metadata: Labels): boolean {
  for (const name in fields) if (name in labels || name in metadata) return true;
  return false;
}

/** Runs line filters, parsers and label filters; undefined when the entry is filtered out. */
function runPipeline(
  source: LogSource,
  index: number,
  stages: readonly Stage[],
  stats: QueryStats,
): Passed | undefined {
  const metadata = source.metadata(index);
  let line: string | undefined;
  let parsed: Record<string, string> | undefined;
  stats.linesProcessed++;
  for (const stage of stages) {
    if (stage.kind === 'line') {
      line ??= source.line(index);
      if (!stage.test(line)) return undefined;
    } else if (stage.kind === 'parser') {
      const known = source.parsed?.(index, stage.parser);
      let fields: Labels;
      if (known) {
        fields = known;
      } else {
        line ??= source.line(index);
        fields = stage.parser === 'json' ? parseJsonLine(line) : parseLogfmtLine(line);
      }
      // The common case, one parser and no clash, keeps the fields object as it is: no copy per line.
      if (parsed === undefined && !clashes(fields, source.labels, metadata)) {
        parsed = fields as Record<string, string>;
        continue;
      }
      const merged: Record<string, string> = { ...parsed };
      for (const name in fields) {
        // Loki renames an extracted label that already exists on the stream.
        const taken = name in source.labels || name in metadata;
        merged[taken && !name.startsWith('__') ? `${name}_extracted` : name] = fields[name] ?? '';
      }
      parsed = merged;
    } else {
      const value = parsed?.[stage.name] ?? metadata[stage.name] ?? source.labels[stage.name];
      if (!stage.test(value)) return undefined;
    }
  }
  if (line !== undefined) stats.bytesProcessed += line.length;
  stats.postFilterLines++;
  return { source, index, metadata, parsed };
}

const NOT_JSON: Labels = { __error__: 'JSONParserErr', __error_details__: 'the line is not a JSON object' };

/** `| json`: top-level and nested fields (joined with `_`), names sanitised; arrays are skipped. */
function parseJsonLine(line: string): Labels {
  // Most lines that are not JSON fail this check: exceptions are too slow to take per line.
  if (!line.trimStart().startsWith('{')) return NOT_JSON;
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return NOT_JSON;
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    return { __error__: 'JSONParserErr', __error_details__: 'Value is not an object' };
  }
  const fields: Record<string, string> = {};
  flattenJson(record as Record<string, unknown>, '', fields);
  return fields;
}

function flattenJson(value: Record<string, unknown>, prefix: string, fields: Record<string, string>): void {
  for (const key in value) {
    const child = value[key];
    const name = prefix + (SAFE_NAME.test(key) ? key : key.replace(/[^A-Za-z0-9_]/g, '_'));
    if (child === null) fields[name] = '';
    else if (Array.isArray(child)) continue;
    else if (typeof child === 'object') flattenJson(child as Record<string, unknown>, `${name}_`, fields);
    else fields[name] = String(child);
  }
}

const SAFE_NAME = /^[A-Za-z0-9_]+$/;

/** `| logfmt`: key=value pairs, values optionally double-quoted with escapes; a bare key has value "". */
function parseLogfmtLine(line: string): Labels {
  const fields: Record<string, string> = {};
  const pair = /([^\s=]+)(?:=("(?:[^"\\]|\\.)*"|[^\s"]*))?/g;
  for (const [, key, raw] of line.matchAll(pair)) {
    if (key === undefined) continue;
    let value = raw ?? '';
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        value = value.slice(1, -1);
      }
    }
    fields[key.replace(/[^A-Za-z0-9_]/g, '_')] = value;
  }
  return fields;
}

interface LogQueryOptions {
  readonly start: bigint;
  readonly end: bigint;
  readonly limit: number;
  readonly direction: 'backward' | 'forward';
  readonly categorize: boolean;
}

function runLogQuery(store: LogStore, selector: LogSelector, options: LogQueryOptions) {
  const stats = newStats();
  // Each stream gives at most `limit` entries from the right end; the merge keeps the best `limit`.
  const candidates: { ts: bigint; entry: Passed; order: number }[] = [];
  let order = 0;
  for (const source of store.sources()) {
    if (!selects(source, selector.matchers)) continue;
    const low = source.lowerBound(options.start);
    const high = source.lowerBound(options.end);
    let taken = 0;
    if (options.direction === 'backward') {
      for (let i = high - 1; i >= low && taken < options.limit; i--) {
        const entry = runPipeline(source, i, selector.stages, stats);
        if (entry) {
          candidates.push({ ts: source.timestamp(i), entry, order: order++ });
          taken++;
        }
      }
    } else {
      for (let i = low; i < high && taken < options.limit; i++) {
        const entry = runPipeline(source, i, selector.stages, stats);
        if (entry) {
          candidates.push({ ts: source.timestamp(i), entry, order: order++ });
          taken++;
        }
      }
    }
  }
  const sign = options.direction === 'backward' ? -1 : 1;
  candidates.sort((a, b) => (a.ts === b.ts ? a.order - b.order : a.ts < b.ts ? -sign : sign));
  const chosen = candidates.slice(0, options.limit);

  const streams = new Map<string, { stream: Labels; values: unknown[] }>();
  const keys = new KeyCache();
  for (const { ts, entry } of chosen) {
    const line = entry.source.line(entry.index);
    // Keyed by its parts, so the merged label set is built once per output stream, not per entry.
    const key = options.categorize
      ? keys.of(entry.source.labels)
      : `${keys.of(entry.source.labels)}|${keys.of(entry.metadata)}|${entry.parsed ? labelsKey(entry.parsed) : ''}`;
    let group = streams.get(key);
    if (!group) {
      group = {
        stream: options.categorize ? entry.source.labels : sortedLabels(allLabels(entry)),
        values: [],
      };
      streams.set(key, group);
    }
    if (options.categorize) {
      const extra: Record<string, Labels> = {};
      if (Object.keys(entry.metadata).length > 0) extra['structuredMetadata'] = sortedLabels(entry.metadata);
      if (entry.parsed && Object.keys(entry.parsed).length > 0) extra['parsed'] = sortedLabels(entry.parsed);
      group.values.push([ts.toString(), line, extra]);
    } else {
      group.values.push([ts.toString(), line]);
    }
  }
  stats.entriesReturned = chosen.length;
  return { streams: [...streams.values()], stats };
}

/** labelsKey per label object, for objects shared by many entries (stream labels, interned metadata). */
class KeyCache {
  private readonly keys = new WeakMap<Labels, string>();

  of(labels: Labels): string {
    let key = this.keys.get(labels);
    if (key === undefined) {
      key = labelsKey(labels);
      this.keys.set(labels, key);
    }
    return key;
  }
}

interface Points {
  /** The first evaluation time. */
  readonly firstNs: bigint;
  readonly stepNs: bigint;
  readonly count: number;
}

interface Series {
  readonly labels: Labels;
  /** One value per step; 0 means no sample at that step. */
  readonly values: Float64Array;
}

function evaluateMetric(store: LogStore, expr: MetricExpr, points: Points, limits: Limits) {
  const stats = newStats();
  const series = evaluate(store, expr, points, stats, limits);
  if (series.length > limits.maxSeries) {
    throw new BadRequest(`maximum of series (${limits.maxSeries}) reached for a single query`);
  }
  series.sort((a, b) => compareStrings(labelsKey(a.labels), labelsKey(b.labels)));
  stats.entriesReturned = series.length;
  return { series, stats };
}

function evaluate(
  store: LogStore,
  expr: MetricExpr,
  points: Points,
  stats: QueryStats,
  limits: Limits,
): Series[] {
  switch (expr.kind) {
    case 'range':
      return evaluateRange(store, expr, points, undefined, stats, limits);
    case 'sum':
      // Grouping while counting keeps memory flat when entries carry unique labels (trace ids).
      if (expr.inner.kind === 'range')
        return evaluateRange(
          store,
          expr.inner,
          points,
          expr.grouping ?? { mode: 'by', labels: [] },
          stats,
          limits,
        );
      return regroup(
        evaluate(store, expr.inner, points, stats, limits),
        expr.grouping ?? { mode: 'by', labels: [] },
        points,
      );
    case 'topk':
      return topk(evaluate(store, expr.inner, points, stats, limits), expr.k, points);
  }
}

function evaluateRange(
  store: LogStore,
  expr: Extract<MetricExpr, { kind: 'range' }>,
  points: Points,
  grouping: Grouping | undefined,
  stats: QueryStats,
  limits: Limits,
): Series[] {
  const step = Number(points.stepNs);
  const range = Number(expr.rangeNs);
  const lastNs = points.firstNs + BigInt(points.count - 1) * points.stepNs;
  // Grouping by one label (the usual `sum by (level)`) keys series by its value alone.
  const byOne = grouping?.mode === 'by' && grouping.labels.length === 1 ? grouping.labels[0] : undefined;
  // Differences per step: an entry counts for every point t with t - range < ts <= t.
  const bySeries = new Map<string, { labels: Labels; diff: Float64Array }>();
  for (const source of store.sources()) {
    if (!selects(source, expr.selector.matchers)) continue;
    const low = source.lowerBound(points.firstNs - expr.rangeNs + 1n);
    const high = source.lowerBound(lastNs + 1n);
    const offsetOf = source.offsetsFrom(points.firstNs);
    for (let i = low; i < high; i++) {
      const entry = runPipeline(source, i, expr.selector.stages, stats);
      if (!entry) continue;
      let key: string;
      if (byOne !== undefined) key = lookup(entry, byOne) ?? '';
      else if (grouping?.mode === 'by')
        key = grouping.labels.map((name) => lookup(entry, name) ?? '').join('\u0000');
      else key = labelsKey(grouping ? groupLabels(entry, grouping) : allLabels(entry));
      let series = bySeries.get(key);
      if (!series) {
        if (bySeries.size >= limits.maxSeries) {
          throw new BadRequest(`maximum of series (${limits.maxSeries}) reached for a single query`);
        }
        const labels = grouping ? groupLabels(entry, grouping) : sortedLabels(allLabels(entry));
        series = { labels, diff: new Float64Array(points.count + 1) };
        bySeries.set(key, series);
      }
      const offset = offsetOf(i);
      const first = Math.max(0, exactCeilDiv(offset, step));
      const last = Math.min(points.count - 1, exactCeilDiv(offset + range, step) - 1);
      if (first > last) continue;
      series.diff[first] = (series.diff[first] ?? 0) + 1;
      series.diff[last + 1] = (series.diff[last + 1] ?? 0) - 1;
    }
  }
  const rangeSeconds = range / 1e9;
  return [...bySeries.values()].map(({ labels, diff }) => {
    const values = new Float64Array(points.count);
    let running = 0;
    for (let k = 0; k < points.count; k++) {
      running += diff[k] ?? 0;
      values[k] = expr.fn === 'rate' ? running / rangeSeconds : running;
    }
    return { labels, values };
  });
}

function groupLabels(entry: Passed, grouping: Grouping): Labels {
  if (grouping.mode === 'by') {
    const labels: Record<string, string> = {};
    for (const name of grouping.labels) {
      const value = lookup(entry, name);
      if (value !== undefined && value !== '') labels[name] = value;
    }
    return labels;
  }
  const labels = { ...allLabels(entry) };
  for (const name of grouping.labels) delete labels[name];
  return sortedLabels(labels);
}

function regroup(series: readonly Series[], grouping: Grouping, points: Points): Series[] {
  const groups = new Map<string, Series>();
  for (const s of series) {
    const labels: Record<string, string> = {};
    for (const [name, value] of Object.entries(s.labels)) {
      if (grouping.labels.includes(name) === (grouping.mode === 'by')) labels[name] = value;
    }
    const key = labelsKey(labels);
    const group = groups.get(key) ?? { labels: sortedLabels(labels), values: new Float64Array(points.count) };
    for (let k = 0; k < points.count; k++) group.values[k] = (group.values[k] ?? 0) + (s.values[k] ?? 0);
    groups.set(key, group);
  }
  return [...groups.values()];
}

/** Prometheus topk: per step, the k largest series keep their value there. */
function topk(series: readonly Series[], k: number, points: Points): Series[] {
  const kept = series.map((s) => ({ labels: s.labels, values: new Float64Array(points.count) }));
  for (let step = 0; step < points.count; step++) {
    const ranked = series
      .map((s, index) => ({ index, value: s.values[step] ?? 0 }))
      .filter((r) => r.value !== 0)
      .sort((a, b) => b.value - a.value)
      .slice(0, k);
    for (const { index, value } of ranked) {
      const target = kept[index];
      if (target) target.values[step] = value;
    }
  }
  return kept.filter((s) => s.values.some((v) => v !== 0));
}

function presentSteps(values: Float64Array): number[] {
  const steps: number[] = [];
  values.forEach((value, k) => {
    if (value !== 0) steps.push(k);
  });
  return steps;
}

function formatSample(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

// ---------------------------------------------------------------------------------------------------
// Stats, shaped as Loki 3.4 sends them

interface QueryStats {
  linesProcessed: number;
  bytesProcessed: number;
  postFilterLines: number;
  entriesReturned: number;
}

function newStats(): QueryStats {
  return { linesProcessed: 0, bytesProcessed: 0, postFilterLines: 0, entriesReturned: 0 };
}

function statsBody(stats: QueryStats, execTime: number) {
  const chunk = {
    headChunkBytes: stats.bytesProcessed,
    headChunkLines: stats.linesProcessed,
    decompressedBytes: 0,
    decompressedLines: 0,
    compressedBytes: 0,
    totalDuplicates: 0,
    postFilterLines: stats.postFilterLines,
    headChunkStructuredMetadataBytes: 0,
    decompressedStructuredMetadataBytes: 0,
  };
  const store = (c: typeof chunk, refsFetchTime: number) => ({
    totalChunksRef: 0,
    totalChunksDownloaded: 0,
    chunksDownloadTime: 0,
    queryReferencedStructuredMetadata: false,
    chunk: c,
    chunkRefsFetchTime: refsFetchTime,
    congestionControlLatency: 0,
    pipelineWrapperFilteredLines: 0,
  });
  const emptyChunk = Object.fromEntries(Object.keys(chunk).map((key) => [key, 0])) as typeof chunk;
  const cache = () => ({
    entriesFound: 0,
    entriesRequested: 0,
    entriesStored: 0,
    bytesReceived: 0,
    bytesSent: 0,
    requests: 0,
    downloadTime: 0,
    queryLengthServed: 0,
  });
  const perSecond = (amount: number) => (execTime > 0 ? Math.round(amount / execTime) : 0);
  return {
    summary: {
      bytesProcessedPerSecond: perSecond(stats.bytesProcessed),
      linesProcessedPerSecond: perSecond(stats.linesProcessed),
      totalBytesProcessed: stats.bytesProcessed,
      totalLinesProcessed: stats.linesProcessed,
      execTime,
      queueTime: 0,
      subqueries: 0,
      totalEntriesReturned: stats.entriesReturned,
      splits: 1,
      shards: 1,
      totalPostFilterLines: stats.postFilterLines,
      totalStructuredMetadataBytesProcessed: 0,
    },
    querier: { store: store(emptyChunk, 0) },
    ingester: {
      totalReached: 1,
      totalChunksMatched: stats.linesProcessed > 0 ? 1 : 0,
      totalBatches: 1,
      totalLinesSent: stats.postFilterLines,
      store: store(chunk, 0),
    },
    cache: {
      chunk: cache(),
      index: cache(),
      result: cache(),
      statsResult: cache(),
      volumeResult: cache(),
      seriesResult: cache(),
      labelResult: cache(),
      instantMetricResult: cache(),
    },
    index: { totalChunks: 0, postFilterChunks: 0, shardsDuration: 0, usedBloomFilters: false },
  };
}

// ---------------------------------------------------------------------------------------------------
// Label sets and integer division

function labelsKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((name) => `${name}=${JSON.stringify(labels[name])}`)
    .join(',');
}

function sortedLabels(labels: Labels): Labels {
  const sorted: Record<string, string> = {};
  const names = Object.keys(labels).sort();
  for (const name of names) sorted[name] = labels[name] ?? '';
  return sorted;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a > 0n ? q + 1n : q;
}

/** ceil(a / b) for integers below 2^53, exact where float division could round across an integer. */
function exactCeilDiv(a: number, b: number): number {
  let q = Math.ceil(a / b);
  while (q * b < a) q++;
  while ((q - 1) * b >= a) q--;
  return q;
}
