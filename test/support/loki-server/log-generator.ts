/** Generated streams: each line computed from its index and a seed (no memory per line), and Loki 3.4's detected_level. */
import { parseJsonLine, parseLogfmtLine } from './evaluator.js';
import { MS } from './limits.js';
import { type LogSource, LogStore } from './log-store.js';
import type { Parser } from './parser.js';
import type { GeneratedLogStream, Labels, LogGenerator } from './types.js';

export const ERROR_METADATA: Labels = { detected_level: 'error' };
export const INFO_METADATA: Labels = { detected_level: 'info' };

/** A stream whose i-th line is computed from i and the seed: no memory per line. */
export class GeneratedStream implements LogSource {
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
export function hash32(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ b;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) ^ c;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

export const HEX_PAIRS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Eight hex digits of hash32 (a table lookup: toString(16) is too slow for a million ids). */
export function hex32(a: number, b: number, c: number): string {
  const h = hash32(a, b, c);
  return `${HEX_PAIRS[h >>> 24]}${HEX_PAIRS[(h >>> 16) & 255]}${HEX_PAIRS[(h >>> 8) & 255]}${HEX_PAIRS[h & 255]}`;
}

/** The number of lines a generator produces (what the server will hold). */
export function generatedLineCount(generator: LogGenerator): number {
  const store = new LogStore();
  store.addGenerator(generator);
  return store.lineCount();
}

export function toNs(ts: bigint | string | Date): bigint {
  if (typeof ts === 'bigint') return ts;
  if (ts instanceof Date) return BigInt(ts.getTime()) * MS;
  if (!/^\d+$/.test(ts)) throw new Error(`entry timestamp "${ts}" is not nanoseconds since the epoch`);
  return BigInt(ts);
}

export const LEVEL_NAMES = [
  'level',
  'LEVEL',
  'Level',
  'severity',
  'SEVERITY',
  'Severity',
  'lvl',
  'LVL',
  'Lvl',
];

/** Loki 3.4's level detection at ingest (distributor `detected_level`). */
export function detectLevel(labels: Labels, metadata: Labels, line: string): string {
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
