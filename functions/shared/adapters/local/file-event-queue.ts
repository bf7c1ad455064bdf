/**
 * The local bus's durable queue: one folder of segment files in the data directory.
 *
 *   <n>.log   accepted events, appended and flushed (fdatasync) before publish resolves
 *   <n>.acks  which subscriptions are done with the events of <n>.log (written, not flushed:
 *             an acknowledgement lost with the machine only means one more delivery)
 *
 * Each line is a framed record (see queue-frame.ts). Appends are group-committed: publishes that arrive
 * while a flush runs share the next one. A new segment starts at every open, when the current one
 * outgrows `segmentBytes`, when it holds 1 MiB of only acknowledged events, and after a failed write
 * into a segment of only acknowledged events (a full disk); a segment other than the current one is
 * deleted as soon as every event in it is acknowledged by every subscription it was for.
 *
 * Memory does not grow with the backlog: each subscription reads the segments in order through a
 * cursor (one read-ahead of at most READ_AHEAD_BYTES), and the queue keeps counts per segment (a few
 * numbers per segment on disk) and per subscription, the events taken and not yet acknowledged (as many
 * as the bus runs at once), and, for the segment each cursor is in, the acknowledgements an earlier run
 * wrote for its subscription (read from the .acks file when the cursor enters the segment).
 *
 * Open files do not grow with the backlog either: a segment's .log is open while it is the current
 * segment or a cursor is in it, its .acks while it is the current segment, a cursor is in it, or events
 * taken from it wait for their acknowledgement to be written; otherwise both are closed and opened again
 * on demand. So at most 2 + 2 x subscriptions files are open, plus one .acks per other segment holding
 * taken events (at most the events taken at once), however many segments wait; for a moment also one
 * per cursor entering a segment an earlier run left, to read its acknowledgements.
 */
import { constants } from 'node:fs';
import { mkdir, open, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { ToillessEvent } from '../../events/types.js';
import type { Logger } from '../../log.js';
import type { EventQueue, QueueEntry, TakenEvent } from '../../ports/event-queue.js';
import { decodeFrames, encodeFrame } from './queue-frame.js';

/** The part of a FileHandle the queue uses; tests wrap it to inject write errors (a full disk) or count open files. */
export interface QueueFile {
  write(buffer: Buffer, offset: number, length: number): Promise<{ bytesWritten: number }>;
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  datasync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

/** Opens a segment file: 'ax+' (create, append, read), 'a' (append), 'r', 'r+'. */
export type QueueFileOpener = (path: string, flags: string) => Promise<QueueFile>;

export interface FileEventQueueOptions {
  readonly logger: Logger;
  /** A segment at least this large is closed and a new one started. @default 8 MiB */
  readonly segmentBytes?: number;
  /** @default node:fs/promises open */
  readonly openFile?: QueueFileOpener;
}

interface Segment {
  readonly number: number;
  /** Pairs of (event of this segment, subscription it is for) not acknowledged yet. */
  live: number;
  /** Where the whole, flushed records end: readers stop there. */
  size: number;
  /** For appends while it is the current segment, and reads; open only while needed (see needsLog). */
  log: QueueFile | undefined;
  /** Open only while acknowledgements are written into it or likely soon (see needsAcks). */
  acks: QueueFile | undefined;
  acksSize: number;
  /** Events taken from this segment whose acknowledgement is not written yet (any subscription). */
  taken: number;
  /** How much of the .acks file an earlier run wrote (0 for a segment of this run): read on a cursor's entry. */
  readonly earlierAcksBytes: number;
}

/** Where a subscription reads next, and what it read ahead of what it took. */
interface Cursor {
  segment: number;
  offset: number;
  readonly ahead: { readonly seq: number; readonly segment: number; readonly event: ToillessEvent }[];
  /**
   * The events of the cursor's segment an earlier run acknowledged for this subscription, skipped when read;
   * loaded when the cursor enters a segment (`skipIn`), so memory holds them for one segment at a time.
   */
  skip: ReadonlySet<number> | undefined;
  skipIn: number | undefined;
  /** Takes of one subscription run one after the other. */
  reading: Promise<unknown>;
}

interface PendingAppend {
  readonly seqs: readonly number[];
  readonly frames: readonly Buffer[];
  readonly entries: readonly QueueEntry[];
  readonly resolve: (seqs: readonly number[]) => void;
  readonly reject: (error: unknown) => void;
}

interface PendingAck {
  readonly seq: number;
  readonly segment: number;
  readonly subscription: string;
  readonly resolve: () => void;
}

const SEGMENT_FILE = /^(\d{12})\.(log|acks)$/;
const DEFAULT_SEGMENT_BYTES = 8 * 1024 * 1024;
/** A current segment this large whose events are all acknowledged is closed, so that it can be deleted. */
const DONE_SEGMENT_BYTES = 1024 * 1024;
/** How much of a segment a cursor reads at once. */
const READ_AHEAD_BYTES = 64 * 1024;

export class FileEventQueue implements EventQueue {
  readonly durable = true;
  private readonly segments = new Map<number, Segment>();
  private readonly cursors = new Map<string, Cursor>();
  /** Per subscription, the events it took and has not acknowledged: sequence number -> segment. */
  private readonly taken = new Map<string, Map<number, number>>();
  /** Per subscription, how many events it has not acknowledged. */
  private readonly waitingCounts = new Map<string, number>();
  private current!: Segment;
  /** Set when a failed append could not be cut off: the next append starts a new segment. */
  private mustRoll = false;
  private nextSeq = 1;
  private appends: PendingAppend[] = [];
  private acks: PendingAck[] = [];
  private flushing: Promise<void> | undefined;
  private closed = false;

  private constructor(
    private readonly directory: string,
    private readonly logger: Logger,
    private readonly segmentBytes: number,
    private readonly openFile: QueueFileOpener,
  ) {}

  /** Opens (or creates) the queue folder, recovers what the last run left, and starts a new segment. */
  static async open(directory: string, options: FileEventQueueOptions): Promise<FileEventQueue> {
    const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    if (!Number.isInteger(segmentBytes) || segmentBytes < 1) {
      throw new TypeError(`segmentBytes must be a whole number of at least 1, got ${segmentBytes}`);
    }
    const queue = new FileEventQueue(
      directory,
      options.logger,
      segmentBytes,
      options.openFile ?? ((path, flags) => open(path, flags)),
    );
    await mkdir(directory, { recursive: true });
    await queue.recover();
    return queue;
  }

  append(entries: readonly QueueEntry[]): Promise<readonly number[]> {
    if (this.closed) return Promise.reject(new Error('the event queue is closed'));
    if (entries.length === 0) return Promise.resolve([]);
    const seqs = entries.map(() => this.nextSeq++);
    const frames = entries.map((entry, index) =>
      encodeFrame(`{"seq":${seqs[index]},"to":${JSON.stringify(entry.targets)},"event":${entry.body}}`),
    );
    return new Promise((resolve, reject) => {
      this.appends.push({ seqs, frames, entries, resolve, reject });
      this.scheduleFlush();
    });
  }

  take(subscription: string, max: number): Promise<readonly TakenEvent[]> {
    const cursor = this.cursorOf(subscription);
    const taking = cursor.reading.then(() => this.takeNow(subscription, cursor, max));
    cursor.reading = taking.catch(() => undefined);
    return taking;
  }

  acknowledge(seq: number, subscription: string): Promise<void> {
    const taken = this.taken.get(subscription);
    const segment = taken?.get(seq);
    // After close the acknowledgement is not written: the event is delivered again on the next start.
    if (this.closed || segment === undefined) return Promise.resolve();
    taken?.delete(seq);
    return new Promise((resolve) => {
      this.acks.push({ seq, segment, subscription, resolve });
      this.scheduleFlush();
    });
  }

  waiting(subscription: string): number {
    return this.waitingCounts.get(subscription) ?? 0;
  }

  async unacknowledged(subscription: string): Promise<readonly number[]> {
    const seqs: number[] = [];
    await this.scan((record, acked) => {
      if (record.targets.includes(subscription) && !acked.has(`${record.seq} ${subscription}`)) {
        seqs.push(record.seq);
      }
    });
    return seqs;
  }

  async read(seq: number): Promise<ToillessEvent> {
    let found: ToillessEvent | undefined;
    await this.scan((record, acked) => {
      if (record.seq === seq && record.targets.some((name) => !acked.has(`${seq} ${name}`))) {
        found = record.event;
      }
    });
    if (!found) throw new Error(`event ${seq} is not in the queue (acknowledged already?)`);
    return found;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.flushing) await this.flushing;
    for (const cursor of this.cursors.values()) await cursor.reading;
    for (const segment of this.segments.values()) await this.release(segment);
  }

  /**
   * Segment numbers on disk, the (event, subscription) pairs not yet acknowledged, how many events
   * memory holds (taken and not acknowledged, or read ahead), how many acknowledgements of an earlier run
   * it holds (for the segments the cursors are in) and how many segment files are open: for tests and logs.
   */
  describe(): {
    readonly segments: readonly number[];
    readonly pending: number;
    readonly held: number;
    readonly earlierAcks: number;
    readonly openFiles: number;
  } {
    let pending = 0;
    let openFiles = 0;
    for (const segment of this.segments.values()) {
      pending += segment.live;
      openFiles += (segment.log ? 1 : 0) + (segment.acks ? 1 : 0);
    }
    let held = 0;
    for (const taken of this.taken.values()) held += taken.size;
    let earlierAcks = 0;
    for (const cursor of this.cursors.values()) {
      held += cursor.ahead.length;
      earlierAcks += cursor.skip?.size ?? 0;
    }
    return { segments: [...this.segments.keys()], pending, held, earlierAcks, openFiles };
  }

  private cursorOf(subscription: string): Cursor {
    let cursor = this.cursors.get(subscription);
    if (!cursor) {
      cursor = {
        segment: this.oldestSegment(),
        offset: 0,
        ahead: [],
        skip: undefined,
        skipIn: undefined,
        reading: Promise.resolve(),
      };
      this.cursors.set(subscription, cursor);
    }
    return cursor;
  }

  private async takeNow(subscription: string, cursor: Cursor, max: number): Promise<readonly TakenEvent[]> {
    const events: TakenEvent[] = [];
    while (events.length < max && !this.closed) {
      if (cursor.ahead.length === 0) await this.readAhead(subscription, cursor);
      const next = cursor.ahead.shift();
      if (!next) break;
      let taken = this.taken.get(subscription);
      if (!taken) {
        taken = new Map();
        this.taken.set(subscription, taken);
      }
      taken.set(next.seq, next.segment);
      const segment = this.segments.get(next.segment);
      if (segment) segment.taken += 1;
      events.push({ seq: next.seq, event: next.event });
    }
    return events;
  }

  /** Reads the cursor's segments until it found events for the subscription or reached the flushed end. */
  private async readAhead(subscription: string, cursor: Cursor): Promise<void> {
    let length = READ_AHEAD_BYTES;
    while (cursor.ahead.length === 0 && !this.closed) {
      const segment = this.segments.get(cursor.segment);
      if (!segment || (cursor.offset >= segment.size && segment !== this.current)) {
        const later = this.segmentAfter(cursor.segment);
        if (later === undefined) return;
        cursor.segment = later;
        cursor.offset = 0;
        cursor.skip = undefined;
        cursor.skipIn = undefined;
        length = READ_AHEAD_BYTES;
        // The segment left behind keeps its files open only for another cursor or its taken events.
        if (segment) await this.closeIdleFiles(segment);
        continue;
      }
      if (cursor.skipIn !== segment.number) {
        cursor.skip = await this.earlierAcknowledgements(segment, subscription);
        cursor.skipIn = segment.number;
        continue; // the segment may have been deleted meanwhile: look again
      }
      if (cursor.offset >= segment.size) return;
      const bytes = await this.readAt(segment, cursor.offset, Math.min(length, segment.size - cursor.offset));
      if (bytes === undefined) continue; // deleted meanwhile: on to the next one
      const { records, end } = decodeFrames(bytes);
      if (end === 0 && cursor.offset + bytes.length < segment.size) {
        length *= 2; // one record longer than the read
        continue;
      }
      // Damaged lines were reported on open; here they are only skipped.
      cursor.offset += end === 0 ? bytes.length : end;
      length = READ_AHEAD_BYTES;
      for (const record of records) {
        const parsed = parseEventRecord(record.json);
        if (!parsed?.targets.includes(subscription)) continue;
        if (cursor.skip?.has(parsed.seq)) continue;
        cursor.ahead.push({ seq: parsed.seq, segment: segment.number, event: parsed.event });
      }
    }
  }

  /** Bytes of a segment's log, or undefined when the segment was deleted while reading. */
  private async readAt(segment: Segment, position: number, length: number): Promise<Buffer | undefined> {
    try {
      if (!segment.log) {
        const opened = await this.openFile(this.segmentPath(segment.number, 'log'), 'r');
        // Another read may have opened it meanwhile, or compaction deleted the segment: keep one handle, or none.
        if (segment.log || !this.segments.has(segment.number)) await opened.close();
        else segment.log = opened;
      }
      const file = segment.log;
      if (!file) return undefined;
      return await readRange(file, position, length);
    } catch (error) {
      if (!this.segments.has(segment.number)) return undefined;
      throw error;
    }
  }

  /**
   * The events of a segment that an earlier run acknowledged for `subscription`: read from the part of its
   * .acks file that run wrote, when a cursor enters the segment. Empty when the segment was deleted meanwhile.
   */
  private async earlierAcknowledgements(
    segment: Segment,
    subscription: string,
  ): Promise<ReadonlySet<number> | undefined> {
    if (segment.earlierAcksBytes === 0) return undefined;
    let bytes: Buffer;
    try {
      const file = await this.openFile(this.segmentPath(segment.number, 'acks'), 'r');
      try {
        bytes = await readRange(file, 0, segment.earlierAcksBytes);
      } finally {
        await file.close();
      }
    } catch (error) {
      if (!this.segments.has(segment.number)) return undefined;
      throw error;
    }
    const seqs = new Set<number>();
    for (const record of decodeFrames(bytes).records) {
      const ack = parseAckRecord(record.json);
      if (ack?.by === subscription) seqs.add(ack.seq);
    }
    return seqs;
  }

  /**
   * A segment's log stays open while it is the current one or a cursor is in it. Only the cursor in a
   * segment reads it, and it leaves only between reads, so no read runs on a handle being closed.
   */
  private needsLog(segment: Segment): boolean {
    return segment === this.current || this.hasCursorIn(segment.number);
  }

  /**
   * A segment's .acks stays open while it is the current one, events taken from it wait for their
   * acknowledgement to be written, or a cursor is in it (whose next takes will be acknowledged there).
   */
  private needsAcks(segment: Segment): boolean {
    return segment === this.current || segment.taken > 0 || this.hasCursorIn(segment.number);
  }

  private hasCursorIn(number: number): boolean {
    for (const cursor of this.cursors.values()) if (cursor.segment === number) return true;
    return false;
  }

  /** Closes the files of a segment that nothing needs open now; a later read or acknowledgement opens them again. */
  private async closeIdleFiles(segment: Segment): Promise<void> {
    // Each handle is detached before it is closed, so no other path closes or uses it after this.
    if (segment.log && !this.needsLog(segment)) {
      const log = segment.log;
      segment.log = undefined;
      await log.close().catch(() => undefined);
    }
    if (segment.acks && !this.needsAcks(segment)) {
      const acks = segment.acks;
      segment.acks = undefined;
      await acks.close().catch(() => undefined);
    }
  }

  private oldestSegment(): number {
    let oldest = this.current.number;
    for (const number of this.segments.keys()) oldest = Math.min(oldest, number);
    return oldest;
  }

  private segmentAfter(number: number): number | undefined {
    let next: number | undefined;
    for (const candidate of this.segments.keys()) {
      if (candidate > number && (next === undefined || candidate < next)) next = candidate;
    }
    return next;
  }

  /** Every whole event record on disk with the acknowledgements of its segment, oldest first. */
  private async scan(visit: (record: EventRecord, acked: ReadonlySet<string>) => void): Promise<void> {
    for (const number of [...this.segments.keys()].sort((a, b) => a - b)) {
      const segment = this.segments.get(number) as Segment;
      const log = await readFile(this.segmentPath(number, 'log')).catch(() => Buffer.alloc(0));
      const acks = await readFile(this.segmentPath(number, 'acks')).catch(() => Buffer.alloc(0));
      const acked = new Set<string>();
      for (const record of decodeFrames(acks).records) {
        const ack = parseAckRecord(record.json);
        if (ack) acked.add(`${ack.seq} ${ack.by}`);
      }
      for (const record of decodeFrames(log.subarray(0, segment.size)).records) {
        const parsed = parseEventRecord(record.json);
        if (parsed) visit(parsed, acked);
      }
    }
  }

  private scheduleFlush(): void {
    this.flushing ??= this.flush().finally(() => {
      this.flushing = undefined;
      // Anything queued while the last round finished starts the next one.
      if (this.appends.length > 0 || this.acks.length > 0) this.scheduleFlush();
    });
  }

  /** Group commit: everything queued since the last round goes out in one write and one flush. */
  private async flush(): Promise<void> {
    while (this.appends.length > 0 || this.acks.length > 0) {
      const appends = this.appends.splice(0);
      const acks = this.acks.splice(0);
      await Promise.all([this.writeAppends(appends), this.writeAcks(acks)]);
      await this.compact();
    }
  }

  private async writeAppends(appends: readonly PendingAppend[]): Promise<void> {
    if (appends.length === 0) return;
    const bytes = Buffer.concat(appends.flatMap((append) => append.frames));
    let start = this.current.size;
    try {
      if (this.mustRoll || this.current.size >= this.segmentBytes || this.currentIsDone()) {
        await this.roll();
        start = 0;
        // The previous segment may be all acknowledged: deleting it now frees its space for this write.
        await this.compact();
      }
      await writeFully(this.current.log as QueueFile, bytes);
      await (this.current.log as QueueFile).datasync();
    } catch (error) {
      await this.cutOff(start, error);
      for (const append of appends) append.reject(error);
      return;
    }
    for (const append of appends) {
      for (const entry of append.entries) {
        for (const target of new Set(entry.targets)) {
          this.current.live += 1;
          this.waitingCounts.set(target, this.waiting(target) + 1);
        }
      }
    }
    // Readers see the new records only now that they are flushed.
    this.current.size = start + bytes.length;
    for (const append of appends) append.resolve(append.seqs);
  }

  /** A current segment of some size whose events are all acknowledged is better replaced and deleted. */
  private currentIsDone(): boolean {
    return this.current.live === 0 && this.current.size >= Math.min(this.segmentBytes, DONE_SEGMENT_BYTES);
  }

  /** Removes what a failed append left, so that no part of it is delivered after a restart. */
  private async cutOff(start: number, error: unknown): Promise<void> {
    const file = this.segmentPath(this.current.number, 'log');
    // On a full disk the space held by acknowledged events comes back only once their segment is
    // no longer the current one.
    if (this.current.live === 0 && this.current.size > 0) this.mustRoll = true;
    try {
      await (this.current.log as QueueFile).truncate(start);
      this.logger.error({ err: error, file }, 'the event queue could not be written: the publish is refused');
    } catch (truncateError) {
      // The partial record stays at the end of this segment, where a restart skips it as torn.
      this.mustRoll = true;
      this.logger.error(
        { err: error, truncateError, file },
        'the event queue could not be written nor cut back: continuing in a new segment',
      );
    }
  }

  private async writeAcks(acks: readonly PendingAck[]): Promise<void> {
    if (acks.length === 0) return;
    const bySegment = new Map<number, PendingAck[]>();
    for (const ack of acks) {
      const list = bySegment.get(ack.segment) ?? [];
      list.push(ack);
      bySegment.set(ack.segment, list);
    }
    await Promise.all(
      [...bySegment].map(async ([number, list]) => {
        const segment = this.segments.get(number);
        if (!segment) return;
        const bytes = Buffer.concat(
          list.map((ack) => encodeFrame(JSON.stringify({ seq: ack.seq, by: ack.subscription }))),
        );
        try {
          // A handle opened meanwhile by nobody else: acknowledgements are written by one flush at a time.
          segment.acks ??= await this.openFile(this.segmentPath(number, 'acks'), 'a');
          await writeFully(segment.acks, bytes);
          segment.acksSize += bytes.length;
        } catch (error) {
          await segment.acks?.truncate(segment.acksSize).catch(() => undefined);
          this.logger.warn(
            { err: error, file: this.segmentPath(number, 'acks'), events: list.length },
            'acknowledgements could not be written: those events are delivered again after a restart',
          );
        }
        // Counted down only now, so that the handle is not closed under the write above.
        segment.taken -= list.length;
        await this.closeIdleFiles(segment);
      }),
    );
    for (const ack of acks) {
      const segment = this.segments.get(ack.segment);
      if (segment) segment.live -= 1;
      this.waitingCounts.set(ack.subscription, Math.max(0, this.waiting(ack.subscription) - 1));
      ack.resolve();
    }
  }

  private async roll(): Promise<void> {
    const number = this.current.number + 1;
    // Not exclusive: an earlier roll that failed after creating the file left it empty, to be reused.
    const log = await this.openFile(this.segmentPath(number, 'log'), 'a+');
    try {
      await syncDirectory(this.directory);
    } catch (error) {
      await log.close().catch(() => undefined);
      throw error;
    }
    const segment = newSegment(number, log, 0);
    this.segments.set(number, segment);
    const previous = this.current;
    this.current = segment;
    this.mustRoll = false;
    await this.closeIdleFiles(previous);
  }

  /** Deletes every segment but the current one whose events are all acknowledged. */
  private async compact(): Promise<void> {
    for (const segment of [...this.segments.values()]) {
      if (segment === this.current || segment.live > 0) continue;
      this.segments.delete(segment.number);
      await this.release(segment);
      try {
        // The log first: acknowledgements without their log are removed on the next open.
        await unlink(this.segmentPath(segment.number, 'log'));
        await unlink(this.segmentPath(segment.number, 'acks')).catch(ignoreMissing);
      } catch (error) {
        this.logger.warn(
          { err: error, file: this.segmentPath(segment.number, 'log') },
          'an acknowledged queue segment could not be deleted: delete it by hand',
        );
      }
    }
  }

  private async release(segment: Segment): Promise<void> {
    const files = [segment.log, segment.acks];
    segment.log = undefined;
    segment.acks = undefined;
    for (const file of files) await file?.close().catch(() => undefined);
  }

  private async recover(): Promise<void> {
    const logs: number[] = [];
    const ackFiles = new Set<number>();
    for (const name of await readdir(this.directory)) {
      const match = SEGMENT_FILE.exec(name);
      if (!match) continue;
      if (match[2] === 'log') logs.push(Number(match[1]));
      else ackFiles.add(Number(match[1]));
    }
    logs.sort((a, b) => a - b);
    let lastSeq = 0;
    for (const number of logs) {
      const acked = new Set<string>();
      let acksSize = 0;
      if (ackFiles.has(number)) {
        const { records, end } = await this.readRecords(number, 'acks');
        acksSize = end;
        for (const record of records) {
          const ack = parseAckRecord(record.json);
          if (ack) acked.add(`${ack.seq} ${ack.by}`);
        }
      }
      const { records, end } = await this.readRecords(number, 'log');
      // The acknowledgements are read again when a cursor enters the segment: memory holds them for
      // the segments the cursors are in, not for every segment the last run left.
      const segment = newSegment(number, undefined, acked.size > 0 ? acksSize : 0);
      segment.size = end;
      segment.acksSize = acksSize;
      this.segments.set(number, segment);
      for (const record of records) {
        const parsed = parseEventRecord(record.json);
        if (!parsed) {
          this.logger.warn(
            { file: this.segmentPath(number, 'log'), offset: record.offset },
            'a queue record is not an event record: skipped',
          );
          continue;
        }
        lastSeq = Math.max(lastSeq, parsed.seq);
        for (const target of parsed.targets) {
          if (acked.has(`${parsed.seq} ${target}`)) continue;
          segment.live += 1;
          this.waitingCounts.set(target, this.waiting(target) + 1);
        }
      }
    }
    for (const number of ackFiles) {
      if (!this.segments.has(number)) await unlink(this.segmentPath(number, 'acks')).catch(ignoreMissing);
    }
    this.nextSeq = lastSeq + 1;

    const number = (logs.at(-1) ?? 0) + 1;
    const log = await this.openFile(this.segmentPath(number, 'log'), 'ax+');
    await syncDirectory(this.directory);
    this.current = newSegment(number, log, 0);
    this.segments.set(number, this.current);
    await this.compact();

    if (this.waitingCounts.size > 0) {
      const waiting = Object.fromEntries(this.waitingCounts);
      this.logger.info(
        { directory: this.directory, events: this.describe().pending, waiting },
        'the event queue holds unacknowledged events: delivering them again',
      );
    }
  }

  /** The whole records of a segment file; a torn tail is cut off and damaged lines skipped, each logged once. */
  private async readRecords(number: number, kind: 'log' | 'acks') {
    const file = this.segmentPath(number, kind);
    const bytes = await readFile(file);
    const { records, corrupt, end } = decodeFrames(bytes);
    for (const damaged of corrupt) {
      this.logger.warn(
        { file, offset: damaged.offset, reason: damaged.reason },
        'a damaged queue record was skipped',
      );
    }
    if (end < bytes.length) {
      this.logger.warn(
        { file, offset: end, bytes: bytes.length - end },
        'the last queue record is torn (a write cut short): skipped and cut off',
      );
      const handle = await this.openFile(file, 'r+');
      try {
        await handle.truncate(end);
      } finally {
        await handle.close();
      }
    }
    return { records, end };
  }

  private segmentPath(number: number, kind: 'log' | 'acks'): string {
    return join(this.directory, `${String(number).padStart(12, '0')}.${kind}`);
  }
}

function newSegment(number: number, log: QueueFile | undefined, earlierAcksBytes: number): Segment {
  return {
    number,
    live: 0,
    size: 0,
    log,
    acks: undefined,
    acksSize: 0,
    taken: 0,
    earlierAcksBytes,
  };
}

interface EventRecord {
  readonly seq: number;
  readonly targets: readonly string[];
  readonly event: ToillessEvent;
}

/** Up to `length` bytes from `position`: fewer at the end of the file. */
async function readRange(file: QueueFile, position: number, length: number): Promise<Buffer> {
  const bytes = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await file.read(bytes, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return bytes.subarray(0, done);
}

async function writeFully(file: QueueFile, bytes: Buffer): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await file.write(bytes, done, bytes.length - done);
    done += bytesWritten;
  }
}

/** A new file's name is durable only once its directory is flushed too. */
async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function parseEventRecord(json: string): EventRecord | undefined {
  try {
    const record = JSON.parse(json) as { seq?: unknown; to?: unknown; event?: unknown };
    if (
      Number.isSafeInteger(record.seq) &&
      Array.isArray(record.to) &&
      record.to.every((name) => typeof name === 'string') &&
      typeof record.event === 'object' &&
      record.event !== null
    ) {
      return {
        seq: record.seq as number,
        targets: [...new Set(record.to as string[])],
        event: record.event as ToillessEvent,
      };
    }
  } catch {
    // a checksum-valid line that is not JSON: reported by the caller
  }
  return undefined;
}

function parseAckRecord(json: string): { seq: number; by: string } | undefined {
  try {
    const record = JSON.parse(json) as { seq?: unknown; by?: unknown };
    if (Number.isSafeInteger(record.seq) && typeof record.by === 'string') {
      return { seq: record.seq as number, by: record.by };
    }
  } catch {
    // skipped like a damaged line
  }
  return undefined;
}

function ignoreMissing(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
}
