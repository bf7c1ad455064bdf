import { afterEach, describe, expect, it } from 'vitest';
import { GitHubCommitSource } from '../../../../functions/dora-metrics/github/github-commit-source.js';
import {
  computeLeadTimeFacts,
  deployedCommits,
} from '../../../../functions/dora-metrics/metrics/lead-time.js';
import type { PullRequestRecord } from '../../../../functions/dora-metrics/model.js';
import type { CommitRange, CommitSource } from '../../../../functions/dora-metrics/store/commit-source.js';
import {
  firstAnsweringCommitSource,
  StoredPushCommitSource,
} from '../../../../functions/dora-metrics/store/commit-source.js';
import { FsObjectStore } from '../../../../functions/shared/adapters/local/fs-object-store.js';
import { createGitHubClient } from '../../../../functions/shared/clients/github.js';
import { silentLogger } from '../../../../functions/shared/log.js';
import {
  type GitHubApiServer,
  linearHistory,
  startGitHubApiServer,
} from '../../../support/github-api-server.js';
import { deploymentCreated, deploymentStatus, REPOSITORY, sha } from '../events.js';
import { type DoraHarness, startDoraHarness } from '../harness.js';

const AUTHORED = '2026-11-25T08:00:00.000Z';

/** A commit source that answers one range, and counts how often it was asked. */
function fixedSource(range: CommitRange | undefined): CommitSource & { asked: number } {
  return {
    asked: 0,
    async commitsBetween() {
      this.asked++;
      return range;
    },
  };
}

function pullRequest(number: number, headSha: string, firstCommitAt?: string): PullRequestRecord {
  return {
    schemaVersion: 1,
    repository: REPOSITORY,
    number,
    mergedAt: '2026-11-25T10:00:00.000Z',
    mergeCommitSha: sha('m'),
    headSha,
    baseRef: 'master',
    ...(firstCommitAt === undefined ? {} : { firstCommitAt }),
  };
}

describe('Lead time facts', () => {
  const store = new FsObjectStore('/nonexistent/toilless-lead-time');

  it('counts no commits for the first deployment, without asking the commit source', async () => {
    // Prepare
    const commits = fixedSource({ commits: [{ sha: sha('b'), authoredAt: AUTHORED }], omittedCommits: 0 });

    // Act
    const facts = await computeLeadTimeFacts({ store, commits }, REPOSITORY, sha('b'), undefined);

    // Assess
    expect(facts).toEqual({ commits: [], firstDeployment: true });
    expect(commits.asked).toBe(0);
  });

  it('counts no commits for a redeploy of the same sha', async () => {
    // Prepare
    const commits = fixedSource(undefined);

    // Act
    const facts = await computeLeadTimeFacts({ store, commits }, REPOSITORY, sha('b'), sha('b'));

    // Assess
    expect(facts).toEqual({ commits: [], previousSha: sha('b'), firstDeployment: false });
    expect(commits.asked).toBe(0);
  });

  it('is unresolved when the commit source cannot tell', async () => {
    // Act
    const facts = await computeLeadTimeFacts(
      { store, commits: fixedSource(undefined) },
      REPOSITORY,
      sha('b'),
      sha('a'),
    );

    // Assess
    expect(facts).toEqual({ commits: [], previousSha: sha('a'), firstDeployment: false, unresolved: true });
  });

  it('records how many newer commits a range too long to read left uncounted', async () => {
    // Prepare
    const commits = fixedSource({ commits: [{ sha: sha('b'), authoredAt: AUTHORED }], omittedCommits: 42 });

    // Act
    const facts = await computeLeadTimeFacts({ store, commits }, REPOSITORY, sha('c'), sha('a'));

    // Assess
    expect(facts).toEqual({
      commits: [{ sha: sha('b'), authoredAt: AUTHORED }],
      previousSha: sha('a'),
      firstDeployment: false,
      omittedCommits: 42,
    });
  });

  it('counts a squash-merged commit from its pull request first commit, a merge commit from its own time', () => {
    // Prepare: s squashes #7 (branch head not shipped); m merges #8 whose head h is in the range.
    const shipped = [
      { sha: sha('s'), authoredAt: AUTHORED },
      { sha: sha('h'), authoredAt: AUTHORED },
      { sha: sha('m'), authoredAt: AUTHORED },
    ];
    const pullRequests = new Map([
      [sha('s'), pullRequest(7, sha('f'), '2026-11-20T08:00:00.000Z')],
      [sha('m'), pullRequest(8, sha('h'), '2026-11-21T08:00:00.000Z')],
    ]);

    // Act
    const counted = deployedCommits(shipped, pullRequests);

    // Assess
    expect(counted).toEqual([
      { sha: sha('s'), authoredAt: AUTHORED, pullRequest: 7, firstCommitAt: '2026-11-20T08:00:00.000Z' },
      { sha: sha('h'), authoredAt: AUTHORED },
      { sha: sha('m'), authoredAt: AUTHORED },
    ]);
  });
});

describe('Lead time of a deployment that shipped more commits than the compare pages read', () => {
  let github: GitHubApiServer | undefined;
  let harness: DoraHarness | undefined;

  afterEach(async () => {
    await harness?.close();
    await github?.close();
  });

  it('asks GitHub for a few pages only and records the fallback in the deployment record', async () => {
    // Prepare: 1,000 commits between two deployments, ten minutes apart, none of them pushed to toilless.
    const history = linearHistory(1001, { start: new Date('2026-11-01T00:00:00Z') });
    github = await startGitHubApiServer({ repositories: [{ full_name: REPOSITORY, commits: history }] });
    const client = createGitHubClient({ baseUrl: github.url, token: github.token, logger: silentLogger });
    harness = await startDoraHarness({
      now: new Date('2026-11-26T12:00:00Z'),
      commits: (store) =>
        firstAnsweringCommitSource(new StoredPushCommitSource(store), new GitHubCommitSource(client)),
    });
    const first = { id: 801, sha: history[0]!.sha, createdAt: '2026-11-25T09:00:00Z' };
    const second = { id: 802, sha: history[1000]!.sha, createdAt: '2026-11-26T09:00:00Z' };

    // Act
    await harness.handleAll([
      deploymentCreated(first),
      deploymentStatus(first, { statusId: 8001, state: 'success', at: '2026-11-25T09:05:00Z' }),
      deploymentCreated(second),
      deploymentStatus(second, { statusId: 8002, state: 'success', at: '2026-11-26T10:00:00Z' }),
    ]);

    // Assess
    const compares = github.requests.filter((request) => request.url.includes('/compare/'));
    expect(compares).toHaveLength(3);
    const record = await harness.record('production', '802');
    expect(record.leadTime?.omittedCommits).toBe(700);
    expect(record.leadTime?.commits).toHaveLength(300);
    // Counted from the first commit after the previous deployment, the oldest one known.
    expect(record.leadTime?.commits[0]).toMatchObject({
      sha: history[1]!.sha,
      authoredAt: '2026-11-01T00:10:00.000Z',
    });
    expect(harness.logs.some((line) => line.omittedCommits === 700)).toBe(true);
  });
});
