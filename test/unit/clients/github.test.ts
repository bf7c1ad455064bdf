import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createGitHubClient,
  type GitHubClient,
  type GitHubClientOptions,
  parseRepository,
  type RateLimitWait,
} from '../../../functions/shared/clients/github.js';
import { UpstreamError, ValidationError } from '../../../functions/shared/errors.js';
import { createLogger } from '../../../functions/shared/log.js';
import {
  type GitHubApiServer,
  type GitHubDeploymentSeed,
  linearHistory,
  repositoryIdFor,
  shaOf,
  startGitHubApiServer,
} from '../../support/github-api-server.js';

const REPO = 'acme/shop';
const HOUR = 3_600_000;
const T0 = Date.parse('2026-09-01T00:00:00Z');

function hourlyDeployments(count: number): GitHubDeploymentSeed[] {
  return Array.from({ length: count }, (_, index) => ({
    id: 1000 + index,
    sha: shaOf(`deployed-${index}`),
    ref: 'main',
    environment: index % 2 === 0 ? 'production' : 'staging',
    created_at: new Date(T0 + index * HOUR).toISOString(),
    production_environment: index % 2 === 0,
  }));
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/** The JSON log lines a client wrote. */
function capturedLogger() {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  return { logger: createLogger({ name: 'github-test', level: 'debug', destination: stream }), lines };
}

describe('GitHub client', () => {
  let github: GitHubApiServer;
  let log: ReturnType<typeof capturedLogger>;
  let waits: RateLimitWait[];

  beforeEach(async () => {
    github = await startGitHubApiServer();
    log = capturedLogger();
    waits = [];
  });

  afterEach(async () => {
    await github.close();
  });

  function client(overrides: Partial<GitHubClientOptions> = {}): GitHubClient {
    return createGitHubClient({
      baseUrl: github.url,
      token: github.token,
      logger: log.logger,
      onRateLimit: (wait) => waits.push(wait),
      ...overrides,
    });
  }

  describe('deployments', () => {
    it('follows the Link headers page by page and stops at the first deployment older than since', async () => {
      // Prepare: 350 hourly deployments are four pages of 100, newest first.
      github.seed({ full_name: REPO, deployments: hourlyDeployments(350) });
      const since = new Date(T0 + 200 * HOUR);

      // Act
      const deployments = await collect(client().listDeployments(REPO, { since }));

      // Assess: 150 deployments (ids 1349..1200), read from two pages; the third is never asked for.
      expect(deployments).toHaveLength(150);
      expect(deployments[0]?.id).toBe(1349);
      expect(deployments.at(-1)?.id).toBe(1200);
      expect(github.requests.map((r) => r.url)).toEqual([
        '/repos/acme/shop/deployments?per_page=100',
        `/repositories/${repositoryIdFor(REPO)}/deployments?per_page=100&page=2`,
      ]);
    });

    it('reads every page when since is older than all deployments', async () => {
      // Prepare
      github.seed({ full_name: REPO, deployments: hourlyDeployments(250) });

      // Act
      const deployments = await collect(client().listDeployments(REPO, { since: new Date(0) }));

      // Assess
      expect(new Set(deployments.map((d) => d.id)).size).toBe(250);
      expect(github.requests).toHaveLength(3);
    });

    it('asks GitHub for one environment only', async () => {
      // Prepare
      github.seed({ full_name: REPO, deployments: hourlyDeployments(10) });

      // Act
      const deployments = await collect(
        client().listDeployments(REPO, { environment: 'production', since: new Date(0) }),
      );

      // Assess
      expect(deployments.map((d) => d.environment)).toEqual(Array(5).fill('production'));
      expect(github.requests[0]?.url).toBe(
        '/repos/acme/shop/deployments?per_page=100&environment=production',
      );
    });

    it('lists every status of a deployment, newest first', async () => {
      // Prepare: 130 statuses are two pages.
      const statuses = Array.from({ length: 130 }, (_, index) => ({
        id: 5000 + index,
        state: index === 129 ? ('success' as const) : ('in_progress' as const),
        created_at: new Date(T0 + index * 1000).toISOString(),
      }));
      github.seed({
        full_name: REPO,
        deployments: [
          {
            id: 7,
            sha: shaOf('x'),
            ref: 'main',
            environment: 'production',
            created_at: new Date(T0).toISOString(),
            statuses,
          },
        ],
      });

      // Act
      const listed = await collect(client().listDeploymentStatuses(REPO, 7));

      // Assess
      expect(listed).toHaveLength(130);
      expect(listed[0]).toMatchObject({ id: 5129, state: 'success', environment: 'production' });
      expect(github.requests).toHaveLength(2);
    });
  });

  describe('compare', () => {
    it('pages through a comparison of more than 250 commits, oldest first, with author times', async () => {
      // Prepare: base plus 300 commits after it.
      const commits = linearHistory(301, { start: new Date(T0) });
      github.seed({ full_name: REPO, commits });
      const base = commits[0]!.sha;
      const head = commits[300]!.sha;

      // Act
      const { commits: between, totalCommits } = await client().compareCommits(REPO, base, head);

      // Assess
      expect(totalCommits).toBe(300);
      expect(between).toHaveLength(300);
      expect(between[0]).toEqual({ sha: commits[1]!.sha, authoredAt: '2026-09-01T00:10:00.000Z' });
      expect(between.at(-1)).toEqual({ sha: head, authoredAt: new Date(T0 + 300 * 600_000).toISOString() });
      expect(github.requests.map((r) => new URL(r.url, github.url).searchParams.get('page'))).toEqual([
        '1',
        '2',
        '3',
      ]);
    });

    it('reads at most the pages it is given and answers the oldest commits with the total', async () => {
      // Prepare: a range of 1,000 commits, which unbounded would take 10 pages.
      const commits = linearHistory(1001, { start: new Date(T0) });
      github.seed({ full_name: REPO, commits });

      // Act
      const comparison = await client().compareCommits(REPO, commits[0]!.sha, commits[1000]!.sha, {
        maxPages: 2,
      });

      // Assess
      expect(comparison.totalCommits).toBe(1000);
      expect(comparison.commits.map((commit) => commit.sha)).toEqual(
        commits.slice(1, 201).map((commit) => commit.sha),
      );
      expect(github.requests).toHaveLength(2);
    });

    it('reads three pages by default', async () => {
      // Prepare
      const commits = linearHistory(1001, { start: new Date(T0) });
      github.seed({ full_name: REPO, commits });

      // Act
      const comparison = await client().compareCommits(REPO, commits[0]!.sha, commits[1000]!.sha);

      // Assess
      expect(comparison.commits).toHaveLength(300);
      expect(github.requests).toHaveLength(3);
    });

    it('is needed because an unpaged comparison stops at the newest 250 commits', async () => {
      // Prepare
      const commits = linearHistory(301, { start: new Date(T0) });
      github.seed({ full_name: REPO, commits });

      // Act
      const response = await fetch(
        `${github.url}/repos/${REPO}/compare/${commits[0]!.sha}...${commits[300]!.sha}`,
        {
          headers: { authorization: `token ${github.token}` },
        },
      );
      const body = (await response.json()) as { total_commits: number; commits: { sha: string }[] };

      // Assess
      expect(body.total_commits).toBe(300);
      expect(body.commits).toHaveLength(250);
      expect(body.commits[0]?.sha).toBe(commits[51]!.sha);
    });

    it('fails with a 404 UpstreamError for a sha GitHub does not know', async () => {
      // Prepare
      const commits = linearHistory(3, { start: new Date(T0) });
      github.seed({ full_name: REPO, commits });

      // Act
      const failure = await client()
        .compareCommits(REPO, shaOf('never pushed'), commits[2]!.sha)
        .catch((error: unknown) => error);

      // Assess
      expect(failure).toBeInstanceOf(UpstreamError);
      expect(failure).toMatchObject({ service: 'github', status: 404 });
      expect((failure as Error).message).toContain('Not Found');
    });
  });

  describe('pull requests', () => {
    const merged = (number: number, mergedAt: string, updatedAt = mergedAt) => ({
      id: 90_000 + number,
      number,
      title: `change ${number}`,
      created_at: '2026-08-01T00:00:00Z',
      updated_at: updatedAt,
      closed_at: mergedAt,
      merged_at: mergedAt,
      merge_commit_sha: shaOf(`merge-${number}`),
      head: { ref: `feature-${number}`, sha: shaOf(`head-${number}`) },
      base: { ref: 'main' },
      commits: [],
    });

    it('lists merged pull requests since a date and stops at the first one updated before it', async () => {
      // Prepare: #4 closed without merging, #5 open, #1 merged before since; #2 merged before since but updated after.
      github.seed({
        full_name: REPO,
        pull_requests: [
          merged(1, '2026-08-10T00:00:00Z'),
          merged(2, '2026-08-11T00:00:00Z', '2026-09-03T00:00:00Z'),
          merged(3, '2026-09-02T00:00:00Z'),
          { ...merged(4, '2026-09-04T00:00:00Z'), merged_at: null, merge_commit_sha: null },
          { ...merged(5, '2026-09-04T00:00:00Z'), closed_at: null, merged_at: null },
          merged(6, '2026-09-05T00:00:00Z'),
        ],
      });

      // Act
      const pulls = await collect(
        client().listMergedPullRequests(REPO, { since: new Date('2026-09-01T00:00:00Z') }),
      );

      // Assess
      expect(pulls.map((p) => p.number)).toEqual([6, 3]);
      expect(github.requests[0]?.url).toBe(
        '/repos/acme/shop/pulls?state=closed&sort=updated&direction=desc&per_page=100',
      );
    });

    it('finds where a squash-merged pull request started: its earliest-authored branch commit', async () => {
      // Prepare: a branch of three commits (the second rebased, keeping an older author date), squashed onto main.
      const main = linearHistory(2, { start: new Date('2026-09-01T00:00:00Z'), prefix: 'main-' });
      const branch = [
        { sha: shaOf('b1'), parents: [main[0]!.sha], author_date: '2026-09-03T09:00:00Z' },
        { sha: shaOf('b2'), parents: [shaOf('b1')], author_date: '2026-09-02T16:30:00+02:00' },
        { sha: shaOf('b3'), parents: [shaOf('b2')], author_date: '2026-09-04T11:00:00Z' },
      ];
      const squash = { sha: shaOf('squash'), parents: [main[1]!.sha], author_date: '2026-09-05T10:00:00Z' };
      github.seed({
        full_name: REPO,
        commits: [...main, ...branch, squash],
        pull_requests: [
          {
            ...merged(42, '2026-09-05T10:00:00Z'),
            head: { ref: 'feature', sha: shaOf('b3') },
            merge_commit_sha: squash.sha,
            commits: branch.map((c) => c.sha),
          },
        ],
      });

      // Act
      const first = await client().firstCommitOfPullRequest(REPO, 42);
      const pull = await client().getPullRequest(REPO, 42);

      // Assess
      expect(first).toEqual({ sha: shaOf('b2'), authoredAt: '2026-09-02T14:30:00.000Z' });
      expect(pull).toMatchObject({ number: 42, merged: true, commits: 3, merge_commit_sha: squash.sha });
    });
  });

  describe('rate limits', () => {
    beforeEach(() => {
      github.seed({ full_name: REPO, deployments: hourlyDeployments(3) });
    });

    it.each([403, 429] as const)(
      'waits out a primary rate limit (HTTP %i) until X-RateLimit-Reset and then succeeds',
      async (status) => {
        // Prepare
        github.exhaustRateLimit({ resetInSeconds: 1, status });
        const started = Date.now();

        // Act
        const deployments = await collect(client().listDeployments(REPO, { since: new Date(0) }));

        // Assess
        expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
        expect(deployments).toHaveLength(3);
        expect(github.requests.map((r) => r.status)).toEqual([status, 200]);
        expect(waits).toEqual([
          expect.objectContaining({
            kind: 'primary',
            attempt: 1,
            willRetry: true,
            request: 'GET /repos/acme/shop/deployments?per_page=100',
          }),
        ]);
        expect(waits[0]!.retryAfterSeconds).toBeGreaterThanOrEqual(1);
        expect(log.lines.some((line) => line.includes('GitHub primary rate limit: waiting'))).toBe(true);
      },
    );

    it('waits out a secondary rate limit for Retry-After and then succeeds', async () => {
      // Prepare
      github.secondaryRateLimit({ times: 1, retryAfterSeconds: 1 });
      const started = Date.now();

      // Act
      const statuses = await collect(client().listDeploymentStatuses(REPO, 1000));

      // Assess
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
      expect(statuses).toEqual([]);
      expect(github.requests.map((r) => [r.status, r.rateLimit])).toEqual([
        [403, 'secondary'],
        [200, undefined],
      ]);
      expect(waits).toEqual([
        expect.objectContaining({ kind: 'secondary', retryAfterSeconds: 1, willRetry: true }),
      ]);
    });

    it('gives up after the configured number of retries with the secondary-limit message', async () => {
      // Prepare
      github.secondaryRateLimit({ times: 5, retryAfterSeconds: 1 });

      // Act
      const failure = await collect(
        client({ maxRateLimitRetries: 1 }).listDeployments(REPO, { since: new Date(0) }),
      ).catch((error: unknown) => error);

      // Assess
      expect(failure).toBeInstanceOf(UpstreamError);
      expect(failure).toMatchObject({ status: 403 });
      expect((failure as Error).message).toContain('secondary rate limit');
      expect(github.requests).toHaveLength(2);
      expect(waits.map((w) => w.willRetry)).toEqual([true, false]);
    });

    it('does not wait for a primary limit resetting later than allowed, and says when to run again', async () => {
      // Prepare
      github.exhaustRateLimit({ resetInSeconds: 3600 });
      const started = Date.now();

      // Act
      const failure = await collect(client().listDeployments(REPO, { since: new Date(0) })).catch(
        (error: unknown) => error,
      );

      // Assess
      expect(Date.now() - started).toBeLessThan(1000);
      expect(failure).toBeInstanceOf(UpstreamError);
      expect((failure as Error).message).toMatch(
        /the rate limit resets at \d{4}-\d\d-\d\dT.*run again after that/,
      );
      expect(github.requests).toHaveLength(1);
    });
  });

  describe('authentication', () => {
    it('refuses a wrong token with a clear error that does not contain the token', async () => {
      // Prepare
      github.seed({ full_name: REPO, deployments: hourlyDeployments(3) });
      const wrongToken = 'ghp_wrongwrongwrongwrongwrongwrong1234';

      // Act
      const failure = await collect(
        client({ token: wrongToken }).listDeployments(REPO, { since: new Date(0) }),
      ).catch((error: unknown) => error);

      // Assess
      expect(failure).toBeInstanceOf(UpstreamError);
      expect(failure).toMatchObject({ service: 'github', status: 401 });
      expect((failure as Error).message).toContain('Bad credentials');
      expect((failure as Error).message).toContain('GITHUB_TOKEN was refused');
      expect(JSON.stringify(failure, Object.getOwnPropertyNames(failure))).not.toContain(wrongToken);
      expect(log.lines.join('\n')).not.toContain(wrongToken);
      expect(github.requests).toHaveLength(1);
    });

    it('hides a private repository from anonymous requests as GitHub does (404)', async () => {
      // Prepare
      github.seed({ full_name: REPO, private: true, deployments: hourlyDeployments(1) });

      // Act
      const failure = await collect(
        createGitHubClient({ baseUrl: github.url, logger: log.logger }).listDeployments(REPO, {
          since: new Date(0),
        }),
      ).catch((error: unknown) => error);

      // Assess
      expect(failure).toMatchObject({ status: 404 });
      expect(github.requests[0]?.authenticated).toBe(false);
    });
  });

  describe('repository names', () => {
    it.each(['acme', 'acme/shop/extra', '/shop', 'acme/', 'https://github.com/acme/shop', 'ac me/shop'])(
      'refuses %j, saying the form it expects',
      (name) => {
        // Act
        const attempt = () => parseRepository(name);

        // Assess
        expect(attempt).toThrow(ValidationError);
        expect(attempt).toThrow('expected owner/name');
      },
    );

    it('splits owner/name', () => {
      // Act
      const parsed = parseRepository('octo-org/my.repo_name');

      // Assess
      expect(parsed).toEqual({ owner: 'octo-org', repo: 'my.repo_name' });
    });
  });
});
