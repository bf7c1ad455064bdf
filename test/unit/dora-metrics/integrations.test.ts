import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { doraIntegrations } from '../../../functions/dora-metrics/integrations.js';
import type { DeploymentRecord } from '../../../functions/dora-metrics/model.js';
import { StoredPushCommitSource } from '../../../functions/dora-metrics/store/commit-source.js';
import { FsObjectStore } from '../../../functions/shared/adapters/local/fs-object-store.js';
import { silentLogger } from '../../../functions/shared/log.js';
import { StaticSecretSource } from '../../../functions/shared/ports/secrets.js';
import {
  type GitHubApiServer,
  linearHistory,
  startGitHubApiServer,
} from '../../support/github-api-server.js';
import { type GrafanaServer, startGrafanaServer } from '../../support/grafana-server.js';

describe('DORA integrations', () => {
  let dataDir: string;
  let store: FsObjectStore;
  let grafana: GrafanaServer;
  let github: GitHubApiServer;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'toilless-dora-integrations-'));
    store = new FsObjectStore(dataDir);
    [grafana, github] = await Promise.all([startGrafanaServer(), startGitHubApiServer()]);
  });

  afterEach(async () => {
    await Promise.all([grafana.close(), github.close()]);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('uses only the stored pushes and annotates nothing when no token is set', async () => {
    // Act
    const integrations = await doraIntegrations({
      runtime: { grafanaUrl: grafana.url },
      secrets: new StaticSecretSource({}),
      store,
      logger: silentLogger,
    });

    // Assess
    expect(integrations.commits).toBeInstanceOf(StoredPushCommitSource);
    expect(integrations.github).toBeUndefined();
    expect(integrations.annotate).toBeUndefined();
    expect(integrations.pullRequestFirstCommit).toBeUndefined();
  });

  it('annotates a deployment in Grafana once GRAFANA_TOKEN is set', async () => {
    // Prepare
    const integrations = await doraIntegrations({
      runtime: { grafanaUrl: grafana.url },
      secrets: new StaticSecretSource({ GRAFANA_TOKEN: grafana.token }),
      store,
      logger: silentLogger,
    });
    const deployment = {
      repository: 'acme/shop',
      environment: 'production',
      deploymentId: '1001',
      sha: 'c0ffee0000000000000000000000000000000000',
      finishedAt: '2026-11-28T09:00:00.000Z',
    } as DeploymentRecord;

    // Act
    await integrations.annotate?.(deployment);
    await integrations.annotate?.(deployment);

    // Assess
    expect(grafana.annotations()).toHaveLength(1);
    expect(grafana.annotations()[0]?.tags).toEqual(
      expect.arrayContaining(['deploy', 'repository:acme/shop', 'environment:production']),
    );
  });

  it('asks the GitHub compare API, at GITHUB_API_URL, when the stored pushes cannot tell', async () => {
    // Prepare
    const commits = linearHistory(3, { start: new Date('2026-11-28T06:00:00Z') });
    github.seed({ full_name: 'acme/shop', commits });
    const integrations = await doraIntegrations({
      runtime: { grafanaUrl: grafana.url, githubApiUrl: github.url },
      secrets: new StaticSecretSource({ GITHUB_TOKEN: github.token }),
      store,
      logger: silentLogger,
    });

    // Act
    const shipped = await integrations.commits.commitsBetween(
      'acme/shop',
      commits[0]?.sha as string,
      commits[2]?.sha as string,
    );

    // Assess
    expect(shipped?.commits.map((commit) => commit.sha)).toEqual([commits[1]?.sha, commits[2]?.sha]);
    expect(github.requests.some((request) => request.url.includes('/compare/'))).toBe(true);
    expect(integrations.github).toBeDefined();
    expect(integrations.pullRequestFirstCommit).toBeDefined();
  });
});
