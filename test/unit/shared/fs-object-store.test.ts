import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, open, readdir, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FsObjectStore } from '../../../functions/shared/adapters/local/fs-object-store.js';
import {
  collect,
  describeObjectStoreContract,
  incrementWithRetry,
} from '../../support/object-store-contract.js';

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
}

describeObjectStoreContract('FsObjectStore', async () => {
  const root = await mkdtemp(join(tmpdir(), 'toilless-store-'));
  return { store: new FsObjectStore(root), close: () => rm(root, { recursive: true, force: true }) };
});

describe('FsObjectStore on disk', () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'toilless-store-'));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('maps keys to files under the root directory', async () => {
    // Prepare
    const store = new FsObjectStore(root);

    // Act
    await store.put('incidents/abc/timeline.json', '{"a":1}');

    // Assess
    expect(await readdir(join(root, 'incidents', 'abc'))).toEqual(['timeline.json']);
  });

  it('leaves no temp or lock files behind after concurrent writes', async () => {
    // Prepare
    const store = new FsObjectStore(root);
    await store.put('counters/deploys', '0');

    // Act
    await Promise.all([
      ...Array.from({ length: 30 }, (_, i) => store.putIfAbsent('dedup/one', `w${i}`)),
      ...Array.from({ length: 10 }, () => incrementWithRetry(store, 'counters/deploys')),
      ...Array.from({ length: 10 }, (_, i) => store.put(`incidents/${i}/timeline.md`, `# ${i}`)),
    ]);
    await store.delete('incidents/3/timeline.md');

    // Assess
    const files = await filesUnder(root);
    expect(files.filter((name) => name.startsWith('.toilless-'))).toEqual([]);
    expect(files).toHaveLength(11);
  });

  it('answers putIfAbsent for an existing key without creating a file, so re-sends write and flush nothing', async () => {
    // Prepare
    const store = new FsObjectStore(root);
    await store.putIfAbsent('dedup/github/one', 'first');
    const dir = join(root, 'dedup', 'github');
    const before = (await stat(dir, { bigint: true })).mtimeNs;
    // Past the file system's timestamp granularity, so that a temp file would show in the mtime.
    await new Promise((resolve) => setTimeout(resolve, 30));

    // Act
    const created = await Promise.all(
      Array.from({ length: 5 }, () => store.putIfAbsent('dedup/github/one', 'x')),
    );

    // Assess
    expect(created).toEqual([false, false, false, false, false]);
    expect((await stat(dir, { bigint: true })).mtimeNs).toBe(before);
    expect((await store.get('dedup/github/one'))?.body.toString()).toBe('first');
  });

  it('flushes each write to disk unless told the object is replaceable', async () => {
    // Prepare
    const store = new FsObjectStore(root);
    const probe = await open(join(root, 'probe'), 'w');
    const fileHandle = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
    await probe.close();
    const sync = vi.spyOn(fileHandle, 'sync');

    try {
      // Act
      await store.put('incidents/a/timeline.json', '{}');
      await store.putIfAbsent('incidents/groups/a.json', '{}');
      const flushed = sync.mock.calls.length;
      await store.put('incidents/a/timeline.md', '# a', { flush: false });
      await store.putIfAbsent('outbox/slack/a.json', '{}', { flush: false });

      // Assess
      expect(flushed).toBe(2);
      expect(sync).toHaveBeenCalledTimes(2);
      expect((await store.get('incidents/a/timeline.md'))?.body.toString()).toBe('# a');
      expect((await store.get('outbox/slack/a.json'))?.body.toString()).toBe('{}');
    } finally {
      sync.mockRestore();
    }
  });

  it('holds a write queue only for keys being written, however many keys were written', async () => {
    // Prepare
    const store = new FsObjectStore(root);
    const writes = Array.from({ length: 200 }, (_, i) =>
      store.put(`incidents/${i % 50}/timeline.json`, `${i}`),
    );

    // Act
    const during = store.keysBeingWritten;
    await Promise.all(writes);

    // Assess
    expect(during).toBe(50);
    expect(store.keysBeingWritten).toBe(0);
  });

  it('keeps updates from two stores on one directory serialised through the lock file', async () => {
    // Prepare: separate instances share no in-process queue, like two processes.
    const first = new FsObjectStore(root);
    const second = new FsObjectStore(root);
    await first.put('counters/deploys', '0');

    // Act
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        incrementWithRetry(i % 2 === 0 ? first : second, 'counters/deploys'),
      ),
    );

    // Assess
    expect((await second.get('counters/deploys'))?.body.toString('utf8')).toBe('20');
  });

  it('breaks a lock file left behind by a crashed process', async () => {
    // Prepare
    const store = new FsObjectStore(root, { staleLockMs: 30_000 });
    const { etag } = await store.put('incidents/abc/timeline.json', '{"v":1}');
    const lock = join(root, 'incidents', 'abc', '.toilless-lock-timeline.json');
    await writeFile(lock, '4242\n');
    const longAgo = new Date(Date.now() - 60_000);
    await utimes(lock, longAgo, longAgo);

    // Act
    await store.put('incidents/abc/timeline.json', '{"v":2}', { ifMatch: etag });

    // Assess
    expect((await store.get('incidents/abc/timeline.json'))?.body.toString('utf8')).toBe('{"v":2}');
    await expect(stat(lock)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('breaks at once a fresh lock whose process is gone (killed while holding it)', async () => {
    // Prepare: the id of a process that has exited.
    const gone = spawnSync(process.execPath, ['-e', '']).pid as number;
    const store = new FsObjectStore(root, { staleLockMs: 30_000, lockTimeoutMs: 1_000 });
    const { etag } = await store.put('incidents/abc/timeline.json', '{"v":1}');
    const lock = join(root, 'incidents', 'abc', '.toilless-lock-timeline.json');
    await writeFile(lock, `${gone}\n`);

    // Act
    await store.put('incidents/abc/timeline.json', '{"v":2}', { ifMatch: etag });

    // Assess
    expect((await store.get('incidents/abc/timeline.json'))?.body.toString('utf8')).toBe('{"v":2}');
  });

  it('waits for a fresh lock and says which file to remove when it is never released', async () => {
    // Prepare
    const store = new FsObjectStore(root, { staleLockMs: 30_000, lockTimeoutMs: 150 });
    await store.put('incidents/abc/timeline.json', '{"v":1}');
    const lock = join(root, 'incidents', 'abc', '.toilless-lock-timeline.json');
    await writeFile(lock, `${process.pid}\n`);

    // Act
    const attempt = store.put('incidents/abc/timeline.json', '{"v":2}');

    // Assess
    await expect(attempt).rejects.toThrow(/stayed locked .* delete that file/);
    expect((await store.get('incidents/abc/timeline.json'))?.body.toString('utf8')).toBe('{"v":1}');
  });

  it('completes an update once another holder releases the lock', async () => {
    // Prepare
    const store = new FsObjectStore(root, { lockTimeoutMs: 5_000 });
    await store.put('incidents/abc/timeline.json', '{"v":1}');
    const lock = join(root, 'incidents', 'abc', '.toilless-lock-timeline.json');
    await writeFile(lock, `${process.pid}\n`);
    setTimeout(() => void rm(lock), 50);

    // Act
    await store.put('incidents/abc/timeline.json', '{"v":2}');

    // Assess
    expect((await store.get('incidents/abc/timeline.json'))?.body.toString('utf8')).toBe('{"v":2}');
  });

  it('refuses keys that would collide with its own temp and lock files', async () => {
    // Prepare
    const store = new FsObjectStore(root);

    // Act
    const attempt = store.put('incidents/.toilless-lock-x', 'x');

    // Assess
    await expect(attempt).rejects.toThrow(/reserved/);
  });

  it('does not list files the store is still writing or locking', async () => {
    // Prepare
    const store = new FsObjectStore(root);
    await store.put('incidents/abc/timeline.json', '{}');
    await writeFile(join(root, 'incidents', 'abc', '.toilless-tmp-1234'), 'partial');
    await writeFile(join(root, 'incidents', 'abc', '.toilless-lock-timeline.json'), '1');

    // Act
    const keys = await collect(store.list('incidents/'));

    // Assess
    expect(keys).toEqual(['incidents/abc/timeline.json']);
  });

  it('removes directories a delete leaves empty', async () => {
    // Prepare
    const store = new FsObjectStore(root);
    await store.put('deployments/acme/shop/production/1.json', '{}');
    await store.put('deployments/acme/api/production/2.json', '{}');

    // Act
    await store.delete('deployments/acme/shop/production/1.json');

    // Assess
    expect(await readdir(join(root, 'deployments', 'acme'))).toEqual(['api']);
  });

  it('treats a key naming a prefix of other keys as absent on get', async () => {
    // Prepare
    const store = new FsObjectStore(root);
    await store.put('incidents/abc/timeline.json', '{}');

    // Act
    const prefix = await store.get('incidents/abc');
    const underFile = await store.get('incidents/abc/timeline.json/more');

    // Assess
    expect(prefix).toBeUndefined();
    expect(underFile).toBeUndefined();
  });

  it('explains that a key cannot be both an object and a prefix on disk', async () => {
    // Prepare
    const store = new FsObjectStore(root);
    await store.put('incidents/abc/timeline.json', '{}');

    // Act
    const overPrefix = await store.put('incidents/abc', 'x').catch((error: unknown) => error);
    const createOverPrefix = await store.putIfAbsent('incidents/abc', 'x').catch((error: unknown) => error);

    // Assess
    expect(overPrefix).toBeInstanceOf(Error);
    expect(String(overPrefix)).toMatch(/both an object and a prefix/);
    expect(String(createOverPrefix)).toMatch(/both an object and a prefix/);
  });

  it('throws on read errors other than a missing key', async () => {
    // Prepare
    const store = new FsObjectStore(root);
    await mkdir(join(root, 'incidents'));
    await symlink('loop.json', join(root, 'incidents', 'loop.json'));

    // Act
    const attempt = store.get('incidents/loop.json');

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'ELOOP' });
  });

  it('infers the content type from the key extension', async () => {
    // Prepare
    const store = new FsObjectStore(root);
    await store.put('incidents/abc/timeline.md', '# t');
    await store.put('outbox/slack/1', 'x');

    // Act
    const markdown = await store.get('incidents/abc/timeline.md');
    const other = await store.get('outbox/slack/1');

    // Assess
    expect(markdown?.contentType).toBe('text/markdown; charset=utf-8');
    expect(other?.contentType).toBe('application/octet-stream');
  });
});
