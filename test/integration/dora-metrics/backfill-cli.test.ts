/**
 * `toilless dora backfill` and `toilless dora show` as an operator runs them: the real CLI in a child
 * process, the GitHub REST API test server given through GITHUB_API_URL and GITHUB_TOKEN, the real
 * Prometheus through PROMETHEUS_URL.
 *
 * acme/shop's history, in days (d), hours (h) and minutes (m) before now (T):
 *   commits on main: old (T-60d) <- m0 (T-10d) <- s1 (T-3d, the squash merge of pull request #7, whose
 *   branch commits b1 (T-5d) <- b2 (T-4d) grew from m0) <- m2 (T-2d-1h) <- m3 (T-1d-2h) <- m4 (T-1d+30m)
 *   deployment 900 of old at T-40d ................. before --since 30d: not read
 *   deployment 901 of m0, success at T-6d+10m ....... first deployment in the store: counts no commits
 *   deployment 902 of m2, success at T-2d+20m ....... s1 from #7's first commit b1: 3d20m (260400 s);
 *                                                     m2: 1h20m (4800 s)
 *   deployment 903 of m3, failure at T-1d+5m
 *   deployment 904 of m4, success at T-1d+50m ....... m3: 2h50m (10200 s); m4: 20m (1200 s); restored
 *                                                     45m after the failure
 *   (superseded deployments get an `inactive` status, which changes no outcome; #8 was closed unmerged)
 * Both windows: 3 successes and 1 failure; lead times 1200, 4800, 10200, 260400 s: p50 rank 2 = 1h20m
 * (high), p90 rank 4 = 3d20m; change failure 1/4 = 25% (high); restore 45m (elite); 3/7 = 0.43 a day
 * (high) in 7d, 3/30 = 0.10 a day (medium) in 30d.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentRecord } from '../../../functions/dora-metrics/model.js';
import { runCli, STACK_LINE } from '../../support/cli.js';
import {
  type GitHubApiServer,
  type GitHubCommitSeed,
  type GitHubDeploymentSeed,
  type GitHubPullRequestSeed,
  shaOf,
  startGitHubApiServer,
} from '../../support/github-api-server.js';
import { createTempDir } from '../../support/process.js';
import { type RunningPrometheus, startPrometheus } from '../../support/prometheus.js';
import { waitFor } from '../../support/wait.js';
import { storeSnapshot } from './store-snapshot.js';

const REPOSITORY = 'acme/shop';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** GitHub's time format: whole seconds, UTC. */
function githubTime(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** The history of the file comment, T being `now` rounded down to the second. */
function history(now: number) {
  const at = (ms: number) => githubTime(now - ms);
  const commit = (label: string, parents: readonly string[], authored: number): GitHubCommitSeed => ({
    sha: shaOf(label),
    parents: parents.map(shaOf),
    author_date: at(authored),
  });
  const commits = [
    commit('old', [], 60 * DAY),
    commit('m0', ['old'], 10 * DAY),
    commit('b1', ['m0'], 5 * DAY),
    commit('b2', ['b1'], 4 * DAY),
    commit('s1', ['m0'], 3 * DAY),
    commit('m2', ['s1'], 2 * DAY + HOUR),
    commit('m3', ['m2'], DAY + 2 * HOUR),
    commit('m4', ['m3'], DAY - 30 * MINUTE),
  ];
  const deployment = (
    id: number,
    label: string,
    created: number,
    statuses: readonly [id: number, state: 'success' | 'failure' | 'inactive' | 'in_progress', ago: number][],
  ): GitHubDeploymentSeed => ({
    id,
    sha: shaOf(label),
    ref: 'main',
    environment: 'production',
    created_at: at(created),
    statuses: statuses.map(([statusId, state, ago]) => ({ id: statusId, state, created_at: at(ago) })),
  });
  const deployments = [
    deployment(900, 'old', 40 * DAY, [[9001, 'success', 40 * DAY - 5 * MINUTE]]),
    deployment(901, 'm0', 6 * DAY, [
      [9011, 'success', 6 * DAY - 10 * MINUTE],
      [9012, 'inactive', 2 * DAY - 20 * MINUTE],
    ]),
    deployment(902, 'm2', 2 * DAY, [
      [9021, 'success', 2 * DAY - 20 * MINUTE],
      [9022, 'inactive', DAY - 50 * MINUTE],
    ]),
    deployment(903, 'm3', DAY, [
      [9031, 'in_progress', DAY - MINUTE],
      [9032, 'failure', DAY - 5 * MINUTE],
    ]),
    deployment(904, 'm4', DAY - 40 * MINUTE, [[9041, 'success', DAY - 50 * MINUTE]]),
  ];
  const pullRequests: GitHubPullRequestSeed[] = [
    {
      id: 70007,
      number: 7,
      title: 'Cart: keep items across sessions',
      created_at: at(5 * DAY),
      updated_at: at(3 * DAY),
      closed_at: at(3 * DAY),
      merged_at: at(3 * DAY),
      merge_commit_sha: shaOf('s1'),
      head: { ref: 'feature/cart', sha: shaOf('b2') },
      base: { ref: 'main', sha: shaOf('m0') },
      commits: [shaOf('b1'), shaOf('b2')],
    },
    {
      id: 70008,
      number: 8,
      title: 'Try a new checkout flow',
      created_at: at(2 * DAY),
      updated_at: at(DAY),
      closed_at: at(DAY),
      merged_at: null,
      merge_commit_sha: null,
      head: { ref: 'experiment', sha: shaOf('m3') },
      base: { ref: 'main' },
      commits: [shaOf('m3')],
    },
  ];
  return {
    full_name: REPOSITORY,
    commits,
    branches: { main: shaOf('m4') },
    deployments,
    pull_requests: pullRequests,
  };
}

/** `dora show`'s table for the history of the file comment, worked by hand. */
const EXPECTED_TABLE = [
  'repository  environment  window  deploys/day    lead time p50  lead time p90  change failure  restore p50  deploys ok/failed',
  '----------  -----------  ------  -------------  -------------  -------------  --------------  -----------  -----------------',
  'acme/shop   production   7d      0.43 (high)    1h20m (high)   3d20m          25.0% (high)    45m (elite)  3/1',
  'acme/shop   production   30d     0.10 (medium)  1h20m (high)   3d20m          25.0% (high)    45m (elite)  3/1',
  '',
].join('\n');

const SUMMARY = 'acme/shop: 4 deployments, 7 statuses, 1 merged pull request, 12 events recorded';

describe('toilless dora backfill and dora show', () => {
  let github: GitHubApiServer;
  let prometheus: RunningPrometheus;
  let dataDir: string;
  const tempDirs: string[] = [];
  let now: number;

  const env = (token = github.token): Record<string, string> => ({
    GITHUB_API_URL: github.url,
    GITHUB_TOKEN: token,
    PROMETHEUS_URL: prometheus.url,
  });
  const backfill = (dir: string, token?: string) =>
    runCli(['dora', 'backfill', '--repo', REPOSITORY, '--since', '30d', '--data-dir', dir], env(token));
  const show = (dir: string) => runCli(['dora', 'show', '--data-dir', dir], env());
  const newDataDir = async () => {
    const dir = await createTempDir('dora-backfill');
    tempDirs.push(dir);
    return dir;
  };

  beforeAll(async () => {
    now = Math.floor(Date.now() / 1000) * 1000;
    [github, prometheus] = await Promise.all([
      startGitHubApiServer({ repositories: [history(now)] }),
      startPrometheus(),
    ]);
    dataDir = await newDataDir();
  });

  afterAll(async () => {
    await Promise.all([github?.close(), prometheus?.stop()]);
    await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('reads the history from the GitHub API, shows progress on stderr and prints the counts and table', async () => {
    // Act
    const result = await backfill(dataDir);

    // Assess
    expect(result.stderr.split('\n').filter((line) => line !== '')).toEqual([
      'acme/shop: deployments 1',
      'acme/shop: deployment-statuses 1/4',
      'acme/shop: pull-requests 1',
      'acme/shop: pull-request-details 1/1',
      'acme/shop: events 1/12',
    ]);
    expect(result.stdout).toBe(`${SUMMARY}\n\n${EXPECTED_TABLE}`);
    expect(result.status).toBe(0);
    expect(github.requests.filter((request) => request.url.includes('/deployments/900'))).toEqual([]);
  });

  it('shows the hand-worked metrics, the squash merge counted from its pull request first commit', async () => {
    // Act
    const result = await show(dataDir);
    const record = JSON.parse(
      await readFile(join(dataDir, 'deployments', 'acme', 'shop', 'production', '902.json'), 'utf8'),
    ) as DeploymentRecord;

    // Assess
    expect(result.stdout).toBe(EXPECTED_TABLE);
    expect(result.status).toBe(0);
    expect(record.leadTime).toEqual({
      commits: [
        {
          sha: shaOf('s1'),
          authoredAt: new Date(now - 3 * DAY).toISOString(),
          pullRequest: 7,
          firstCommitAt: new Date(now - 5 * DAY).toISOString(),
        },
        { sha: shaOf('m2'), authoredAt: new Date(now - 2 * DAY - HOUR).toISOString() },
      ],
      previousSha: shaOf('m0'),
      firstDeployment: false,
    });
  });

  it('writes the metrics to Prometheus', async () => {
    // Act
    const successes = await waitFor(
      async () => {
        const data = await prometheus.query(
          `dora_deployments{repository="${REPOSITORY}",environment="production",window="7d",status="success"}`,
        );
        return data.resultType === 'vector' ? data.result[0]?.value[1] : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 50, description: 'dora_deployments of acme/shop in Prometheus' },
    );

    // Assess
    expect(successes).toBe('3');
  });

  it('changes nothing when run again: the same table and the same store files, none rewritten', async () => {
    // Prepare
    const before = await storeSnapshot(dataDir);

    // Act
    const again = await backfill(dataDir);
    const shown = await show(dataDir);

    // Assess
    expect(again.status).toBe(0);
    expect(again.stdout).toBe(`${SUMMARY}\n\n${EXPECTED_TABLE}`);
    expect(shown.stdout).toBe(EXPECTED_TABLE);
    expect(await storeSnapshot(dataDir)).toEqual(before);
  });

  it('waits out a secondary rate limit for its Retry-After and says so on stderr', async () => {
    // Prepare
    const dir = await newDataDir();
    const asked = github.requests.length;
    github.secondaryRateLimit({ times: 1, retryAfterSeconds: 1 });

    // Act
    const result = await backfill(dir);

    // Assess
    const requests = github.requests.slice(asked);
    const limited = requests.findIndex((request) => request.rateLimit === 'secondary');
    const retried = requests[limited + 1];
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(
      /\nGitHub secondary rate limit on GET \/repos\/acme\/shop\/deployments\S*: waiting 1 s\n/,
    );
    expect(result.stdout).toBe(`${SUMMARY}\n\n${EXPECTED_TABLE}`);
    expect(limited).toBe(0);
    expect(retried?.url).toBe(requests[0]?.url);
    expect(retried?.status).toBe(200);
    expect((retried?.at.getTime() ?? 0) - (requests[0]?.at.getTime() ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('fails with a clear message, a non-zero exit and no stack trace when GitHub refuses the token', async () => {
    // Prepare
    const dir = await newDataDir();

    // Act
    const result = await backfill(dir, 'ghp_revoked0000000000000000000000000000');

    // Assess
    expect(result.status).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(
      'toilless: github: GET /repos/acme/shop/deployments answered 401: Bad credentials',
    );
    expect(result.stderr).toContain('GITHUB_TOKEN was refused (wrong, expired or revoked)');
    expect(result.stderr).not.toMatch(STACK_LINE);
    expect(result.stderr).not.toContain('ghp_revoked');
  });
});
