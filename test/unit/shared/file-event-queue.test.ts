import { open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  FileEventQueue,
  type FileEventQueueOptions,
  type QueueFile,
  type QueueFileOpener,
} from '../../../functions/shared/adapters/local/file-event-queue.js';
import { decodeFrames, encodeFrame } from '../../../functions/shared/adapters/local/queue-frame.js';
import { type CapturedLog, captureLog } from '../../support/captured-log.js';
import { entry, takeAndAcknowledge } from '../../support/event-queue-contract.js';
import { createTempDir } from '../../support/process.js';

/** Opens real files, but lets a test make the next writes or flushes fail as a full disk does. */
class FaultyDisk {
  /** Each entry fails one write: after writing this many bytes of it, ENOSPC. */
  readonly failingWrites: number[] = [];
  failDatasync = false;
  failTruncate = false;
  /** Opens that fail (ENOSPC), as creating a file on a full disk does. */
  failingOpens = 0;
  readonly calls: string[] = [];

  readonly open: QueueFileOpener = async (path, flags) => {
    if (this.failingOpens > 0) {
      this.failingOpens--;
      throw Object.assign(new Error(`ENOSPC: no space left on device, open '${path}'`), { code: 'ENOSPC' });
    }
    const file = await open(path, flags);
    const disk = this;
    const wrapped: QueueFile = {
      async write(buffer, offset, length) {
        disk.calls.push('write');
        const failAfter = disk.failingWrites.shift();
        if (failAfter === undefined) return file.write(buffer, offset, length);
        if (failAfter > 0) await file.write(buffer, offset, Math.min(length, failAfter));
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      },
      read: (buffer, offset, length, position) => file.read(buffer, offset, length, position),
      async datasync() {
        disk.calls.push('datasync');
        if (disk.failDatasync) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
        return file.datasync();
      },
      async truncate(length) {
        if (disk.failTruncate) throw Object.assign(new Error('EIO: i/o error, ftruncate'), { code: 'EIO' });
        return file.truncate(length);
      },
      close: () => file.close(),
    };
    return wrapped;
  };
}

/**
 * Opens real files and counts the handles open at once; flushes are skipped (durability is not measured).
 * A test can hold opens for reading of one path, to let other steps run while they are under way.
 */
class HandleCount {
  open = 0;
  max = 0;
  private held: ((path: string) => Promise<void>) | undefined;

  readonly openFile: QueueFileOpener = async (path, flags) => {
    const file = await open(path, flags);
    this.open++;
    this.max = Math.max(this.max, this.open);
    if (flags === 'r') await this.held?.(path);
    let closed = false;
    return {
      write: (buffer, offset, length) => file.write(buffer, offset, length),
      read: (buffer, offset, length, position) => file.read(buffer, offset, length, position),
      datasync: async () => undefined,
      truncate: (length) => file.truncate(length),
      close: async () => {
        if (!closed) this.open--;
        closed = true;
        await file.close();
      },
    };
  };

  /** Opens for reading of `path` wait, once the file is open, until release(); `arrived` once `count` wait. */
  hold(path: string, count: number): { readonly arrived: Promise<void>; readonly release: () => void } {
    let arrive = () => {};
    const arrived = new Promise<void>((resolve) => {
      arrive = resolve;
    });
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let waiting = 0;
    this.held = async (opened) => {
      if (opened !== path) return;
      if (++waiting === count) arrive();
      await released;
    };
    return {
      arrived,
      release: () => {
        this.held = undefined;
        release();
      },
    };
  }
}

describe('queue frames', () => {
  it('frames a record as one line with its checksum and length, and decodes it back', () => {
    // Prepare
    const json = JSON.stringify({ title: 'two\nlines, ünïcode' });

    // Act
    const frame = encodeFrame(json);
    const decoded = decodeFrames(Buffer.concat([frame, frame]));

    // Assess
    expect(frame.toString('utf8')).toMatch(/^[0-9a-f]{8} \d+ \{.*\}\n$/);
    expect(frame.subarray(0, -1).includes(0x0a)).toBe(false);
    expect(decoded.records.map((record) => record.json)).toEqual([json, json]);
    expect(decoded.end).toBe(frame.length * 2);
  });

  it('sets aside a line whose checksum or length is wrong and a torn tail', () => {
    // Prepare
    const good = encodeFrame('{"seq":1}');
    const flipped = Buffer.from(encodeFrame('{"seq":2}'));
    flipped[flipped.length - 3] = 0x33;
    const short = Buffer.from(
      encodeFrame('{"seq":3}').toString('latin1').replace('{"seq":3}', '{}'),
      'latin1',
    );
    const torn = encodeFrame('{"seq":4}').subarray(0, 10);

    // Act
    const decoded = decodeFrames(Buffer.concat([good, flipped, short, good, torn]));

    // Assess
    expect(decoded.records.map((record) => record.json)).toEqual(['{"seq":1}', '{"seq":1}']);
    expect(decoded.corrupt.map((line) => line.reason)).toEqual([
      'checksum mismatch',
      expect.stringMatching(/^length 2 where the header says 9/),
    ]);
    expect(decoded.end).toBe(good.length * 2 + flipped.length + short.length);
  });
});

describe('FileEventQueue', () => {
  let dir: string;
  let log: CapturedLog;
  const opened: FileEventQueue[] = [];

  beforeEach(async () => {
    dir = await createTempDir('file-queue');
    log = captureLog('queue-test');
  });

  afterEach(async () => {
    for (const queue of opened.splice(0)) await queue.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function openQueue(options: Partial<FileEventQueueOptions> = {}): Promise<FileEventQueue> {
    const queue = await FileEventQueue.open(dir, { logger: log.logger, ...options });
    opened.push(queue);
    return queue;
  }

  async function files(): Promise<string[]> {
    return (await readdir(dir)).sort();
  }

  const warnings = () => log.records().filter((line) => line['level'] === 'warn');

  it('delivers again after a reopen what was not acknowledged, and nothing that was', async () => {
    // Prepare
    const first = await openQueue();
    const seqs = await first.append([
      entry('e-1', ['timeline', 'dora']),
      entry('e-2', ['timeline']),
      entry('e-3', ['dora']),
    ]);
    await takeAndAcknowledge(first, 'timeline', [seqs[0] as number, seqs[1] as number]);

    // Act: no close(), as after a crash.
    const second = await openQueue();

    // Assess
    expect(await second.unacknowledged('timeline')).toEqual([]);
    expect(await second.unacknowledged('dora')).toEqual([seqs[0], seqs[2]]);
    expect((await second.read(seqs[2] as number)).id).toBe('e-3');
    expect((await second.take('dora', 10)).map((taken) => taken.event.id)).toEqual(['e-1', 'e-3']);
    expect(await second.take('timeline', 10)).toEqual([]);
    const [next] = await second.append([entry('e-4', ['timeline'])]);
    expect(next).toBeGreaterThan(seqs[2] as number);
    expect(log.records().find((line) => line['events'] === 2)).toMatchObject({
      waiting: { dora: 2 },
    });
  });

  it('writes and flushes an append before it resolves, and lets concurrent appends share a flush', async () => {
    // Prepare
    const disk = new FaultyDisk();
    const queue = await openQueue({ openFile: disk.open });
    disk.calls.length = 0;

    // Act
    await Promise.all(Array.from({ length: 40 }, (_, i) => queue.append([entry(`e-${i}`, ['timeline'])])));

    // Assess
    expect(disk.calls.at(-1)).toBe('datasync');
    expect(disk.calls.filter((call) => call === 'datasync').length).toBeLessThan(40);
    expect(await queue.unacknowledged('timeline')).toHaveLength(40);
  });

  it('deletes a segment once all its events are acknowledged, in any order, and keeps the current one', async () => {
    // Prepare: segments of about one event each.
    const queue = await openQueue({ segmentBytes: 100 });
    const seqs: number[] = [];
    for (let i = 0; i < 4; i++) seqs.push(...(await queue.append([entry(`e-${i}`, ['timeline'])])));
    const segmentsBefore = queue.describe().segments;

    // Act: the second event stays unacknowledged.
    await takeAndAcknowledge(queue, 'timeline', [seqs[0], seqs[2], seqs[3]] as number[]);

    // Assess
    expect(segmentsBefore).toHaveLength(4);
    const left = queue.describe().segments;
    expect(left).toEqual([segmentsBefore[1], segmentsBefore[3]]);
    expect((await files()).filter((name) => name.endsWith('.log'))).toHaveLength(2);
    expect((await queue.read(seqs[1] as number)).id).toBe('e-1');
  });

  it('holds in memory only what a subscription took and one read-ahead, however many events wait', async () => {
    // Prepare: 3,000 events of about 400 bytes, over segments of 256 KiB.
    const queue = await openQueue({ segmentBytes: 256 * 1024 });
    const appended: number[] = [];
    for (let batch = 0; batch < 30; batch++) {
      const entries = Array.from({ length: 100 }, (_, i) => entry(`e-${batch * 100 + i}`, ['timeline']));
      appended.push(...(await queue.append(entries)));
    }

    // Act: a subscription works through the backlog 8 at a time, as the bus does.
    const held: number[] = [];
    const delivered: number[] = [];
    for (;;) {
      const taken = await queue.take('timeline', 8);
      if (taken.length === 0) break;
      held.push(queue.describe().held);
      for (const { seq } of taken) {
        delivered.push(seq);
        await queue.acknowledge(seq, 'timeline');
      }
    }

    // Assess: a 64 KiB read-ahead holds about 220 of these events, far from all 3,000.
    expect(delivered).toEqual(appended);
    expect(Math.max(...held)).toBeLessThanOrEqual(8 + 256);
    expect(queue.describe()).toMatchObject({ pending: 0, held: 0 });
    expect(queue.describe().segments).toHaveLength(1);
    expect(queue.waiting('timeline')).toBe(0);
  });

  it('keeps a bounded number of files open however many segments wait, and delivers each event once', async () => {
    // Prepare: segments of one append (3 events) each; three subscriptions, each a different share of the events.
    const handles = new HandleCount();
    const subscriptions = ['timeline', 'dora', 'deploy-index'] as const;
    const targetsOf = (i: number): string[] =>
      i % 5 === 0 ? ['timeline'] : i % 5 === 1 ? ['timeline', 'dora'] : [...subscriptions];
    const expected = new Map<string, number[]>(subscriptions.map((name) => [name, []]));
    const delivered = new Map<string, number[]>(subscriptions.map((name) => [name, []]));
    /** Taken and not acknowledged yet, acknowledged one round later and newest first, as slow handlers do. */
    const taken = new Map<string, number[]>(subscriptions.map((name) => [name, []]));
    let queue = await openQueue({ openFile: handles.openFile, segmentBytes: 1 });
    let appended = 0;
    let mostSegments = 0;

    const append = async () => {
      const batch = Array.from({ length: 3 }, (_, i) => appended + i);
      appended += batch.length;
      const seqs = await queue.append(batch.map((i) => entry(`e-${i}`, targetsOf(i))));
      batch.forEach((i, index) => {
        for (const name of targetsOf(i)) expected.get(name)?.push(seqs[index] as number);
      });
    };
    const work = async (name: string, max: number) => {
      const held = taken.get(name) as number[];
      const events = await queue.take(name, max);
      for (const seq of held.splice(0).reverse()) await queue.acknowledge(seq, name);
      for (const { seq } of events) {
        delivered.get(name)?.push(seq);
        held.push(seq);
      }
      return events.length;
    };
    const round = async (count: number, appending: boolean) => {
      for (let r = 0; r < count; r++) {
        if (appending) await append();
        // timeline keeps up, dora takes a third of the pace, deploy-index a tenth.
        await work('timeline', 8);
        if (r % 3 === 0) await work('dora', 8);
        if (r % 10 === 0) await work('deploy-index', 8);
        mostSegments = Math.max(mostSegments, queue.describe().segments.length);
      }
    };

    // Act: a backlog builds, the queue is closed and opened again, the backlog is worked off.
    await round(400, true);
    for (const name of subscriptions) await work(name, 0);
    await queue.close();
    const openAfterClose = handles.open;
    queue = await openQueue({ openFile: handles.openFile, segmentBytes: 1 });
    await round(200, true);
    let rest = 0;
    do {
      rest = 0;
      for (const name of subscriptions) rest += await work(name, 8);
    } while (rest > 0);
    for (const name of subscriptions) await work(name, 0);

    // Assess
    expect(mostSegments).toBeGreaterThan(300);
    // The current segment and the segments the three cursors are in, a .log and an .acks each, plus the
    // .acks of a few segments of taken events: 7 measured, against one or two per waiting segment before.
    expect(handles.max).toBeLessThanOrEqual(12);
    expect(openAfterClose).toBe(0);
    for (const name of subscriptions) {
      expect(delivered.get(name)?.sort((a, b) => a - b)).toEqual(expected.get(name));
    }
    expect(queue.describe()).toMatchObject({ pending: 0, held: 0 });
    expect(queue.describe().segments).toHaveLength(1);
    expect((await files()).filter((name) => name.endsWith('.log'))).toHaveLength(1);
  });

  it('keeps one handle when two subscriptions open the same segment at once', async () => {
    // Prepare: a second segment, so that nothing keeps the first one open.
    const handles = new HandleCount();
    const queue = await openQueue({ openFile: handles.openFile, segmentBytes: 1 });
    const [first] = (await queue.append([entry('e-1', ['timeline', 'dora'])])) as [number];
    await queue.append([entry('e-2', ['timeline', 'dora'])]);
    const opening = handles.hold(join(dir, '000000000001.log'), 2);

    // Act: both cursors open the first segment's log before either has it.
    const takes = Promise.all([queue.take('timeline', 1), queue.take('dora', 1)]);
    await opening.arrived;
    opening.release();
    const [timeline, dora] = await takes;

    // Assess
    expect(timeline.map((taken) => taken.seq)).toEqual([first]);
    expect(dora.map((taken) => taken.seq)).toEqual([first]);
    expect(queue.describe().openFiles).toBe(2);
    expect(handles.open).toBe(queue.describe().openFiles);
  });

  it('moves a cursor on and closes the handle when the segment it opens is deleted meanwhile', async () => {
    // Prepare: the first segment holds an event for timeline only, the second one for dora.
    const handles = new HandleCount();
    const queue = await openQueue({ openFile: handles.openFile, segmentBytes: 1 });
    const [forTimeline] = (await queue.append([entry('e-1', ['timeline'])])) as [number];
    const [forDora] = (await queue.append([entry('e-2', ['dora'])])) as [number];
    const timeline = await queue.take('timeline', 1);
    expect(await queue.take('timeline', 1)).toEqual([]);
    const opening = handles.hold(join(dir, '000000000001.log'), 1);

    // Act: dora's cursor opens the first segment to read past it while timeline's acknowledgement deletes it.
    const doraTake = queue.take('dora', 1);
    await opening.arrived;
    await queue.acknowledge(forTimeline, 'timeline');
    opening.release();
    const dora = await doraTake;

    // Assess
    expect(timeline.map((taken) => taken.seq)).toEqual([forTimeline]);
    expect(dora.map((taken) => taken.seq)).toEqual([forDora]);
    expect(queue.describe().segments).toEqual([2]);
    expect(await files()).toEqual(['000000000002.log']);
    expect(handles.open).toBe(queue.describe().openFiles);
  });

  it('after a restart holds the earlier acknowledgements of only the segment a subscription reads', async () => {
    // Prepare: three segments of 10 events; the first 5 of the first two are acknowledged, then a crash.
    const first = await openQueue({ segmentBytes: 1 });
    const tenEvents = (s: number) =>
      first.append(Array.from({ length: 10 }, (_, i) => entry(`e-${s}-${i}`, ['timeline'])));
    const one = await tenEvents(1);
    const two = await tenEvents(2);
    const three = await tenEvents(3);
    const acknowledged = [...one.slice(0, 5), ...two.slice(0, 5)];
    await takeAndAcknowledge(first, 'timeline', acknowledged);

    // Act: no close(), as after a crash.
    const second = await openQueue({ segmentBytes: 1 });
    const inFirst = await second.take('timeline', 1);
    const heldInFirst = second.describe().earlierAcks;
    const intoSecond = await second.take('timeline', 5);
    const heldInSecond = second.describe().earlierAcks;
    const rest = await second.take('timeline', 100);
    const heldInThird = second.describe().earlierAcks;

    // Assess
    expect(heldInFirst).toBe(5);
    expect(heldInSecond).toBe(5);
    expect(heldInThird).toBe(0);
    expect([...inFirst, ...intoSecond, ...rest].map((taken) => taken.seq)).toEqual([
      ...one.slice(5),
      ...two.slice(5),
      ...three,
    ]);
  });

  it('on open deletes segments left fully acknowledged and acknowledgements whose log is gone', async () => {
    // Prepare
    const first = await openQueue();
    const [seq] = (await first.append([entry('e-1', ['timeline'])])) as [number];
    await takeAndAcknowledge(first, 'timeline', [seq]);
    await first.close();
    await writeFile(join(dir, '000000000099.acks'), encodeFrame('{"seq":1,"by":"timeline"}'));

    // Act
    const second = await openQueue();

    // Assess
    expect(await files()).toEqual(['000000000002.log']);
    expect(second.describe()).toMatchObject({ segments: [2], pending: 0, held: 0 });
  });

  it('skips a torn last record with one log line, cuts it off and keeps the records before it', async () => {
    // Prepare: a crash in the middle of writing the third record.
    const first = await openQueue();
    const seqs = await first.append([entry('e-1', ['timeline']), entry('e-2', ['timeline'])]);
    const segment = join(dir, '000000000001.log');
    const whole = (await stat(segment)).size;
    await writeFile(segment, encodeFrame('{"seq":3,"to":["timeline"],"event":{}}').subarray(0, 17), {
      flag: 'a',
    });

    // Act
    const second = await openQueue();
    const third = await openQueue();

    // Assess
    expect(await second.unacknowledged('timeline')).toEqual(seqs);
    expect(await third.unacknowledged('timeline')).toEqual(seqs);
    expect((await stat(segment)).size).toBe(whole);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ file: segment, offset: whole, bytes: 17 });
    expect(String(warnings()[0]?.['msg'])).toMatch(/torn/);
  });

  it('skips a record whose checksum does not match and delivers the ones around it', async () => {
    // Prepare
    const first = await openQueue();
    const seqs = await first.append([
      entry('e-1', ['timeline']),
      entry('e-2', ['timeline']),
      entry('e-3', ['timeline']),
    ]);
    const segment = join(dir, '000000000001.log');
    const bytes = await readFile(segment);
    const second = decodeFrames(bytes).records[1];
    const flipAt = (second?.offset ?? 0) + 40;
    bytes[flipAt] = (bytes[flipAt] ?? 0) ^ 0x01;
    await writeFile(segment, bytes);

    // Act
    const reopened = await openQueue();

    // Assess
    expect(await reopened.unacknowledged('timeline')).toEqual([seqs[0], seqs[2]]);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({
      file: segment,
      offset: second?.offset,
      reason: 'checksum mismatch',
    });
  });

  it('refuses an append that hits a full disk and leaves nothing of it to replay', async () => {
    // Prepare
    const disk = new FaultyDisk();
    const queue = await openQueue({ openFile: disk.open });
    const [kept] = (await queue.append([entry('e-1', ['timeline'])])) as [number];
    const segment = join(dir, '000000000001.log');
    const sizeBefore = (await stat(segment)).size;
    disk.failingWrites.push(25);

    // Act
    const refused = await queue.append([entry('e-2', ['timeline'])]).catch((error: unknown) => error);
    const sizeAfterFailure = (await stat(segment)).size;
    const [later] = (await queue.append([entry('e-3', ['timeline'])])) as [number];
    const reopened = await openQueue();

    // Assess
    expect(refused).toMatchObject({ code: 'ENOSPC' });
    expect(sizeAfterFailure).toBe(sizeBefore);
    expect(await queue.unacknowledged('timeline')).toEqual([kept, later]);
    expect(await reopened.unacknowledged('timeline')).toEqual([kept, later]);
    expect(await Promise.all([kept, later].map(async (seq) => (await reopened.read(seq)).id))).toEqual([
      'e-1',
      'e-3',
    ]);
    expect(warnings()).toEqual([]);
  });

  it('after a full disk continues in a new segment and deletes the one of acknowledged events, freeing space', async () => {
    // Prepare
    const disk = new FaultyDisk();
    const queue = await openQueue({ openFile: disk.open });
    const [done] = (await queue.append([entry('e-1', ['timeline'])])) as [number];
    await takeAndAcknowledge(queue, 'timeline', [done]);
    disk.failingWrites.push(0);

    // Act: the sender retries the refused event.
    const refused = await queue.append([entry('e-2', ['timeline'])]).catch((error: unknown) => error);
    const [retried] = (await queue.append([entry('e-2', ['timeline'])])) as [number];

    // Assess
    expect(refused).toMatchObject({ code: 'ENOSPC' });
    expect(queue.describe().segments).toEqual([2]);
    expect(await files()).toEqual(['000000000002.log']);
    expect((await queue.read(retried)).id).toBe('e-2');
  });

  it('refuses an append whose flush fails and cuts it off', async () => {
    // Prepare
    const disk = new FaultyDisk();
    const queue = await openQueue({ openFile: disk.open });
    disk.failDatasync = true;

    // Act
    const refused = await queue.append([entry('e-1', ['timeline'])]).catch((error: unknown) => error);
    const sizeAfterFailure = (await stat(join(dir, '000000000001.log'))).size;
    const reopened = await openQueue();

    // Assess
    expect(refused).toMatchObject({ code: 'EIO' });
    expect(sizeAfterFailure).toBe(0);
    expect(await reopened.unacknowledged('timeline')).toEqual([]);
  });

  it('continues in a new segment when a failed append cannot be cut off, and skips its remains later', async () => {
    // Prepare
    const disk = new FaultyDisk();
    const queue = await openQueue({ openFile: disk.open });
    const [before] = (await queue.append([entry('e-0', ['timeline'])])) as [number];
    disk.failingWrites.push(30);
    disk.failTruncate = true;

    // Act
    const refused = await queue.append([entry('e-1', ['timeline'])]).catch((error: unknown) => error);
    disk.failTruncate = false;
    const [after] = (await queue.append([entry('e-2', ['timeline'])])) as [number];
    const reopened = await openQueue();

    // Assess
    expect(refused).toMatchObject({ code: 'ENOSPC' });
    expect(queue.describe().segments).toEqual([1, 2]);
    expect(await reopened.unacknowledged('timeline')).toEqual([before, after]);
    expect(warnings()).toHaveLength(1);
    expect(String(warnings()[0]?.['msg'])).toMatch(/torn/);
  });

  it('refuses an append when the next segment cannot be created, and starts it on a later append', async () => {
    // Prepare: segments of about one event.
    const disk = new FaultyDisk();
    const queue = await openQueue({ openFile: disk.open, segmentBytes: 100 });
    const [first] = (await queue.append([entry('e-1', ['timeline'])])) as [number];
    disk.failingOpens = 1;

    // Act
    const refused = await queue.append([entry('e-2', ['timeline'])]).catch((error: unknown) => error);
    const [third] = (await queue.append([entry('e-3', ['timeline'])])) as [number];
    const reopened = await openQueue();

    // Assess
    expect(refused).toMatchObject({ code: 'ENOSPC' });
    expect(queue.describe().segments).toEqual([1, 2]);
    expect(await reopened.unacknowledged('timeline')).toEqual([first, third]);
  });

  it('still acknowledges in memory when the acknowledgement cannot be written', async () => {
    // Prepare
    const disk = new FaultyDisk();
    const queue = await openQueue({ openFile: disk.open });
    const [seq] = (await queue.append([entry('e-1', ['timeline'])])) as [number];
    await queue.take('timeline', 1);
    disk.failingWrites.push(0);

    // Act
    await queue.acknowledge(seq, 'timeline');
    const reopened = await openQueue();

    // Assess
    expect(queue.waiting('timeline')).toBe(0);
    expect(await queue.take('timeline', 1)).toEqual([]);
    expect(await reopened.unacknowledged('timeline')).toEqual([seq]);
    expect(String(warnings()[0]?.['msg'])).toMatch(/delivered again after a restart/);
  });
});
