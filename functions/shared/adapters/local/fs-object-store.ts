/**
 * The store as a data directory: each key is a file under the root, with the same keys as S3.
 * Writes go to a temp file in the target's directory and are renamed (or linked) into place, so
 * readers see the old or the new body. Updates of one key are serialised within the process by a
 * queue and across processes by a lock file created with O_EXCL next to the target.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, rmdir, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { PreconditionFailedError, ToillessError } from '../../errors.js';
import {
  assertValidKey,
  type ObjectStore,
  type PutOptions,
  type StoredObject,
} from '../../ports/object-store.js';
import { contentTypeOf } from '../content-type.js';

/** File names starting with this are the store's own temp and lock files, never keys. */
const INTERNAL_PREFIX = '.toilless-';
const TEMP_PREFIX = `${INTERNAL_PREFIX}tmp-`;
const LOCK_PREFIX = `${INTERNAL_PREFIX}lock-`;

export interface FsObjectStoreOptions {
  /** A lock file older than this is left over from a crashed process and is broken. @default 30000 */
  readonly staleLockMs?: number;
  /** How long an update waits for another process's lock before giving up. @default 60000 */
  readonly lockTimeoutMs?: number;
}

export class FsObjectStore implements ObjectStore {
  readonly rootDir: string;
  private readonly staleLockMs: number;
  private readonly lockTimeoutMs: number;
  /** Tail of the queue of updates per key: each update waits for the one before it. */
  private readonly keyQueues = new Map<string, Promise<void>>();

  constructor(rootDir: string, options: FsObjectStoreOptions = {}) {
    this.rootDir = resolve(rootDir);
    this.staleLockMs = options.staleLockMs ?? 30_000;
    this.lockTimeoutMs = options.lockTimeoutMs ?? 60_000;
  }

  /** Keys with a write queued or running in this process: the per-key queues memory holds (for tests). */
  get keysBeingWritten(): number {
    return this.keyQueues.size;
  }

  async get(key: string): Promise<StoredObject | undefined> {
    const path = this.pathOf(key);
    const body = await readIfPresent(path);
    if (body === undefined) return undefined;
    return { key, body, etag: etagOf(body), contentType: contentTypeOf(key) };
  }

  async put(key: string, body: Buffer | string, options: PutOptions = {}): Promise<{ etag: string }> {
    const path = this.pathOf(key);
    const bytes = toBuffer(body);
    return this.exclusive(key, path, async () => {
      if (options.ifMatch !== undefined) {
        const current = await readIfPresent(path);
        if (current === undefined || !sameEtag(etagOf(current), options.ifMatch)) {
          throw new PreconditionFailedError(key);
        }
      }
      const temp = await writeTemp(dirname(path), bytes, options.flush ?? true);
      try {
        await rename(temp, path);
      } catch (error) {
        await unlinkIfPresent(temp);
        throw explainPathConflict(error, key);
      }
      return { etag: etagOf(bytes) };
    });
  }

  async putIfAbsent(
    key: string,
    body: Buffer | string,
    options: Omit<PutOptions, 'ifMatch'> = {},
  ): Promise<boolean> {
    const path = this.pathOf(key);
    // Most calls for an existing key are re-sends (a GitHub redelivery): answer them without writing
    // and flushing a temp file. A key created after this check is still caught by link() below.
    if (await isFile(path)) return false;
    const temp = await writeTemp(dirname(path), toBuffer(body), options.flush ?? true);
    try {
      // link() creates the name only if it does not exist: the atomic create-if-absent of POSIX.
      await link(temp, path);
      return true;
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw explainPathConflict(error, key);
      const existing = await stat(path);
      if (existing.isDirectory()) throw explainPathConflict(error, key, 'EISDIR');
      return false;
    } finally {
      await unlinkIfPresent(temp);
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    await this.exclusive(key, path, async () => {
      await unlinkIfPresent(path);
    });
    await this.pruneEmptyDirs(dirname(path));
  }

  async *list(prefix: string): AsyncIterable<string> {
    if (prefix !== '') assertValidKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
    const cut = prefix.lastIndexOf('/');
    const dirKey = cut === -1 ? '' : prefix.slice(0, cut);
    const namePrefix = prefix.slice(cut + 1);
    const keys: string[] = [];
    const startDir = dirKey === '' ? this.rootDir : join(this.rootDir, ...dirKey.split('/'));
    await collectKeys(startDir, dirKey, namePrefix, keys);
    // S3 orders keys by their UTF-8 bytes; so does this store.
    keys.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    yield* keys;
  }

  private pathOf(key: string): string {
    assertValidKey(key);
    if (key.split('/').some((part) => part.startsWith(INTERNAL_PREFIX))) {
      throw new TypeError(
        `invalid store key ${JSON.stringify(key)}: segments starting with "${INTERNAL_PREFIX}" are reserved for the store's own files`,
      );
    }
    return join(this.rootDir, ...key.split('/'));
  }

  /** Runs `update` with the key held against this process (queue) and others (lock file). */
  private async exclusive<T>(key: string, path: string, update: () => Promise<T>): Promise<T> {
    const previous = this.keyQueues.get(key) ?? Promise.resolve();
    let release = () => {};
    const current = new Promise<void>((resolveCurrent) => {
      release = resolveCurrent;
    });
    const tail = previous.then(() => current);
    this.keyQueues.set(key, tail);
    await previous;
    try {
      const lockPath = await this.acquireLock(key, path);
      try {
        return await update();
      } finally {
        await unlinkIfPresent(lockPath);
      }
    } finally {
      release();
      if (this.keyQueues.get(key) === tail) this.keyQueues.delete(key);
    }
  }

  private async acquireLock(key: string, path: string): Promise<string> {
    const dir = dirname(path);
    const lockPath = join(dir, lockNameOf(basename(path)));
    const deadline = Date.now() + this.lockTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        const handle = await open(lockPath, 'wx');
        await handle.writeFile(`${process.pid}\n`);
        await handle.close();
        return lockPath;
      } catch (error) {
        const code = errorCode(error);
        if (code === 'ENOENT') {
          await mkdir(dir, { recursive: true });
          continue;
        }
        if (code !== 'EEXIST') throw explainPathConflict(error, key);
      }
      const held = await stat(lockPath).catch(() => undefined);
      if (
        (held !== undefined && Date.now() - held.mtimeMs > this.staleLockMs) ||
        (await holderIsGone(lockPath))
      ) {
        // A crashed process left it; an update cannot take this long while holding it.
        await unlinkIfPresent(lockPath);
        continue;
      }
      if (Date.now() > deadline) {
        throw new ToillessError(
          `store key ${key} stayed locked for ${this.lockTimeoutMs} ms by ${lockPath}: if no toilless process is running, delete that file`,
        );
      }
      await sleep(Math.random() * Math.min(50, 2 ** attempt));
    }
  }

  /** Removes directories left empty by a delete, as S3 has no directories to leave behind. */
  private async pruneEmptyDirs(dir: string): Promise<void> {
    let current = dir;
    while (current !== this.rootDir && current.startsWith(this.rootDir + sep)) {
      try {
        await rmdir(current);
      } catch {
        return;
      }
      current = dirname(current);
    }
  }
}

async function collectKeys(dir: string, dirKey: string, namePrefix: string, keys: string[]): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return;
    throw error;
  }
  for (const entry of entries) {
    if (entry.name.startsWith(INTERNAL_PREFIX) || !entry.name.startsWith(namePrefix)) continue;
    const key = dirKey === '' ? entry.name : `${dirKey}/${entry.name}`;
    if (entry.isDirectory()) await collectKeys(join(dir, entry.name), key, '', keys);
    else if (entry.isFile()) keys.push(key);
  }
}

/** Writes the body to a new temp file in `dir`, flushed to disk unless `flush` is false, and returns its path. */
async function writeTemp(dir: string, body: Buffer, flush: boolean): Promise<string> {
  const temp = join(dir, `${TEMP_PREFIX}${randomUUID()}`);
  for (;;) {
    try {
      const handle = await open(temp, 'wx');
      try {
        await handle.writeFile(body);
        if (flush) await handle.sync();
      } finally {
        await handle.close();
      }
      return temp;
    } catch (error) {
      // A concurrent delete may prune the directory between mkdir and open: make it again.
      if (errorCode(error) !== 'ENOENT') {
        await unlinkIfPresent(temp);
        throw error;
      }
      await mkdir(dir, { recursive: true });
    }
  }
}

async function readIfPresent(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = errorCode(error);
    // ENOTDIR and EISDIR: a path component is a file, or the key names a "directory" of other keys.
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
    throw error;
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
}

function explainPathConflict(error: unknown, key: string, code = errorCode(error)): unknown {
  if (code === 'EISDIR' || code === 'ENOTDIR' || code === 'EEXIST' || code === 'EPERM') {
    return new ToillessError(
      `cannot store ${key} in the data directory: a key is both an object and a prefix of other keys (${code}); choose keys that do not nest under object keys`,
      { cause: error },
    );
  }
  return error;
}

function lockNameOf(name: string): string {
  // File names are limited to 255 bytes: long names are hashed to keep the lock name valid.
  const id = Buffer.byteLength(name) > 200 ? createHash('sha256').update(name).digest('hex') : name;
  return `${LOCK_PREFIX}${id}`;
}

function etagOf(body: Buffer): string {
  return `"${createHash('md5').update(body).digest('hex')}"`;
}

function sameEtag(stored: string, given: string): boolean {
  return stored === given || stored === `"${given}"`;
}

function toBuffer(body: Buffer | string): Buffer {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}

/**
 * True when the lock names a process id that no longer runs on this machine: it was killed while holding
 * the lock, and waiting for staleLockMs would only delay the restart's redelivery.
 */
async function holderIsGone(lockPath: string): Promise<boolean> {
  const pid = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return errorCode(error) === 'ESRCH';
  }
}
