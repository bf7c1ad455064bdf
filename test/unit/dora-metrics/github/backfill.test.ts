import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type BackfillProgress,
  backfillRepository,
} from '../../../../functions/dora-metrics/github/backfill.js';
import { GitHubCommitSource } from '../../../../functions/dora-metrics/github/github-commit-source.js';
import { createGitHubClient, type GitHubClient } from '../../../../functions/shared/clients/github.js';
import { UpstreamError, ValidationError } from '../../../../functions/shared/errors.js';
import { normalizeGitHubEvent } from '../../../../functions/shared/events/github.js';
import type { ToillessEvent } from '../../../../functions/shared/events/types.js';
import { silentLogger } from '../../../../functions/shared/log.js';
import {
  type GitHubApiServer,
  type GitHubRepositorySeed,
  linearHistory,
  shaOf,
  startGitHubApiServer,
} from '../../../support/github-api-server.js';
import { type GitHubPayload, githubExample } from '../../../support/github-examples.js';

const SINCE = new Date('2019-05-01T00:00:00Z');

/** What the webhook normaliser makes of a payload, as the event it publishes. */
function webhookEvent(eventName: string, payload: GitHubPayload, deliveryId: string): ToillessEvent {
  const normalized = normalizeGitHubEvent(eventName, payload, deliveryId);
  if (normalized.kind !== 'event') throw new Error(`example ignored: ${normalized.reason}`);
  return normalized.event;
}

/** The closed pull_request example, merged: GitHub's example is closed without merging. */
function mergedPullRequestExample(): GitHubPayload {
  const example = githubExample('pull_request', (p) => p.action === 'closed');
  example.pull_request.merged = true;
  example.pull_request.merged_at = example.pull_request.closed_at;
  return example;
}

/** The repository the webhook examples describe, seeded with the same facts. */
function exampleRepository(): GitHubRepositorySeed {
  const deployment = githubExample('deployment');
  const status = githubExample('deployment_status');
  const pull = mergedPullRequestExample().pull_request;
  return {
    full_name: 'Codertocat/Hello-World',
    commits: [
      { sha: pull.head.sha, parents: [], author_date: '2019-05-15T15:19:00Z' },
      { sha: deployment.deployment.sha, parents: [pull.head.sha], author_date: '2019-05-15T15:20:00Z' },
    ],
    deployments: [{ ...deployment.deployment, statuses: [status.deployment_status] }],
    pull_requests: [
      {
        id: pull.id,
        number: pull.number,
        title: pull.title,
        created_at: pull.created_at,
        updated_at: pull.updated_at,
        closed_at: pull.closed_at,
        merged_at: pull.merged_at,
        merge_commit_sha: pull.merge_commit_sha,
        head: { ref: pull.head.ref, sha: pull.head.sha },
        base: { ref: pull.base.ref, sha: pull.base.sha },
        body: pull.body,
        commits: [pull.head.sha],
      },
    ],
  };
}

describe('GitHub backfill', () => {
  let github: GitHubApiServer;
  let client: GitHubClient;

  beforeEach(async () => {
    github = await startGitHubApiServer();
    client = createGitHubClient({ baseUrl: github.url, token: github.token, logger: silentLogger });
  });

  afterEach(async () => {
    await github.close();
  });

  async function backfill(repository: string, onProgress?: (p: BackfillProgress) => void) {
    const events: ToillessEvent[] = [];
    const result = await backfillRepository({
      github: client,
      repository,
      since: SINCE,
      handle: async (event) => {
        events.push(event);
      },
      ...(onProgress === undefined ? {} : { onProgress }),
    });
    return { events, result };
  }

  it('produces exactly the events the webhook normaliser makes of the same facts', async () => {
    // Prepare
    github.seed(exampleRepository());
    const deployment = githubExample('deployment');
    const status = githubExample('deployment_status');
    const pull = mergedPullRequestExample();

    // Act
    const { events } = await backfill('Codertocat/Hello-World');

    // Assess: the webhook events with the backfill's delivery ids, in time order (the example merges after deploying).
    expect(events).toEqual([
      webhookEvent('deployment', deployment, `backfill:deployment:${deployment.deployment.id}`),
      webhookEvent('deployment_status', status, `backfill:deployment_status:${status.deployment_status.id}`),
      webhookEvent('pull_request', pull, `backfill:pull_request:${pull.pull_request.id}`),
    ]);
    expect(events.map((e) => e.id)).toEqual([
      'github:backfill:deployment:145988746',
      'github:backfill:deployment_status:209916254',
      'github:backfill:pull_request:279147437',
    ]);
  });

  it('hands over every event oldest first and reports progress through each phase', async () => {
    // Prepare: three deployments with two statuses each, and two merged pull requests in between.
    const commits = linearHistory(4, { start: new Date('2026-09-01T08:00:00Z'), prefix: 'main-' });
    const at = (hour: number) =>
      `2026-09-0${1 + Math.floor(hour / 24)}T${String(hour % 24).padStart(2, '0')}:00:00Z`;
    github.seed({
      full_name: 'acme/shop',
      commits,
      deployments: [1, 2, 3].map((n) => ({
        id: 100 + n,
        sha: commits[n]!.sha,
        ref: 'main',
        environment: 'production',
        created_at: at(10 * n),
        production_environment: true,
        statuses: [
          {
            id: 1000 + n * 10 + 2,
            state: n === 2 ? ('failure' as const) : ('success' as const),
            created_at: at(10 * n + 1),
          },
          { id: 1000 + n * 10 + 1, state: 'in_progress' as const, created_at: at(10 * n) },
        ],
      })),
      pull_requests: [1, 3].map((n) => ({
        id: 500 + n,
        number: n,
        title: `change ${n}`,
        created_at: at(0),
        updated_at: at(10 * n),
        closed_at: at(10 * n),
        merged_at: at(10 * n),
        merge_commit_sha: commits[n]!.sha,
        head: { ref: `feature-${n}`, sha: shaOf(`feature-${n}`) },
        base: { ref: 'main' },
        commits: [],
      })),
    });
    const progress: BackfillProgress[] = [];

    // Act
    const { events, result } = await backfill('acme/shop', (p) => progress.push(p));

    // Assess
    expect(events.map((e) => e.id)).toEqual([
      'github:backfill:pull_request:501',
      'github:backfill:deployment:101',
      'github:backfill:deployment_status:1011',
      'github:backfill:deployment_status:1012',
      'github:backfill:deployment:102',
      'github:backfill:deployment_status:1021',
      'github:backfill:deployment_status:1022',
      'github:backfill:pull_request:503',
      'github:backfill:deployment:103',
      'github:backfill:deployment_status:1031',
      'github:backfill:deployment_status:1032',
    ]);
    expect(result).toEqual({
      repository: 'acme/shop',
      deployments: 3,
      deploymentStatuses: 6,
      pullRequests: 2,
      events: 11,
      skipped: [],
    });
    expect([...new Set(progress.map((p) => p.phase))]).toEqual([
      'deployments',
      'deployment-statuses',
      'pull-requests',
      'pull-request-details',
      'events',
    ]);
    expect(progress.filter((p) => p.phase === 'deployment-statuses').at(-1)).toEqual({
      phase: 'deployment-statuses',
      done: 3,
      total: 3,
    });
    expect(progress.at(-1)).toEqual({ phase: 'events', done: 11, total: 11 });
  });

  it('produces identical events, ids included, when run again', async () => {
    // Prepare
    github.seed(exampleRepository());
    const first = await backfill('Codertocat/Hello-World');

    // Act
    const second = await backfill('Codertocat/Hello-World');

    // Assess
    expect(second.events).toEqual(first.events);
    expect(second.result).toEqual(first.result);
  });

  it('leaves out deployments created before the start date', async () => {
    // Prepare
    const repository = exampleRepository();
    github.seed(repository);

    // Act
    const events: ToillessEvent[] = [];
    const result = await backfillRepository({
      github: client,
      repository: 'Codertocat/Hello-World',
      since: new Date('2019-06-01T00:00:00Z'),
      handle: async (event) => {
        events.push(event);
      },
    });

    // Assess
    expect(events).toEqual([]);
    expect(result).toMatchObject({ deployments: 0, pullRequests: 0, events: 0 });
  });

  it('refuses a repository that is not owner/name before asking GitHub anything', async () => {
    // Act
    const failure = await backfill('Hello-World').catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(ValidationError);
    expect((failure as Error).message).toContain('expected owner/name');
    expect(github.requests).toEqual([]);
  });

  it('stops when the worker fails, so the run can simply be repeated', async () => {
    // Prepare
    github.seed(exampleRepository());

    // Act
    const failure = await backfillRepository({
      github: client,
      repository: 'Codertocat/Hello-World',
      since: SINCE,
      handle: async () => {
        throw new Error('store unavailable');
      },
    }).catch((error: unknown) => error);

    // Assess
    expect((failure as Error).message).toBe('store unavailable');
  });
});

describe('GitHub commit source', () => {
  let github: GitHubApiServer;
  let source: GitHubCommitSource;
  const commits = linearHistory(5, { start: new Date('2026-09-01T08:00:00Z') });

  beforeEach(async () => {
    github = await startGitHubApiServer({ repositories: [{ full_name: 'acme/shop', commits }] });
    source = new GitHubCommitSource(
      createGitHubClient({ baseUrl: github.url, token: github.token, logger: silentLogger }),
    );
  });

  afterEach(async () => {
    await github.close();
  });

  it('answers the commits after the base up to the head, with author times', async () => {
    // Act
    const between = await source.commitsBetween('acme/shop', commits[1]!.sha, commits[3]!.sha);

    // Assess
    expect(between).toEqual({
      commits: [
        { sha: commits[2]!.sha, authoredAt: '2026-09-01T08:20:00.000Z' },
        { sha: commits[3]!.sha, authoredAt: '2026-09-01T08:30:00.000Z' },
      ],
      omittedCommits: 0,
    });
  });

  it('reads a few compare pages of a long range and counts the newer commits it left unread', async () => {
    // Prepare: 1,000 commits after the base; unbounded, one event would page through all of them.
    const long = linearHistory(1001, { start: new Date('2026-09-01T08:00:00Z') });
    await github.close();
    github = await startGitHubApiServer({ repositories: [{ full_name: 'acme/shop', commits: long }] });
    const bounded = new GitHubCommitSource(
      createGitHubClient({ baseUrl: github.url, token: github.token, logger: silentLogger }),
      { maxComparePages: 3 },
    );

    // Act
    const between = await bounded.commitsBetween('acme/shop', long[0]!.sha, long[1000]!.sha);

    // Assess
    expect(github.requests.filter((request) => request.url.includes('/compare/'))).toHaveLength(3);
    expect(between?.commits[0]?.sha).toBe(long[1]!.sha);
    expect(between?.commits).toHaveLength(300);
    expect(between?.omittedCommits).toBe(700);
  });

  it('answers an empty list for equal shas without asking GitHub', async () => {
    // Act
    const between = await source.commitsBetween('acme/shop', commits[2]!.sha, commits[2]!.sha);

    // Assess
    expect(between).toEqual({ commits: [], omittedCommits: 0 });
    expect(github.requests).toEqual([]);
  });

  it('cannot tell (undefined) when GitHub does not know a sha', async () => {
    // Act
    const between = await source.commitsBetween('acme/shop', shaOf('force-pushed away'), commits[3]!.sha);

    // Assess
    expect(between).toBeUndefined();
  });

  it('fails on any other error, so the event is retried', async () => {
    // Prepare
    const refused = new GitHubCommitSource(
      createGitHubClient({ baseUrl: github.url, token: 'ghp_revoked', logger: silentLogger }),
    );

    // Act
    const failure = await refused
      .commitsBetween('acme/shop', commits[1]!.sha, commits[3]!.sha)
      .catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(UpstreamError);
    expect(failure).toMatchObject({ status: 401 });
  });
});
