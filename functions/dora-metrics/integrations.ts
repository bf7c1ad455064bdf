/**
 * The optional outside services of the DORA worker, switched on by their secrets: with GITHUB_TOKEN the
 * compare API fills gaps in the stored pushes and squash-merged pull requests count from their first
 * commit; with GRAFANA_TOKEN each successful production deployment becomes a Grafana annotation.
 * Shared by the Lambda handler, the local runtime and the CLI so they behave the same.
 */
import type { GitHubClient, RateLimitWait } from '../shared/clients/github.js';
import type { RuntimeConfig } from '../shared/config.js';
import type { Logger } from '../shared/log.js';
import type { ObjectStore } from '../shared/ports/object-store.js';
import type { SecretSource } from '../shared/ports/secrets.js';
import {
  type CommitSource,
  firstAnsweringCommitSource,
  StoredPushCommitSource,
} from './store/commit-source.js';
import type { DoraMetricsDependencies } from './worker.js';

export interface DoraIntegrations
  extends Pick<DoraMetricsDependencies, 'commits' | 'annotate' | 'pullRequestFirstCommit'> {
  /** The GitHub REST client when GITHUB_TOKEN is set (backfill needs it). */
  readonly github?: GitHubClient | undefined;
}

export async function doraIntegrations(deps: {
  readonly runtime: Pick<RuntimeConfig, 'grafanaUrl' | 'githubApiUrl'>;
  readonly secrets: SecretSource;
  readonly store: ObjectStore;
  readonly logger: Logger;
  readonly onRateLimit?: ((wait: RateLimitWait) => void) | undefined;
}): Promise<DoraIntegrations> {
  const stored = new StoredPushCommitSource(deps.store);
  const [githubToken, grafanaToken] = await Promise.all([
    deps.secrets.get('GITHUB_TOKEN'),
    deps.secrets.get('GRAFANA_TOKEN'),
  ]);

  let commits: CommitSource = stored;
  let github: GitHubClient | undefined;
  let pullRequestFirstCommit: DoraMetricsDependencies['pullRequestFirstCommit'];
  if (githubToken) {
    // Octokit and the Grafana client are loaded only when their token is set.
    const [{ createGitHubClient }, { GitHubCommitSource }] = await Promise.all([
      import('../shared/clients/github.js'),
      import('./github/github-commit-source.js'),
    ]);
    github = createGitHubClient({
      token: githubToken,
      logger: deps.logger,
      ...(deps.runtime.githubApiUrl ? { baseUrl: deps.runtime.githubApiUrl } : {}),
      onRateLimit: deps.onRateLimit,
    });
    const compare = new GitHubCommitSource(github);
    // Stored pushes first: they answer without a request whenever their chain is complete.
    commits = firstAnsweringCommitSource(stored, compare);
    pullRequestFirstCommit = (repository, pullNumber) => compare.firstCommitAt(repository, pullNumber);
  }

  let annotate: DoraMetricsDependencies['annotate'];
  if (grafanaToken) {
    const { annotateDeployment, GrafanaClient } = await import('../shared/clients/grafana.js');
    const grafana = new GrafanaClient({ baseUrl: deps.runtime.grafanaUrl, token: grafanaToken });
    annotate = async (deployment) => {
      await annotateDeployment(grafana, deployment);
    };
  }

  return {
    commits,
    github,
    pullRequestFirstCommit,
    annotate,
  };
}
