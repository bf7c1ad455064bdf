/**
 * The commits a deployment shipped, from GitHub's compare API: used when GITHUB_TOKEN is set, after the
 * stored pushes (which answer without a request when their chain is complete).
 */
import type { GitHubClient } from '../../shared/clients/github.js';
import { UpstreamError } from '../../shared/errors.js';
import type { CommitRange, CommitSource } from '../store/commit-source.js';

export interface GitHubCommitSourceOptions {
  /**
   * Compare pages (100 commits each) read per range: one event must not cost hundreds of requests. A
   * longer range answers its oldest commits, the first one included, and counts the rest as omitted.
   * @default 3
   */
  readonly maxComparePages?: number;
}

export class GitHubCommitSource implements CommitSource {
  private readonly maxComparePages: number;

  constructor(
    private readonly github: GitHubClient,
    options: GitHubCommitSourceOptions = {},
  ) {
    this.maxComparePages = options.maxComparePages ?? 3;
  }

  /**
   * Undefined when GitHub does not know a sha (404: never pushed, or garbage-collected after a force
   * push), so the caller can fall back; every other failure throws, so the event is retried.
   */
  async commitsBetween(
    repository: string,
    baseSha: string,
    headSha: string,
  ): Promise<CommitRange | undefined> {
    if (baseSha === headSha) return { commits: [], omittedCommits: 0 };
    try {
      const comparison = await this.github.compareCommits(repository, baseSha, headSha, {
        maxPages: this.maxComparePages,
      });
      return {
        commits: comparison.commits,
        omittedCommits: comparison.totalCommits - comparison.commits.length,
      };
    } catch (error) {
      if (error instanceof UpstreamError && error.status === 404) return undefined;
      throw error;
    }
  }

  /**
   * When work on a merged pull request started: its earliest-authored branch commit (after a squash merge
   * the base branch only has the squash commit). Undefined for an unknown pull request or one without commits.
   */
  async firstCommitAt(repository: string, pullNumber: number): Promise<string | undefined> {
    try {
      return (await this.github.firstCommitOfPullRequest(repository, pullNumber))?.authoredAt;
    } catch (error) {
      if (error instanceof UpstreamError && error.status === 404) return undefined;
      throw error;
    }
  }
}
