import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pushRecordOf, storePush } from '../../../../functions/dora-metrics/store/change-records.js';
import {
  firstAnsweringCommitSource,
  StoredPushCommitSource,
} from '../../../../functions/dora-metrics/store/commit-source.js';
import {
  ledgerKey,
  pushKey,
  targetOfLedgerKey,
} from '../../../../functions/dora-metrics/store/store-keys.js';
import { FsObjectStore } from '../../../../functions/shared/adapters/local/fs-object-store.js';
import { ValidationError } from '../../../../functions/shared/errors.js';
import { pushed, REPOSITORY, sha, ZERO } from '../events.js';

describe('Commits from stored pushes', () => {
  let dataDir: string;
  let store: FsObjectStore;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'toilless-dora-commits-'));
    store = new FsObjectStore(dataDir);
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  async function storePushes(): Promise<void> {
    for (const push of [
      pushed({
        before: ZERO,
        after: sha('a'),
        commits: [{ sha: sha('a'), authoredAt: '2026-11-24T08:00:00Z' }],
      }),
      pushed({
        before: sha('a'),
        after: sha('c'),
        commits: [
          { sha: sha('b'), authoredAt: '2026-11-25T08:00:00Z' },
          { sha: sha('c'), authoredAt: '2026-11-25T09:00:00Z' },
        ],
      }),
      pushed({
        before: sha('c'),
        after: sha('d'),
        commits: [{ sha: sha('d'), authoredAt: '2026-11-26T08:00:00Z' }],
      }),
    ]) {
      await storePush(store, pushRecordOf(push.detail));
    }
  }

  it('walks the pushes from the head back to the base, oldest commit first', async () => {
    // Prepare
    await storePushes();
    const source = new StoredPushCommitSource(store);

    // Act
    const range = await source.commitsBetween(REPOSITORY, sha('a'), sha('d'));

    // Assess
    expect(range).toEqual({
      commits: [
        { sha: sha('b'), authoredAt: '2026-11-25T08:00:00.000Z' },
        { sha: sha('c'), authoredAt: '2026-11-25T09:00:00.000Z' },
        { sha: sha('d'), authoredAt: '2026-11-26T08:00:00.000Z' },
      ],
      omittedCommits: 0,
    });
  });

  it('answers nothing shipped between equal shas, and undefined when the chain is broken', async () => {
    // Prepare
    await storePushes();
    const source = new StoredPushCommitSource(store);

    // Assess
    expect(await source.commitsBetween(REPOSITORY, sha('d'), sha('d'))).toEqual({
      commits: [],
      omittedCommits: 0,
    });
    // A base the chain never reaches: the walk stops at the push that created the branch.
    expect(await source.commitsBetween(REPOSITORY, sha('e'), sha('d'))).toBeUndefined();
    // A head no push is stored for.
    expect(await source.commitsBetween(REPOSITORY, sha('a'), sha('f'))).toBeUndefined();
    // A base beyond the walking limit.
    expect(
      await new StoredPushCommitSource(store, { maxPushes: 1 }).commitsBetween(
        REPOSITORY,
        sha('a'),
        sha('d'),
      ),
    ).toBe(undefined);
  });

  it('keeps the push that continues a chain when a branch is created at the same commit', async () => {
    // Prepare
    await storePushes();
    const created = pushed({ ref: 'refs/heads/release', before: ZERO, after: sha('d'), commits: [] });

    // Act
    const changed = await storePush(store, pushRecordOf(created.detail));

    // Assess
    expect(changed).toBe(false);
    const stored = JSON.parse(
      (await store.get(pushKey(REPOSITORY, sha('d'))))?.body.toString('utf8') ?? '{}',
    );
    expect(stored.before).toBe(sha('c'));
  });

  it('falls back to the next source when one cannot tell', async () => {
    // Prepare
    const source = firstAnsweringCommitSource(new StoredPushCommitSource(store), {
      commitsBetween: async () => ({
        commits: [{ sha: sha('b'), authoredAt: '2026-11-25T08:00:00.000Z' }],
        omittedCommits: 0,
      }),
    });

    // Act
    const range = await source.commitsBetween(REPOSITORY, sha('a'), sha('b'));

    // Assess
    expect(range?.commits).toEqual([{ sha: sha('b'), authoredAt: '2026-11-25T08:00:00.000Z' }]);
  });
});

describe('DORA store keys', () => {
  it('keeps an environment name with a slash in one segment and reads it back', () => {
    // Act
    const key = ledgerKey(REPOSITORY, 'review/pr-7');

    // Assess
    expect(key).toBe('dora/ledger/Codertocat/Hello-World/review%2Fpr-7.json');
    expect(targetOfLedgerKey(key)).toEqual({ repository: REPOSITORY, environment: 'review/pr-7' });
  });

  it('refuses a repository that is not owner/name', () => {
    // Assess
    expect(() => ledgerKey('../etc', 'production')).toThrow(ValidationError);
    expect(() => ledgerKey('owner/name/extra', 'production')).toThrow(/is not owner\/name/);
  });
});
