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
 * The parts, one file each under loki-server/: types.ts (what tests seed), server.ts (routes and
 * answers), parameters.ts, lexer.ts and parser.ts (the LogQL subset), evaluator.ts, stats.ts,
 * log-store.ts (stored streams), log-generator.ts (generated streams), labels.ts.
 *
 * Storage holds a million lines without trouble: stored streams keep time-sorted typed arrays, generated
 * streams (`generator`) compute each line from its index and a seed, and queries binary-search the
 * time range instead of scanning everything.
 */
export { generatedLineCount } from './loki-server/log-generator.js';
export { startLokiServer } from './loki-server/server.js';
export type {
  GeneratedLogStream,
  Labels,
  LogGenerator,
  LokiEntryInput,
  LokiRequest,
  LokiServer,
  LokiServerOptions,
  LokiStreamInput,
} from './loki-server/types.js';
