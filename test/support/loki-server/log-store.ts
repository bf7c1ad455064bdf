/** Storage: stored streams as time-sorted arrays, read by index and binary search. */
import { labelsKey } from './labels.js';
import { MS } from './limits.js';
import { detectLevel, GeneratedStream, toNs } from './log-generator.js';
import type { Parser } from './parser.js';
import type { Labels, LogGenerator, LokiStreamInput } from './types.js';

/** One stream as queries see it: entries sorted by time, read by index. */
export interface LogSource {
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

export class LogStore {
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

export interface StoredEntry {
  readonly ts: bigint;
  readonly line: string;
  readonly metadata: Labels;
}

export class StoredStream implements LogSource {
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
