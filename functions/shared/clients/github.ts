/**
 * A GitHub REST client for what DORA metrics need from history: deployments and their statuses, merged
 * pull requests and the commits between two deployed SHAs.
 *
 * Octokit does the protocol: Link-header paging, the throttling plugin (GitHub's concurrency advice, and
 * waiting out primary limits until X-RateLimit-Reset and secondary limits for Retry-After) and the retry
 * plugin (5xx with backoff). Rate limits are retried a bounded number of times and each wait is logged;
 * every failure leaves as an UpstreamError('github', ...) that never carries the token.
 */
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit, type RestEndpointMethodTypes } from '@octokit/rest';
import { UpstreamError, ValidationError } from '../errors.js';
import type { Logger } from '../log.js';
import { DEFAULT_MAX_RESPONSE_BYTES, fetchWithin } from './bounded-body.js';

export interface GitHubClientOptions {
  /** GITHUB_TOKEN (fine-grained: Deployments, Pull requests and Contents read). @default unauthenticated, 60 requests/hour */
  readonly token?: string;
  /** The REST API root. @default https://api.github.com */
  readonly baseUrl?: string;
  /** Where rate-limit waits and retries are logged. */
  readonly logger: Logger;
  /** Told about every rate-limit answer, e.g. to show the wait on a terminal. @default none */
  readonly onRateLimit?: ((wait: RateLimitWait) => void) | undefined;
  /** Rate-limited answers retried per request before giving up. @default 3 */
  readonly maxRateLimitRetries?: number;
  /** A primary limit resetting later than this is not waited for: the call fails and says when to retry. @default 900 */
  readonly maxRateLimitWaitSeconds?: number;
  /** Time limit per HTTP request in milliseconds. @default 30000 */
  readonly timeoutMs?: number;
  /** Retries of 5xx answers and network failures per request. @default 3 */
  readonly serverErrorRetries?: number;
  /** A larger answer is an UpstreamError. @default 10 MiB */
  readonly maxResponseBytes?: number;
}

/** One rate-limited answer and what the client does about it. */
export interface RateLimitWait {
  /** primary: the hourly quota is spent; secondary: too many requests too fast (abuse detection). */
  readonly kind: 'primary' | 'secondary';
  /** Seconds until the request is sent again. */
  readonly retryAfterSeconds: number;
  /** e.g. `GET /repos/{owner}/{repo}/deployments`. */
  readonly request: string;
  /** 1 for the first rate-limited answer of this request. */
  readonly attempt: number;
  /** False when the retry budget is spent or the wait is too long: the call then fails. */
  readonly willRetry: boolean;
}

export interface RepositoryName {
  readonly owner: string;
  readonly repo: string;
}

export type GitHubDeployment =
  RestEndpointMethodTypes['repos']['listDeployments']['response']['data'][number];
export type GitHubDeploymentStatus =
  RestEndpointMethodTypes['repos']['listDeploymentStatuses']['response']['data'][number];
export type GitHubPullRequestSummary = RestEndpointMethodTypes['pulls']['list']['response']['data'][number];
export type GitHubPullRequest = RestEndpointMethodTypes['pulls']['get']['response']['data'];

/** A commit and when it was authored (author time survives rebases; committer time does not). */
export interface CommitTime {
  readonly sha: string;
  /** ISO 8601 UTC with milliseconds, as the webhook normaliser writes times. */
  readonly authoredAt: string;
}

export interface CompareCommitsOptions {
  /** Pages of 100 commits read at most; a longer range answers its oldest commits only. @default 3 */
  readonly maxPages?: number;
}

export interface CommitComparison {
  /** Oldest first; fewer than totalCommits when the range is longer than the pages read. */
  readonly commits: CommitTime[];
  /** How many commits the range has (GitHub's total_commits). */
  readonly totalCommits: number;
}

export interface ListDeploymentsOptions {
  /** Only deployments to this GitHub environment. @default all */
  readonly environment?: string;
  /** Deployments created before this are not read (the list is newest first, so paging stops there). */
  readonly since: Date;
}

export interface ListMergedPullRequestsOptions {
  /** Pull requests merged before this are not returned; paging stops at the first one last updated before it. */
  readonly since: Date;
}

export interface GitHubClient {
  /** Deployments created at or after `since`, newest first. */
  listDeployments(repository: string, options: ListDeploymentsOptions): AsyncIterable<GitHubDeployment>;
  /** Every status of one deployment, newest first (GitHub's order). */
  listDeploymentStatuses(repository: string, deploymentId: number): AsyncIterable<GitHubDeploymentStatus>;
  /**
   * The commits reachable from `head` and not from `base`, oldest first (paged: an unpaged compare stops
   * at the newest 250), up to `maxPages` pages; `totalCommits` says how many the range has. An unknown
   * SHA fails with UpstreamError status 404.
   */
  compareCommits(
    repository: string,
    base: string,
    head: string,
    options?: CompareCommitsOptions,
  ): Promise<CommitComparison>;
  /** Closed pull requests that were merged at or after `since`, most recently updated first. */
  listMergedPullRequests(
    repository: string,
    options: ListMergedPullRequestsOptions,
  ): AsyncIterable<GitHubPullRequestSummary>;
  /** One pull request with the fields only the single-PR endpoint has (`merged`, `commits`). */
  getPullRequest(repository: string, pullNumber: number): Promise<GitHubPullRequest>;
  /**
   * The earliest-authored commit of a pull request's branch: after a squash merge the branch commits are
   * gone from the base branch, and this is where the work started. Undefined for a PR without commits.
   */
  firstCommitOfPullRequest(repository: string, pullNumber: number): Promise<CommitTime | undefined>;
}

const DEFAULT_BASE_URL = 'https://api.github.com';
const MAX_PER_PAGE = 100;
/** One event must not cost hundreds of requests: a longer comparison answers its oldest 300 commits. */
const DEFAULT_COMPARE_PAGES = 3;
const OWNER_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const REPO_PATTERN = /^[A-Za-z0-9._-]{1,100}$/;

/** Splits `owner/name`, refusing anything else with a message that shows the expected form. */
export function parseRepository(value: string): RepositoryName {
  const parts = value.trim().split('/');
  const [owner, repo] = parts;
  if (
    parts.length !== 2 ||
    owner === undefined ||
    repo === undefined ||
    !OWNER_PATTERN.test(owner) ||
    !REPO_PATTERN.test(repo) ||
    repo === '.' ||
    repo === '..'
  ) {
    const message = `"${value}" is not a GitHub repository: expected owner/name, e.g. octo-org/checkout`;
    throw new ValidationError(message, [{ path: 'repository', message: 'expected owner/name' }]);
  }
  return { owner, repo };
}

export function createGitHubClient(options: GitHubClientOptions): GitHubClient {
  const { logger } = options;
  const maxRetries = options.maxRateLimitRetries ?? 3;
  const maxWait = options.maxRateLimitWaitSeconds ?? 900;
  const timeoutMs = options.timeoutMs ?? 30_000;

  const onLimit =
    (kind: RateLimitWait['kind']) =>
    (retryAfter: number, request: { method: string; url: string }, _octokit: unknown, retryCount: number) => {
      const willRetry = retryCount < maxRetries && (kind === 'secondary' || retryAfter <= maxWait);
      const wait: RateLimitWait = {
        kind,
        retryAfterSeconds: retryAfter,
        request: `${request.method} ${describeUrl(request.url)}`,
        attempt: retryCount + 1,
        willRetry,
      };
      logger.warn(
        { rateLimit: wait },
        willRetry
          ? `GitHub ${kind} rate limit: waiting ${retryAfter} s before retrying ${wait.request}`
          : `GitHub ${kind} rate limit on ${wait.request}: not retrying (attempt ${wait.attempt}, wait ${retryAfter} s)`,
      );
      options.onRateLimit?.(wait);
      return willRetry;
    };

  const ThrottledOctokit = Octokit.plugin(retry, throttling);
  const octokit = new ThrottledOctokit({
    ...(options.token ? { auth: options.token } : {}),
    baseUrl: (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, ''),
    userAgent: 'toilless',
    // Octokit logs every request at info: that is debug detail here.
    log: {
      debug: (message: string) => logger.debug(message),
      info: (message: string) => logger.debug(message),
      warn: (message: string) => logger.warn(message),
      // Octokit logs every failed request at error, including rate-limited ones the throttling plugin
      // then retries; the failures that matter reach the caller as errors, so these are only detail.
      error: (message: string) => logger.debug(message),
    },
    request: {
      fetch: fetchWithin(fetchWithTimeout(timeoutMs), {
        service: 'github',
        maxBytes: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
      }),
    },
    throttle: { onRateLimit: onLimit('primary'), onSecondaryRateLimit: onLimit('secondary') },
    // 403/429 are rate limits: the throttling plugin owns those, so the retry plugin must not double them.
    retry: { doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451], retries: options.serverErrorRetries ?? 3 },
  });

  const call = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw toUpstreamError(what, error, timeoutMs);
    }
  };

  return {
    async *listDeployments(repository, { environment, since }) {
      const { owner, repo } = parseRepository(repository);
      const what = `GET /repos/${owner}/${repo}/deployments`;
      const pages = octokit.paginate.iterator(octokit.rest.repos.listDeployments, {
        owner,
        repo,
        per_page: MAX_PER_PAGE,
        ...(environment === undefined ? {} : { environment }),
      });
      for await (const page of iterate(what, pages, timeoutMs)) {
        for (const deployment of page.data) {
          if (Date.parse(deployment.created_at) < since.getTime()) return;
          yield deployment;
        }
      }
    },

    async *listDeploymentStatuses(repository, deploymentId) {
      const { owner, repo } = parseRepository(repository);
      const what = `GET /repos/${owner}/${repo}/deployments/${deploymentId}/statuses`;
      const pages = octokit.paginate.iterator(octokit.rest.repos.listDeploymentStatuses, {
        owner,
        repo,
        deployment_id: deploymentId,
        per_page: MAX_PER_PAGE,
      });
      for await (const page of iterate(what, pages, timeoutMs)) yield* page.data;
    },

    async compareCommits(repository, base, head, options = {}) {
      const { owner, repo } = parseRepository(repository);
      const basehead = `${base}...${head}`;
      const what = `GET /repos/${owner}/${repo}/compare/${basehead}`;
      const maxPages = options.maxPages ?? DEFAULT_COMPARE_PAGES;
      if (!Number.isInteger(maxPages) || maxPages < 1) {
        throw new RangeError(`compareCommits: maxPages ${maxPages} is not a whole number of at least 1`);
      }
      const commits: CommitTime[] = [];
      let totalCommits = 0;
      // Page numbers, not Link headers: GitHub has answered compare pages without Link, and numbered pages
      // concatenate correctly whatever page size the server applies. total_commits says when to stop.
      for (let page = 1; page <= maxPages; page += 1) {
        const { data } = await call(what, () =>
          octokit.rest.repos.compareCommitsWithBasehead({
            owner,
            repo,
            basehead,
            per_page: MAX_PER_PAGE,
            page,
          }),
        );
        for (const commit of data.commits) commits.push(commitTime(commit));
        totalCommits = data.total_commits;
        if (data.commits.length === 0 || commits.length >= totalCommits) break;
      }
      return { commits, totalCommits: Math.max(totalCommits, commits.length) };
    },

    async *listMergedPullRequests(repository, { since }) {
      const { owner, repo } = parseRepository(repository);
      const what = `GET /repos/${owner}/${repo}/pulls`;
      const pages = octokit.paginate.iterator(octokit.rest.pulls.list, {
        owner,
        repo,
        state: 'closed',
        sort: 'updated',
        direction: 'desc',
        per_page: MAX_PER_PAGE,
      });
      for await (const page of iterate(what, pages, timeoutMs)) {
        for (const pull of page.data) {
          // Sorted by last update: anything merged since `since` was updated since then too.
          if (Date.parse(pull.updated_at) < since.getTime()) return;
          if (pull.merged_at !== null && Date.parse(pull.merged_at) >= since.getTime()) yield pull;
        }
      }
    },

    async getPullRequest(repository, pullNumber) {
      const { owner, repo } = parseRepository(repository);
      const what = `GET /repos/${owner}/${repo}/pulls/${pullNumber}`;
      const { data } = await call(what, () =>
        octokit.rest.pulls.get({ owner, repo, pull_number: pullNumber }),
      );
      return data;
    },

    async firstCommitOfPullRequest(repository, pullNumber) {
      const { owner, repo } = parseRepository(repository);
      const what = `GET /repos/${owner}/${repo}/pulls/${pullNumber}/commits`;
      // The first page holds the oldest commits (GitHub lists them in chronological order).
      const { data } = await call(what, () =>
        octokit.rest.pulls.listCommits({
          owner,
          repo,
          pull_number: pullNumber,
          per_page: MAX_PER_PAGE,
          page: 1,
        }),
      );
      let first: CommitTime | undefined;
      for (const commit of data) {
        const candidate = commitTime(commit);
        if (first === undefined || candidate.authoredAt < first.authoredAt) first = candidate;
      }
      return first;
    },
  };
}

interface RestCommit {
  readonly sha: string;
  readonly commit: {
    readonly author: { readonly date?: string } | null;
    readonly committer: { readonly date?: string } | null;
  };
}

function commitTime(commit: RestCommit): CommitTime {
  // A commit always has an author date in git; the API types allow null for unparseable signatures.
  const date = commit.commit.author?.date ?? commit.commit.committer?.date;
  if (date === undefined) {
    throw new UpstreamError('github', `commit ${commit.sha} has neither an author nor a committer date`);
  }
  return { sha: commit.sha, authoredAt: new Date(date).toISOString() };
}

async function* iterate<T>(
  what: string,
  pages: AsyncIterable<T>,
  timeoutMs: number,
): AsyncGenerator<T, void, undefined> {
  const iterator = pages[Symbol.asyncIterator]();
  while (true) {
    let next: IteratorResult<T>;
    try {
      next = await iterator.next();
    } catch (error) {
      throw toUpstreamError(what, error, timeoutMs);
    }
    if (next.done) return;
    yield next.value;
  }
}

function fetchWithTimeout(timeoutMs: number): typeof fetch {
  return (input, init) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    return globalThis.fetch(input, { ...init, signal });
  };
}

/** Turns Octokit's RequestError (whose message is GitHub's own) into an UpstreamError a user can act on. */
function toUpstreamError(what: string, error: unknown, timeoutMs = 30_000): UpstreamError {
  if (error instanceof UpstreamError) return error;
  // Octokit wraps what its fetch throws (an answer over maxResponseBytes) in a RequestError.
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  if (cause instanceof UpstreamError) return cause;
  const status = statusOf(error);
  const reason = error instanceof Error ? error.message : String(error);
  if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError')) {
    return new UpstreamError('github', `${what} timed out after ${timeoutMs} ms`, undefined, {
      cause: error,
    });
  }
  if (typeof error !== 'object' || error === null || !('response' in error) || error.response === undefined) {
    return new UpstreamError('github', `${what} failed: ${reason}`, undefined, { cause: error });
  }
  const hint =
    status === 401
      ? ': GITHUB_TOKEN was refused (wrong, expired or revoked); create a new token and set it again'
      : status === 404
        ? ': the repository, object or SHA does not exist, or the token cannot read the repository'
        : status === 403 || status === 429
          ? rateLimitHint(error)
          : '';
  return new UpstreamError('github', `${what} answered ${status}: ${reason}${hint}`, status, {
    cause: error,
  });
}

function rateLimitHint(error: unknown): string {
  const headers = (error as { response?: { headers?: Record<string, string | undefined> } }).response
    ?.headers;
  const reset = Number(headers?.['x-ratelimit-reset']);
  if (headers?.['x-ratelimit-remaining'] === '0' && Number.isFinite(reset) && reset > 0) {
    return `: the rate limit resets at ${new Date(reset * 1000).toISOString()}; run again after that`;
  }
  return '';
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' && status > 0 ? status : undefined;
}

/** Paths only: next-page URLs are absolute and their host adds nothing to a log line. */
function describeUrl(url: string): string {
  if (!/^https?:\/\//.test(url)) return url;
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}`;
}
