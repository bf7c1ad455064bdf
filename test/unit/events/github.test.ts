import { describe, expect, it } from 'vitest';
import { type GitHubNormalization, normalizeGitHubEvent } from '../../../functions/shared/events/github.js';
import type { EventType, ToillessEvent } from '../../../functions/shared/events/types.js';
import { validationErrorOf } from '../../support/expected-errors.js';
import { githubExample, githubExamples } from '../../support/github-examples.js';

function eventOf<T extends EventType>(result: GitHubNormalization, type: T): ToillessEvent<T> {
  if (result.kind !== 'event') throw new Error(`expected an event, got ignored: ${result.reason}`);
  expect(result.event.type).toBe(type);
  return result.event as ToillessEvent<T>;
}

const DELIVERY = '72d3162e-cc78-11e3-81ab-4c9367dc0958';

describe('GitHub event normalisation', () => {
  describe('deployment', () => {
    it('turns a created deployment into GitHubDeployment keyed by the delivery', () => {
      // Prepare
      const payload = githubExample('deployment');

      // Act
      const event = eventOf(normalizeGitHubEvent('deployment', payload, DELIVERY), 'GitHubDeployment');

      // Assess
      expect(event).toEqual({
        id: `github:${DELIVERY}`,
        type: 'GitHubDeployment',
        time: '2019-05-15T15:20:53.000Z',
        detail: {
          repository: 'Codertocat/Hello-World',
          deliveryId: DELIVERY,
          deploymentId: 145988746,
          sha: 'f95f852bd8fca8fcc58a9a2d6c842781e32a215e',
          ref: 'master',
          environment: 'production',
          task: 'deploy',
          createdAt: '2019-05-15T15:20:53.000Z',
          description: null,
        },
      });
    });

    it('keeps production_environment when GitHub sends it', () => {
      // Prepare
      const payload = githubExample('deployment');
      payload.deployment.production_environment = true;

      // Act
      const event = eventOf(normalizeGitHubEvent('deployment', payload, DELIVERY), 'GitHubDeployment');

      // Assess
      expect(event.detail.productionEnvironment).toBe(true);
    });

    it('ignores deployment actions other than created', () => {
      // Prepare
      const payload = { ...githubExample('deployment'), action: 'deleted' };

      // Act
      const result = normalizeGitHubEvent('deployment', payload, DELIVERY);

      // Assess
      expect(result).toEqual({ kind: 'ignored', reason: 'deployment action "deleted" is not used' });
    });

    it('names deployment.sha when it is missing', () => {
      // Prepare
      const payload = githubExample('deployment');
      delete payload.deployment.sha;

      // Act
      const error = validationErrorOf(() => normalizeGitHubEvent('deployment', payload, DELIVERY));

      // Assess
      expect(error.issues.map((issue) => issue.path)).toEqual(['deployment.sha']);
      expect(error.message).toContain('deployment.sha');
    });
  });

  describe('deployment_status', () => {
    it('turns every documented deployment_status example into GitHubDeploymentStatus', () => {
      // Prepare
      const payloads = githubExamples('deployment_status');

      // Act
      const events = payloads.map((payload) =>
        eventOf(normalizeGitHubEvent('deployment_status', payload, DELIVERY), 'GitHubDeploymentStatus'),
      );

      // Assess
      expect(events.map((event) => event.detail.state)).toEqual([
        'success',
        'in_progress',
        'success',
        'success',
      ]);
      expect(events[1]).toEqual({
        id: `github:${DELIVERY}`,
        type: 'GitHubDeploymentStatus',
        time: '2022-01-03T01:28:40.000Z',
        detail: {
          repository: 'Codertocat/Hello-World',
          deliveryId: DELIVERY,
          deploymentId: 145988746,
          statusId: 209916254,
          state: 'in_progress',
          environment: 'github-pages',
          sha: 'f95f852bd8fca8fcc58a9a2d6c842781e32a215e',
          ref: 'master',
          createdAt: '2022-01-03T01:28:40.000Z',
          deploymentCreatedAt: '2022-01-03T01:28:30.000Z',
          targetUrl: 'https://github.com/Codertocat/Hello-World/runs/145988746?check_suite_focus=true',
          description: '',
        },
      });
    });

    it('names deployment_status.state when it is not a deployment state', () => {
      // Prepare
      const payload = githubExample('deployment_status');
      payload.deployment_status.state = 'exploded';

      // Act
      const error = validationErrorOf(() => normalizeGitHubEvent('deployment_status', payload, DELIVERY));

      // Assess
      expect(error.issues.map((issue) => issue.path)).toEqual(['deployment_status.state']);
    });

    it('names the repository when it is missing', () => {
      // Prepare
      const payload = githubExample('deployment_status');
      delete payload.repository;

      // Act
      const error = validationErrorOf(() => normalizeGitHubEvent('deployment_status', payload, DELIVERY));

      // Assess
      expect(error.issues.map((issue) => issue.path)).toEqual(['repository']);
    });

    it('tolerates fields it does not know', () => {
      // Prepare
      const plain = githubExample('deployment_status');
      const extended = githubExample('deployment_status');
      extended.brand_new_field = { nested: true };
      extended.deployment_status.another_new_field = 42;

      // Act
      const fromPlain = normalizeGitHubEvent('deployment_status', plain, DELIVERY);
      const fromExtended = normalizeGitHubEvent('deployment_status', extended, DELIVERY);

      // Assess
      expect(fromExtended).toEqual(fromPlain);
    });
  });

  describe('workflow_run', () => {
    it('turns a completed run into GitHubWorkflowRun timed at its last update', () => {
      // Prepare
      const payload = githubExample(
        'workflow_run',
        (p) => p.action === 'completed' && p.workflow_run.conclusion,
      );

      // Act
      const event = eventOf(normalizeGitHubEvent('workflow_run', payload, DELIVERY), 'GitHubWorkflowRun');

      // Assess
      expect(event).toEqual({
        id: `github:${DELIVERY}`,
        type: 'GitHubWorkflowRun',
        time: '2020-10-05T16:33:49.000Z',
        detail: {
          repository: 'octo-org/octo-repo',
          deliveryId: DELIVERY,
          runId: 289782451,
          name: '',
          workflowPath: '.github/workflows/test.yml',
          headSha: '3484a3fb816e0859fd6e1cea078d76385ff50625',
          headBranch: 'master',
          defaultBranch: 'master',
          event: 'repository_dispatch',
          status: 'completed',
          conclusion: 'success',
          runAttempt: 1,
          runStartedAt: '2020-10-05T16:33:49.000Z',
          updatedAt: '2020-10-05T16:33:49.000Z',
          htmlUrl: 'https://github.com/octo-org/octo-repo/actions/runs/289782451',
        },
      });
    });

    it('ignores requested and in_progress runs', () => {
      // Prepare
      const requested = githubExample('workflow_run', (p) => p.action === 'requested');
      const inProgress = {
        ...githubExample('workflow_run', (p) => p.action === 'requested'),
        action: 'in_progress',
      };

      // Act
      const results = [requested, inProgress].map((p) => normalizeGitHubEvent('workflow_run', p, DELIVERY));

      // Assess
      expect(results.map((result) => result.kind)).toEqual(['ignored', 'ignored']);
    });

    it('names workflow_run.head_sha when it is missing, even on a run it would ignore', () => {
      // Prepare
      const payload = githubExample('workflow_run', (p) => p.action === 'requested');
      delete payload.workflow_run.head_sha;

      // Act
      const error = validationErrorOf(() => normalizeGitHubEvent('workflow_run', payload, DELIVERY));

      // Assess
      expect(error.issues.map((issue) => issue.path)).toEqual(['workflow_run.head_sha']);
    });
  });

  describe('push', () => {
    it('turns a push to a branch into GitHubPush with commit titles and author times', () => {
      // Prepare
      const payload = githubExample('push', (p) => p.ref === 'refs/heads/master');

      // Act
      const event = eventOf(normalizeGitHubEvent('push', payload, DELIVERY), 'GitHubPush');

      // Assess
      expect(event).toEqual({
        id: `github:${DELIVERY}`,
        type: 'GitHubPush',
        time: '2019-05-15T15:19:25.000Z',
        detail: {
          repository: 'Codertocat/Hello-World',
          deliveryId: DELIVERY,
          ref: 'refs/heads/master',
          before: '0000000000000000000000000000000000000000',
          after: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
          forced: false,
          commits: [
            {
              id: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
              authoredAt: '2019-05-15T15:19:25.000Z',
              title: 'Initial commit',
            },
          ],
        },
      });
    });

    it('titles a commit with the first line of its message and converts local times to UTC', () => {
      // Prepare
      const payload = githubExample('push', (p) => p.ref === 'refs/heads/master');
      payload.commits[0].message = 'Fix the retry budget (#42)\r\n\r\nThe budget was per request.';
      payload.commits[0].timestamp = '2019-05-15T11:19:25-04:00';
      payload.head_commit.timestamp = '2019-05-15T11:19:25-04:00';

      // Act
      const event = eventOf(normalizeGitHubEvent('push', payload, DELIVERY), 'GitHubPush');

      // Assess
      expect(event.detail.commits[0]).toEqual({
        id: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
        authoredAt: '2019-05-15T15:19:25.000Z',
        title: 'Fix the retry budget (#42)',
      });
      expect(event.time).toBe('2019-05-15T15:19:25.000Z');
    });

    it('ignores a push that deletes a ref', () => {
      // Prepare
      const payload = githubExample('push', (p) => p.deleted === true);

      // Act
      const result = normalizeGitHubEvent('push', payload, DELIVERY);

      // Assess
      expect(result).toEqual({
        kind: 'ignored',
        reason: 'push deleting refs/tags/simple-tag: no commits to record',
      });
    });

    it('ignores a branch deletion even when the deleted flag is absent', () => {
      // Prepare
      const payload = githubExample('push', (p) => p.deleted === true);
      payload.ref = 'refs/heads/feature';
      delete payload.deleted;

      // Act
      const result = normalizeGitHubEvent('push', payload, DELIVERY);

      // Assess
      expect(result.kind).toBe('ignored');
    });

    it('names the commit field that breaks the schema', () => {
      // Prepare
      const payload = githubExample('push', (p) => p.ref === 'refs/heads/master');
      payload.commits[0].timestamp = 'yesterday';

      // Act
      const error = validationErrorOf(() => normalizeGitHubEvent('push', payload, DELIVERY));

      // Assess
      expect(error.issues.map((issue) => issue.path)).toEqual(['commits.0.timestamp']);
    });
  });

  describe('pull_request', () => {
    it('turns a closed, unmerged pull request into GitHubPullRequest timed at closed_at', () => {
      // Prepare
      const payload = githubExample('pull_request', (p) => p.action === 'closed');

      // Act
      const event = eventOf(normalizeGitHubEvent('pull_request', payload, DELIVERY), 'GitHubPullRequest');

      // Assess
      expect(event).toEqual({
        id: `github:${DELIVERY}`,
        type: 'GitHubPullRequest',
        time: '2019-05-15T15:21:18.000Z',
        detail: {
          repository: 'Codertocat/Hello-World',
          deliveryId: DELIVERY,
          number: 2,
          title: 'Update the README with new information.',
          merged: false,
          mergedAt: null,
          mergeCommitSha: 'c4295bd74fb0f4fda03689c3df3f2803b658fd85',
          headSha: 'ec26c3e57ca3a959ca5aad62de7213c562f8c821',
          baseRef: 'master',
          createdAt: '2019-05-15T15:20:33.000Z',
          commits: 1,
        },
      });
    });

    it('times a merged pull request at merged_at', () => {
      // Prepare
      const payload = githubExample('pull_request', (p) => p.action === 'closed');
      payload.pull_request.merged = true;
      payload.pull_request.merged_at = '2019-05-15T15:21:17Z';

      // Act
      const event = eventOf(normalizeGitHubEvent('pull_request', payload, DELIVERY), 'GitHubPullRequest');

      // Assess
      expect(event.time).toBe('2019-05-15T15:21:17.000Z');
      expect(event.detail).toMatchObject({ merged: true, mergedAt: '2019-05-15T15:21:17.000Z' });
    });

    it('ignores every documented action other than closed', () => {
      // Prepare
      const payloads = githubExamples('pull_request').filter((p) => p.action !== 'closed');

      // Act
      const kinds = new Set(payloads.map((p) => normalizeGitHubEvent('pull_request', p, DELIVERY).kind));

      // Assess
      expect(payloads.length).toBeGreaterThan(10);
      expect([...kinds]).toEqual(['ignored']);
    });

    it('names pull_request.closed_at when a closed pull request lacks it', () => {
      // Prepare
      const payload = githubExample('pull_request', (p) => p.action === 'closed');
      payload.pull_request.closed_at = null;

      // Act
      const error = validationErrorOf(() => normalizeGitHubEvent('pull_request', payload, DELIVERY));

      // Assess
      expect(error.issues.map((issue) => issue.path)).toEqual(['pull_request.closed_at']);
    });
  });

  describe('events toilless does not use', () => {
    it('ignores ping with a reason', () => {
      // Prepare
      const payload = githubExample('ping');

      // Act
      const result = normalizeGitHubEvent('ping', payload, DELIVERY);

      // Assess
      expect(result).toEqual({
        kind: 'ignored',
        reason: 'ping: the webhook is reachable; nothing to publish',
      });
    });

    it('ignores other event names without reading the payload', () => {
      // Prepare
      const payload = { anything: 'at all' };

      // Act
      const result = normalizeGitHubEvent('issues', payload, DELIVERY);

      // Assess
      expect(result).toEqual({ kind: 'ignored', reason: 'GitHub event "issues" is not used by toilless' });
    });

    it('names the action when a used event has none', () => {
      // Prepare
      const payload = githubExample('deployment');
      delete payload.action;

      // Act
      const error = validationErrorOf(() => normalizeGitHubEvent('deployment', payload, DELIVERY));

      // Assess
      expect(error.issues.map((issue) => issue.path)).toEqual(['action']);
    });
  });
});
