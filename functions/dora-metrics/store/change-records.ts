/**
 * The changes lead time is measured from: pushes (commits and their author times, chained by
 * before/after) and merged pull requests (for squash merges, the branch's first commit).
 */
import type { GitHubPullRequestDetail, GitHubPushDetail } from '../../shared/events/types.js';
import type { ObjectStore } from '../../shared/ports/object-store.js';
import { readJson, updateJson } from '../../shared/versioned-json.js';
import { CHANGE_SCHEMA_VERSION, type PullRequestRecord, type PushRecord } from '../model.js';
import { ZERO_SHA } from './commit-source.js';
import { mergeCommitKey, pullRequestKey, pushKey } from './store-keys.js';

/** Branch pushes walked back from a pull request's head to find its first commit. */
const MAX_BRANCH_PUSHES = 200;

export function pushRecordOf(detail: GitHubPushDetail): PushRecord {
  return {
    schemaVersion: CHANGE_SCHEMA_VERSION,
    repository: detail.repository,
    ref: detail.ref,
    before: detail.before,
    after: detail.after,
    commits: detail.commits.map((commit) => ({ id: commit.id, authoredAt: commit.authoredAt })),
  };
}

/**
 * Stores a push under its `after` sha; true when the store changed. Two pushes can share an `after`
 * (a branch created at an existing commit): the one continuing a chain (non-zero `before`) wins, then the
 * one with more commits, so the result does not depend on arrival order.
 */
export async function storePush(store: ObjectStore, push: PushRecord): Promise<boolean> {
  const result = await updateJson<PushRecord>(store, pushKey(push.repository, push.after), (current) =>
    current === undefined || preferredPush(push, current) ? push : undefined,
  );
  return result.changed;
}

function preferredPush(candidate: PushRecord, current: PushRecord): boolean {
  const chained = (push: PushRecord) => (ZERO_SHA.test(push.before) ? 0 : 1);
  const order =
    chained(candidate) - chained(current) ||
    candidate.commits.length - current.commits.length ||
    (candidate.before < current.before ? 1 : candidate.before > current.before ? -1 : 0) ||
    (candidate.ref < current.ref ? 1 : candidate.ref > current.ref ? -1 : 0);
  return order > 0;
}

/**
 * Stores a merged pull request (and the index from its merge commit to it); closed unmerged ones are
 * not changes. Its first commit time comes from the stored pushes of its branch when their chain is
 * complete, or from a caller that knows it (the GitHub API); the earliest known time is kept.
 */
export async function storePullRequest(
  store: ObjectStore,
  detail: GitHubPullRequestDetail,
  knownFirstCommitAt?: string,
): Promise<boolean> {
  if (!detail.merged || detail.mergedAt === null || detail.mergeCommitSha === null) return false;
  const fromPushes = await firstCommitOfBranch(store, detail.repository, detail.headSha, detail.baseRef);
  const firstCommitAt = earliest(knownFirstCommitAt, fromPushes);
  const record: PullRequestRecord = {
    schemaVersion: CHANGE_SCHEMA_VERSION,
    repository: detail.repository,
    number: detail.number,
    mergedAt: detail.mergedAt,
    mergeCommitSha: detail.mergeCommitSha,
    headSha: detail.headSha,
    baseRef: detail.baseRef,
    ...(firstCommitAt === undefined ? {} : { firstCommitAt }),
  };
  const stored = await updateJson<PullRequestRecord>(
    store,
    pullRequestKey(detail.repository, detail.number),
    (current) => {
      const first = earliest(current?.firstCommitAt, record.firstCommitAt);
      return { ...record, ...(first === undefined ? {} : { firstCommitAt: first }) };
    },
  );
  const indexed = await updateJson<MergeCommitIndex>(
    store,
    mergeCommitKey(detail.repository, detail.mergeCommitSha),
    () => ({ schemaVersion: CHANGE_SCHEMA_VERSION, number: detail.number }),
  );
  return stored.changed || indexed.changed;
}

interface MergeCommitIndex {
  readonly schemaVersion: number;
  readonly number: number;
}

/** The merged pull request whose merge commit is `sha`, if one is stored. */
export async function pullRequestOfMergeCommit(
  store: ObjectStore,
  repository: string,
  sha: string,
): Promise<PullRequestRecord | undefined> {
  const index = await readJson<MergeCommitIndex>(store, mergeCommitKey(repository, sha));
  if (index === undefined) return undefined;
  return (await readJson<PullRequestRecord>(store, pullRequestKey(repository, index.value.number)))?.value;
}

/**
 * The earliest author time on a branch, walking its pushes back from the head until the push that created
 * the branch or one on the base branch; undefined when a push in between is missing.
 */
async function firstCommitOfBranch(
  store: ObjectStore,
  repository: string,
  headSha: string,
  baseRef: string,
): Promise<string | undefined> {
  let first: string | undefined;
  let cursor = headSha;
  for (let walked = 0; walked < MAX_BRANCH_PUSHES; walked++) {
    const push = (await readJson<PushRecord>(store, pushKey(repository, cursor)))?.value;
    if (push === undefined) return undefined;
    // A push on the base branch holds the commits the branch started from, not its own.
    if (push.ref === `refs/heads/${baseRef}`) return first;
    for (const commit of push.commits) first = earliest(first, commit.authoredAt);
    if (ZERO_SHA.test(push.before)) return first;
    cursor = push.before;
  }
  return undefined;
}

function earliest(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Date.parse(b) < Date.parse(a) ? b : a;
}
