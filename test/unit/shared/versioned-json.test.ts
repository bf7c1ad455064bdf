import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../../functions/shared/adapters/local/fs-object-store.js';
import {
  parseJson,
  readJson,
  serializeCompact,
  serializeRecord,
  updateJson,
} from '../../../functions/shared/versioned-json.js';

describe('Versioned JSON records', () => {
  let root: string;
  let store: FsObjectStore;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'toilless-json-'));
    store = new FsObjectStore(root);
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('reads a record with the etag to replace it with', async () => {
    // Prepare
    const { etag } = await store.put('dora/a.json', serializeRecord({ count: 1 }));

    // Act
    const read = await readJson<{ count: number }>(store, 'dora/a.json');

    // Assess
    expect(read).toEqual({ value: { count: 1 }, etag });
    expect(await readJson(store, 'dora/missing.json')).toBeUndefined();
  });

  it('names the key and the remedy when a stored record is not JSON', () => {
    // Prepare
    const object = { key: 'dora/ledger/a.json', body: Buffer.from('{"trunc'), etag: '"1"' };

    // Act
    const plain = () => parseJson(object);
    const withRemedy = () => parseJson(object, 'a ledger is rebuilt from the records');

    // Assess
    expect(plain).toThrow('dora/ledger/a.json is not valid JSON: restore it from a backup or delete it');
    expect(withRemedy).toThrow(/delete it \(a ledger is rebuilt from the records\)$/);
  });

  it('creates, updates, and leaves a record alone when the update changes no byte', async () => {
    // Act
    const created = await updateJson<{ count: number }>(store, 'dora/a.json', () => ({ count: 1 }));
    const updated = await updateJson<{ count: number }>(store, 'dora/a.json', (current) => ({
      count: (current?.count ?? 0) + 1,
    }));
    const before = await store.get('dora/a.json');
    const unchanged = await updateJson<{ count: number }>(store, 'dora/a.json', (current) => current);
    const declined = await updateJson<{ count: number }>(store, 'dora/a.json', () => undefined);

    // Assess
    expect(created).toEqual({ value: { count: 1 }, changed: true });
    expect(updated).toEqual({ value: { count: 2 }, changed: true });
    expect(unchanged).toEqual({ value: { count: 2 }, changed: false });
    expect(declined).toEqual({ value: { count: 2 }, changed: false });
    expect((await store.get('dora/a.json'))?.etag).toBe(before?.etag);
  });

  it('computes the update again when another writer got there first, losing neither write', async () => {
    // Prepare
    await store.put('dora/a.json', serializeCompact({ seen: [] }));
    let interfered = false;

    // Act
    const result = await updateJson<{ seen: string[] }>(
      store,
      'dora/a.json',
      async (current) => {
        if (!interfered) {
          interfered = true;
          await store.put('dora/a.json', serializeCompact({ seen: ['other'] }));
        }
        return { seen: [...(current?.seen ?? []), 'mine'] };
      },
      { serialize: serializeCompact },
    );

    // Assess
    expect(result).toEqual({ value: { seen: ['other', 'mine'] }, changed: true });
    expect((await store.get('dora/a.json'))?.body.toString('utf8')).toBe('{"seen":["other","mine"]}\n');
  });
});
