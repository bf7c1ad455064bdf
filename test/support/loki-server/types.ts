/** The local Loki's public types: what a test seeds and what the server offers. */
import type { AnsweredQuery } from '../http-test-server.js';

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
