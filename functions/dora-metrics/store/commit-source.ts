/**
 * Which commits a deployment shipped: the commits after the previous deployment's sha up to its own.
 * Stored pushes answer when their chain is complete; the GitHub compare API answers otherwise.
 */
import type { ObjectStore } from '../../shared/ports/object-store.js';
import { readJson } from '../../shared/versioned-json.js';
import type { PushRecord } from '../model.js';
import { pushKey } from './store-keys.js';

export interface CommitFact {
  readonly sha: string;
  /** Author time, ISO 8601 UTC. */
  readonly authoredAt: string;
}

/** The commits of a range, oldest first, as far as a source reads them. */
export interface CommitRange {
  readonly commits: readonly CommitFact[];
  /** Newer commits of the range left unread because it is longer than the source reads (none: 0). */
  readonly omittedCommits: number;
}

export interface CommitSource {
  /**
   * The commits reachable from `headSha` and not from `baseSha` (base excluded, head included), or
   * undefined when this source cannot tell. Equal shas give an empty range.
   */
  commitsBetween(repository: string, baseSha: string, headSha: string): Promise<CommitRange | undefined>;
}

/** A sha of zeros: the `before` of a push that created its branch. */
export const ZERO_SHA = /^0+$/;

export interface StoredPushCommitSourceOptions {
  /** Pushes walked back from the head before giving up. @default 500 */
  readonly maxPushes?: number;
}

/**
 * Commits from the pushes stored under changes/<owner>/<repo>/pushes/: walks from the push whose `after`
 * is the head back through each push's `before` until it reaches the base. Undefined when a push in
 * between was never stored, the walk reaches the start of a branch, or it exceeds `maxPushes`.
 */
export class StoredPushCommitSource implements CommitSource {
  private readonly maxPushes: number;

  constructor(
    private readonly store: ObjectStore,
    options: StoredPushCommitSourceOptions = {},
  ) {
    this.maxPushes = options.maxPushes ?? 500;
  }

  async commitsBetween(
    repository: string,
    baseSha: string,
    headSha: string,
  ): Promise<CommitRange | undefined> {
    // Walked newest push first; each push lists its commits oldest first.
    const runs: CommitFact[][] = [];
    const seen = new Set<string>();
    let cursor = headSha;
    for (let walked = 0; cursor !== baseSha; walked++) {
      if (walked >= this.maxPushes || ZERO_SHA.test(cursor)) return undefined;
      const push = await readJson<PushRecord>(this.store, pushKey(repository, cursor));
      if (push === undefined) return undefined;
      runs.push(
        push.value.commits
          .filter((commit) => !seen.has(commit.id))
          .map((commit) => ({ sha: commit.id, authoredAt: commit.authoredAt })),
      );
      for (const commit of push.value.commits) seen.add(commit.id);
      cursor = push.value.before;
    }
    return { commits: runs.reverse().flat(), omittedCommits: 0 };
  }
}

/** The first source's answer that is not undefined: e.g. stored pushes, then the GitHub compare API. */
export function firstAnsweringCommitSource(...sources: readonly CommitSource[]): CommitSource {
  return {
    async commitsBetween(repository, baseSha, headSha) {
      for (const source of sources) {
        const range = await source.commitsBetween(repository, baseSha, headSha);
        if (range !== undefined) return range;
      }
      return undefined;
    },
  };
}
