/**
 * Lead time facts of a successful deployment: which commits it shipped since the previous successful
 * deployment of its repository and environment, and when each was first authored.
 */
import type { ObjectStore } from '../../shared/ports/object-store.js';
import type { DeployedCommit, LeadTimeFacts, PullRequestRecord } from '../model.js';
import { pullRequestOfMergeCommit } from '../store/change-records.js';
import type { CommitFact, CommitSource } from '../store/commit-source.js';

/** Pull request lookups in flight at once. */
const LOOKUP_CONCURRENCY = 16;

export interface LeadTimeSources {
  readonly store: ObjectStore;
  readonly commits: CommitSource;
}

/**
 * The facts for a deployment of `sha` after a successful deployment of `previousSha` (none: the first
 * deployment, which counts no commits). A redeploy of the same sha ships no commits.
 */
export async function computeLeadTimeFacts(
  sources: LeadTimeSources,
  repository: string,
  sha: string,
  previousSha: string | undefined,
): Promise<LeadTimeFacts> {
  if (previousSha === undefined) return { commits: [], firstDeployment: true };
  if (previousSha === sha) return { commits: [], previousSha, firstDeployment: false };
  const range = await sources.commits.commitsBetween(repository, previousSha, sha);
  if (range === undefined) return { commits: [], previousSha, firstDeployment: false, unresolved: true };
  const { commits } = range;
  const pullRequests = new Map<string, PullRequestRecord>();
  for (let start = 0; start < commits.length; start += LOOKUP_CONCURRENCY) {
    const batch = commits.slice(start, start + LOOKUP_CONCURRENCY);
    const found = await Promise.all(
      batch.map((commit) => pullRequestOfMergeCommit(sources.store, repository, commit.sha)),
    );
    found.forEach((pullRequest, index) => {
      if (pullRequest !== undefined) pullRequests.set((batch[index] as CommitFact).sha, pullRequest);
    });
  }
  return {
    commits: deployedCommits(commits, pullRequests),
    previousSha,
    firstDeployment: false,
    // A range longer than the source reads counts its oldest commits: the fallback is recorded.
    ...(range.omittedCommits > 0 ? { omittedCommits: range.omittedCommits } : {}),
  };
}

/**
 * The shipped commits with the time each counts from. A squash-merged pull request's commit counts from
 * the pull request's first commit: its branch commits are not in the range (their head is absent), so
 * without this the branch's work would look a moment old. A merge commit whose branch head is in the
 * range keeps its own time: the branch commits are counted themselves.
 */
export function deployedCommits(
  commits: readonly CommitFact[],
  pullRequestsByMergeCommit: ReadonlyMap<string, PullRequestRecord>,
): DeployedCommit[] {
  const inRange = new Set(commits.map((commit) => commit.sha));
  return commits.map((commit) => {
    const pullRequest = pullRequestsByMergeCommit.get(commit.sha);
    if (pullRequest?.firstCommitAt === undefined || inRange.has(pullRequest.headSha)) {
      return { sha: commit.sha, authoredAt: commit.authoredAt };
    }
    return {
      sha: commit.sha,
      authoredAt: commit.authoredAt,
      pullRequest: pullRequest.number,
      firstCommitAt: pullRequest.firstCommitAt,
    };
  });
}
