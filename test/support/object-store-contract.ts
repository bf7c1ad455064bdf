/**
 * The behaviour every ObjectStore adapter owes its callers. The data-directory store and the S3 store
 * both run these cases, so code written against one behaves the same on the other.
 */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PreconditionFailedError } from '../../functions/shared/errors.js';
import type { ObjectStore } from '../../functions/shared/ports/object-store.js';

export interface ContractSubject {
  readonly store: ObjectStore;
  /** Releases whatever the subject started (temp dirs, servers). */
  readonly close: () => Promise<void>;
}

export async function collect(keys: AsyncIterable<string>): Promise<string[]> {
  const all: string[] = [];
  for await (const key of keys) all.push(key);
  return all;
}

/** Reads a counter, adds one and writes it back with ifMatch, retrying when another writer won. */
export async function incrementWithRetry(store: ObjectStore, key: string): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const current = await store.get(key);
    if (current === undefined) throw new Error(`counter ${key} is missing`);
    const next = Number(current.body.toString('utf8')) + 1;
    try {
      await store.put(key, String(next), { ifMatch: current.etag });
      return attempt;
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
      // Jittered backoff, as real callers do, so the writers spread out instead of colliding again.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 3 * attempt)));
    }
  }
}

const md5Etag = (body: string | Buffer) => `"${createHash('md5').update(body).digest('hex')}"`;

export function describeObjectStoreContract(name: string, open: () => Promise<ContractSubject>): void {
  describe(`${name} (object store contract)`, () => {
    let subject: ContractSubject;
    let store: ObjectStore;

    beforeEach(async () => {
      subject = await open();
      store = subject.store;
    });

    afterEach(async () => {
      await subject.close();
    });

    it('returns undefined for a key that was never written', async () => {
      // Act
      const found = await store.get('incidents/none/timeline.json');

      // Assess
      expect(found).toBeUndefined();
    });

    it('returns the written body with a quoted md5 etag and the content type', async () => {
      // Prepare
      const body = JSON.stringify({ incidentId: 'abc', entries: [] });

      // Act
      const written = await store.put('incidents/abc/timeline.json', body, {
        contentType: 'application/json',
      });
      const found = await store.get('incidents/abc/timeline.json');

      // Assess
      expect(written.etag).toBe(md5Etag(body));
      expect(found?.key).toBe('incidents/abc/timeline.json');
      expect(found?.body.toString('utf8')).toBe(body);
      expect(found?.etag).toBe(written.etag);
      expect(found?.contentType).toBe('application/json');
    });

    it('keeps binary bodies byte for byte', async () => {
      // Prepare
      const body = Buffer.from([0x25, 0x50, 0x44, 0x46, 0x00, 0xff, 0xfe, 0x0a, 0x80]);

      // Act
      await store.put('reports/2026-W48/report.pdf', body, { contentType: 'application/pdf' });
      const found = await store.get('reports/2026-W48/report.pdf');

      // Assess
      expect(found?.body.equals(body)).toBe(true);
      expect(found?.contentType).toBe('application/pdf');
    });

    it('replaces the body on a second put and changes the etag', async () => {
      // Prepare
      const first = await store.put('deployments/acme/shop/production/1.json', '{"v":1}');

      // Act
      const second = await store.put('deployments/acme/shop/production/1.json', '{"v":2}');
      const found = await store.get('deployments/acme/shop/production/1.json');

      // Assess
      expect(second.etag).not.toBe(first.etag);
      expect(found?.body.toString('utf8')).toBe('{"v":2}');
      expect(found?.etag).toBe(second.etag);
    });

    it('writes with ifMatch when the etag is current', async () => {
      // Prepare
      const { etag } = await store.put('incidents/abc/timeline.md', '# one');

      // Act
      const written = await store.put('incidents/abc/timeline.md', '# two', { ifMatch: etag });

      // Assess
      expect((await store.get('incidents/abc/timeline.md'))?.body.toString('utf8')).toBe('# two');
      expect(written.etag).toBe(md5Etag('# two'));
    });

    it('refuses a put with a stale etag and keeps the newer body', async () => {
      // Prepare
      const { etag: stale } = await store.put('incidents/abc/timeline.md', '# one');
      await store.put('incidents/abc/timeline.md', '# two');

      // Act
      const attempt = store.put('incidents/abc/timeline.md', '# three', { ifMatch: stale });

      // Assess
      await expect(attempt).rejects.toBeInstanceOf(PreconditionFailedError);
      expect((await store.get('incidents/abc/timeline.md'))?.body.toString('utf8')).toBe('# two');
    });

    it('refuses a put with ifMatch when the object is gone', async () => {
      // Prepare
      const { etag } = await store.put('incidents/abc/timeline.md', '# one');
      await store.delete('incidents/abc/timeline.md');

      // Act
      const attempt = store.put('incidents/abc/timeline.md', '# two', { ifMatch: etag });

      // Assess
      await expect(attempt).rejects.toBeInstanceOf(PreconditionFailedError);
      expect(await store.get('incidents/abc/timeline.md')).toBeUndefined();
    });

    it('creates with putIfAbsent once and leaves the first body in place', async () => {
      // Act
      const first = await store.putIfAbsent('dedup/alertmanager/g1.json', 'first');
      const second = await store.putIfAbsent('dedup/alertmanager/g1.json', 'second');

      // Assess
      expect(first).toBe(true);
      expect(second).toBe(false);
      expect((await store.get('dedup/alertmanager/g1.json'))?.body.toString('utf8')).toBe('first');
    });

    it('lets exactly one of 50 concurrent putIfAbsent calls create the object', async () => {
      // Act
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => store.putIfAbsent('dedup/github/delivery-1', `writer-${i}`)),
      );

      // Assess
      const winners = results.flatMap((created, i) => (created ? [i] : []));
      expect(winners).toHaveLength(1);
      expect((await store.get('dedup/github/delivery-1'))?.body.toString('utf8')).toBe(
        `writer-${winners[0]}`,
      );
    });

    it('loses no update when 20 writers increment a counter with ifMatch and retry', async () => {
      // Prepare
      await store.put('counters/deploys', '0');

      // Act
      const attempts = await Promise.all(
        Array.from({ length: 20 }, () => incrementWithRetry(store, 'counters/deploys')),
      );

      // Assess
      expect((await store.get('counters/deploys'))?.body.toString('utf8')).toBe('20');
      expect(Math.max(...attempts)).toBeGreaterThan(1);
    });

    it('deletes an object, and deleting a missing one is not an error', async () => {
      // Prepare
      await store.put('incidents/abc/timeline.json', '{}');

      // Act
      await store.delete('incidents/abc/timeline.json');
      await store.delete('incidents/abc/timeline.json');
      await store.delete('incidents/never/written.json');

      // Assess
      expect(await store.get('incidents/abc/timeline.json')).toBeUndefined();
      expect(await collect(store.list('incidents/'))).toEqual([]);
    });

    it('lists every key under a prefix in lexicographic order, recursively', async () => {
      // Prepare
      const keys = [
        'incidents/b/timeline.json',
        'incidents/a/timeline.md',
        'incidents/a/timeline.json',
        'incidents/a.b/timeline.json',
        'incidents/a-b/timeline.json',
        'deployments/acme/shop/production/7.json',
        'reports/2026-W48/report.pdf',
      ];
      for (const key of keys) await store.put(key, key);

      // Act
      const incidents = await collect(store.list('incidents/'));
      const everything = await collect(store.list(''));

      // Assess
      expect(incidents).toEqual([
        'incidents/a-b/timeline.json',
        'incidents/a.b/timeline.json',
        'incidents/a/timeline.json',
        'incidents/a/timeline.md',
        'incidents/b/timeline.json',
      ]);
      expect(everything).toEqual([...keys].sort());
    });

    it('lists with a prefix that ends in the middle of a name', async () => {
      // Prepare
      await store.put('incidents/abc/timeline.json', '{}');
      await store.put('incidents/abd/timeline.json', '{}');
      await store.put('incidents/b/timeline.json', '{}');
      await store.put('incidents/abc/timeline.md', '');

      // Act
      const underAb = await collect(store.list('incidents/ab'));
      const underAbcTimeline = await collect(store.list('incidents/abc/timeline.j'));
      const underInc = await collect(store.list('inc'));

      // Assess
      expect(underAb).toEqual([
        'incidents/abc/timeline.json',
        'incidents/abc/timeline.md',
        'incidents/abd/timeline.json',
      ]);
      expect(underAbcTimeline).toEqual(['incidents/abc/timeline.json']);
      expect(underInc).toHaveLength(4);
    });

    it('lists nothing under a prefix that matches no key', async () => {
      // Prepare
      await store.put('incidents/abc/timeline.json', '{}');

      // Act
      const none = await collect(store.list('reports/'));
      const underObject = await collect(store.list('incidents/abc/timeline.json/'));

      // Assess
      expect(none).toEqual([]);
      expect(underObject).toEqual([]);
    });

    it.each([
      ['an empty key', ''],
      ['an absolute key', '/incidents/a.json'],
      ['a key ending in a slash', 'incidents/'],
      ['a key with an empty segment', 'incidents//a.json'],
      ['a key climbing out with ..', 'incidents/../../etc/passwd'],
      ['a key with a dot segment', 'incidents/./a.json'],
      ['a key with a backslash', 'incidents\\a.json'],
      ['a key with a control character', 'incidents/a\n.json'],
    ])('rejects %s on every operation', async (_what, key) => {
      // Act
      const outcomes = await Promise.allSettled([
        store.get(key),
        store.put(key, 'x'),
        store.putIfAbsent(key, 'x'),
        store.delete(key),
        collect(store.list(`${key}/x`)),
      ]);

      // Assess
      for (const outcome of outcomes) {
        expect(outcome.status).toBe('rejected');
        expect(outcome.status === 'rejected' && outcome.reason).toBeInstanceOf(TypeError);
      }
      expect(await collect(store.list(''))).toEqual([]);
    });
  });
}
