/**
 * A Loki (3.x) query client for what an incident timeline needs: metric queries to find spikes, then a
 * bounded sample of log lines paged correctly under Loki's 5000-entries-per-query limit.
 *
 * Timestamps stay nanosecond strings end to end (Loki's log entries are `["<ns>", "<line>"]`): paging
 * uses BigInt arithmetic on them, never float seconds, so entries sharing a nanosecond are not lost.
 */
import * as z from 'zod';
import { UpstreamError, ValidationError } from '../errors.js';
import { TenantJsonApi } from './http-json.js';

export interface LokiClientOptions {
  /** Loki's base URL (LOKI_URL), e.g. http://loki:3100. */
  readonly baseUrl: string;
  /** Tenant sent as X-Scope-OrgID when Loki runs with auth_enabled. @default none */
  readonly tenant?: string;
  /** Time limit per HTTP request in milliseconds. @default 10000 */
  readonly timeoutMs?: number;
  /** The fetch to use. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** A larger answer is an UpstreamError. @default 10 MiB */
  readonly maxResponseBytes?: number;
  /** Authorization header for a hosted service (LOKI_AUTH), sent to baseUrl's origin only. @default none */
  readonly authorization?: string | undefined;
}

export type Labels = Readonly<Record<string, string>>;

export interface MetricPoint {
  readonly at: Date;
  readonly value: number;
}

export interface MetricSeries {
  readonly metric: Labels;
  /** Points in time order; steps without samples are absent (Loki does not zero-fill). */
  readonly values: readonly MetricPoint[];
}

export interface RangeMatrixOptions {
  readonly start: Date;
  readonly end: Date;
  /** Resolution in seconds; Loki aligns start down and end up to a multiple of it. */
  readonly stepSeconds: number;
  /** Cancels the request, e.g. when the caller's overall budget runs out. */
  readonly signal?: AbortSignal;
}

export interface SampleLinesOptions {
  /** Inclusive. */
  readonly start: Date;
  /** Exclusive, as in Loki. */
  readonly end: Date;
  /** How many lines are wanted in total, e.g. 200. */
  readonly limit: number;
  /**
   * Entries asked for per request, at most 5000 (max_entries_limit_per_query); a request also asks for the
   * entries it will see again at the page boundary and, on the last page, one more to learn whether
   * anything was cut. @default min(limit, 1000)
   */
  readonly pageSize?: number;
  /** 'backward' gives the newest lines first. @default 'backward' */
  readonly direction?: 'backward' | 'forward';
  /** Requests at most this many pages, a guard against pathological data. @default 50 */
  readonly maxPages?: number;
  /** Cancels the paging, e.g. when the caller's overall budget runs out. */
  readonly signal?: AbortSignal;
}

export interface LogLine {
  readonly at: Date;
  /** The exact Loki timestamp: nanoseconds since the epoch, as a decimal string. */
  readonly tsNs: string;
  /** Stream labels merged with structured metadata and parser-extracted labels, when present. */
  readonly labels: Labels;
  readonly line: string;
}

export interface LogSample {
  /** Newest first for 'backward', oldest first for 'forward'; each entry once. */
  readonly lines: readonly LogLine[];
  /** How many query_range requests were made. */
  readonly pages: number;
  /** True when more matching lines may exist than were returned (limit or page cap reached). */
  readonly truncated: boolean;
}

/** Loki's default `max_entries_limit_per_query`: a larger `limit` is answered with HTTP 400. */
export const MAX_ENTRIES_PER_QUERY = 5000;

const DEFAULT_MAX_PAGES = 50;

const labelsSchema = z.record(z.string(), z.string());
const categorizedSchema = z.looseObject({
  structuredMetadata: labelsSchema.optional(),
  parsed: labelsSchema.optional(),
});
// Entries are checked one by one in pageEntries: a schema per entry costs too much on 5000-entry pages.
const streamsDataSchema = z.looseObject({
  resultType: z.literal('streams'),
  result: z.array(z.looseObject({ stream: labelsSchema, values: z.array(z.array(z.unknown())) })),
});
const matrixDataSchema = z.looseObject({
  resultType: z.literal('matrix'),
  result: z.array(
    z.looseObject({
      metric: labelsSchema,
      values: z.array(z.tuple([z.number(), z.string()])),
    }),
  ),
});
const queryResponseSchema = z.looseObject({
  status: z.literal('success'),
  data: z.looseObject({ resultType: z.string() }),
});

export class LokiClient {
  private readonly api: TenantJsonApi;

  constructor(options: LokiClientOptions) {
    this.api = new TenantJsonApi('loki', options);
  }

  /** Runs a metric query (e.g. `sum by (level) (count_over_time({...} | json [1m]))`) over a range. */
  async queryRangeMatrix(query: string, options: RangeMatrixOptions): Promise<MetricSeries[]> {
    if (!(options.stepSeconds > 0)) {
      throw invalid('stepSeconds', `must be a positive number of seconds, got ${options.stepSeconds}`);
    }
    const data = await this.queryRange(
      {
        query,
        start: dateToNs(options.start).toString(),
        end: dateToNs(options.end).toString(),
        step: String(options.stepSeconds),
      },
      options.signal,
    );
    if (data.resultType !== 'matrix') {
      throw new UpstreamError(
        'loki',
        `expected a matrix for a metric query but got "${data.resultType}": is "${query}" a log query? Use sampleLines for those`,
      );
    }
    const matrix = parseShape(matrixDataSchema, data, 'query_range matrix');
    return matrix.result.map((series) => ({
      metric: series.metric,
      values: series.values.map(([seconds, value]) => ({
        at: new Date(Math.round(seconds * 1000)),
        value: parseSampleValue(value),
      })),
    }));
  }

  /**
   * Fetches up to `limit` lines of a log query, paging as logcli does: backward, the next page ends at
   * the oldest timestamp + 1 ns (end is exclusive, so entries at that nanosecond come again and the ones
   * already seen are dropped); forward, the next page starts at the newest timestamp.
   */
  async sampleLines(query: string, options: SampleLinesOptions): Promise<LogSample> {
    const limit = options.limit;
    if (!Number.isInteger(limit) || limit < 1)
      throw invalid('limit', `must be a positive integer, got ${limit}`);
    const pageSize = options.pageSize ?? Math.min(limit, 1000);
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_ENTRIES_PER_QUERY) {
      throw invalid('pageSize', `must be an integer from 1 to ${MAX_ENTRIES_PER_QUERY}, got ${pageSize}`);
    }
    const maxPages = options.maxPages ?? DEFAULT_MAX_PAGES;
    const direction = options.direction ?? 'backward';
    let startNs = dateToNs(options.start);
    let endNs = dateToNs(options.end);

    const lines: LogLine[] = [];
    // Keys (stream + ts + line) of the entries already taken at the current page boundary timestamp.
    let boundary: { ts: bigint; keys: Set<string> } | undefined;
    let pages = 0;

    while (true) {
      if (pages >= maxPages) return { lines, pages, truncated: true };
      const remaining = limit - lines.length;
      const overlap = boundary?.keys.size ?? 0;
      // One entry beyond what is needed tells whether more exist, so `truncated` is exact on the last page.
      const probe = remaining <= pageSize ? 1 : 0;
      const requested = Math.min(MAX_ENTRIES_PER_QUERY, Math.min(pageSize, remaining) + overlap + probe);

      const data = await this.queryRange(
        {
          query,
          start: startNs.toString(),
          end: endNs.toString(),
          limit: String(requested),
          direction,
        },
        options.signal,
      );
      pages++;
      if (data.resultType !== 'streams') {
        throw new UpstreamError(
          'loki',
          `expected log streams but got "${data.resultType}": is "${query}" a metric query? Use queryRangeMatrix for those`,
        );
      }
      const entries = pageEntries(parseShape(streamsDataSchema, data, 'query_range streams'), direction);

      const fresh = entries.filter((entry) => !(boundary?.ts === entry.ts && boundary.keys.has(entry.key)));
      for (const entry of fresh.slice(0, remaining)) lines.push(entry.line);
      if (fresh.length > remaining) return { lines, pages, truncated: true };
      if (entries.length < requested) return { lines, pages, truncated: false };
      if (lines.length >= limit) return { lines, pages, truncated: true };

      const edge = entries[entries.length - 1];
      if (edge === undefined || fresh.length === 0) {
        // A full page with nothing new: more entries share one nanosecond than a page can hold.
        return { lines, pages, truncated: true };
      }
      const keys = boundary?.ts === edge.ts ? boundary.keys : new Set<string>();
      for (const entry of entries) if (entry.ts === edge.ts) keys.add(entry.key);
      boundary = { ts: edge.ts, keys };
      if (direction === 'backward') endNs = edge.ts + 1n;
      else startNs = edge.ts;
    }
  }

  private async queryRange(params: Record<string, string>, signal: AbortSignal | undefined) {
    const answer = await this.api.get('/loki/api/v1/query_range', params, signal);
    return parseShape(queryResponseSchema, answer.body, 'query_range response').data;
  }
}

/**
 * Trace ids mentioned by log lines, lower-case 32-hex, each once, in line order. Looks at a `trace_id`
 * label (stream, structured metadata or parsed), a JSON `trace_id`/`traceID`/`traceId` field, and a
 * logfmt `trace_id=` pair. All-zero ids (untraced requests) are skipped.
 */
export function extractTraceIds(lines: readonly Pick<LogLine, 'labels' | 'line'>[]): string[] {
  const ids = new Set<string>();
  for (const { labels, line } of lines) {
    const id = normaliseHexTraceId(
      labels['trace_id'] ?? labels['traceID'] ?? labels['traceId'] ?? traceIdInLine(line),
    );
    if (id !== undefined) ids.add(id);
  }
  return [...ids];
}

const TRACE_ID_FIELDS = ['trace_id', 'traceID', 'traceId'] as const;
const LOGFMT_TRACE_ID = /(?:^|\s)(?:trace_id|traceID|traceId)="?([0-9a-fA-F]{1,32})"?(?=\s|$)/;

function traceIdInLine(line: string): string | undefined {
  const text = line.trim();
  if (text.startsWith('{') && text.endsWith('}')) {
    try {
      const record: unknown = JSON.parse(text);
      if (typeof record === 'object' && record !== null) {
        for (const field of TRACE_ID_FIELDS) {
          const value = (record as Record<string, unknown>)[field];
          if (typeof value === 'string') return value;
        }
      }
    } catch {
      // Not JSON after all: try logfmt.
    }
  }
  return LOGFMT_TRACE_ID.exec(text)?.[1];
}

function normaliseHexTraceId(value: string | undefined): string | undefined {
  if (value === undefined || !/^[0-9a-fA-F]{1,32}$/.test(value) || /^0+$/.test(value)) return undefined;
  return value.toLowerCase().padStart(32, '0');
}

interface PageEntry {
  readonly ts: bigint;
  readonly key: string;
  readonly line: LogLine;
}

/** Merges the streams of one page into entries in the page's direction (Loki orders within a stream only). */
function pageEntries(
  data: z.output<typeof streamsDataSchema>,
  direction: 'backward' | 'forward',
): PageEntry[] {
  const entries: PageEntry[] = [];
  for (const stream of data.result) {
    const streamKey = labelsKey(stream.stream);
    for (const value of stream.values) {
      const [tsNs, line, extra] = value;
      if (typeof tsNs !== 'string' || typeof line !== 'string') {
        throw new UpstreamError(
          'loki',
          `answered a log entry that is not ["<ns>", "<line>", ...]: ${JSON.stringify(value).slice(0, 120)}`,
        );
      }
      let labels = stream.stream;
      let key = streamKey;
      if (extra !== undefined) {
        // categorize-labels: [ts, line, { structuredMetadata?, parsed? }] next to index-only stream labels.
        const categorized = parseShape(categorizedSchema, extra, 'categorized log entry');
        labels = { ...stream.stream, ...categorized.structuredMetadata, ...categorized.parsed };
        key = labelsKey(labels);
      }
      const ts = parseNs(tsNs);
      entries.push({
        ts,
        key: `${key}\u0000${tsNs}\u0000${line}`,
        line: { at: new Date(Number(ts / 1_000_000n)), tsNs, labels, line },
      });
    }
  }
  const sign = direction === 'backward' ? -1 : 1;
  entries.sort((a, b) => (a.ts === b.ts ? compareStrings(a.key, b.key) : a.ts < b.ts ? -sign : sign));
  return entries;
}

function labelsKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((name) => `${name}=${JSON.stringify(labels[name])}`)
    .join(',');
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function parseNs(value: string): bigint {
  if (!/^\d+$/.test(value)) {
    throw new UpstreamError('loki', `answered a log entry timestamp that is not nanoseconds: "${value}"`);
  }
  return BigInt(value);
}

function dateToNs(date: Date): bigint {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw invalid('start/end', 'is not a valid date');
  return BigInt(ms) * 1_000_000n;
}

function parseSampleValue(value: string): number {
  if (value === '+Inf' || value === 'Inf') return Number.POSITIVE_INFINITY;
  if (value === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(value);
}

function parseShape<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? issue.path.join('.') : '(root)';
  throw new UpstreamError('loki', `answered a ${what} of an unexpected shape at ${where}: ${issue?.message}`);
}

function invalid(path: string, message: string): ValidationError {
  return new ValidationError(`invalid Loki query option ${path}: ${message}`, [{ path, message }]);
}
