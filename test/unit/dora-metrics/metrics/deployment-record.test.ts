import { describe, expect, it } from 'vitest';
import {
  applyDeploymentChange,
  changeOfDeploymentStatus,
  changeOfWorkflowRun,
  decideOutcome,
} from '../../../../functions/dora-metrics/metrics/deployment-record.js';
import { leadTimeSecondsOf } from '../../../../functions/dora-metrics/metrics/ledger.js';
import type { DeploymentRecord, DeploymentStatusEntry } from '../../../../functions/dora-metrics/model.js';
import { parseToillessConfig } from '../../../../functions/shared/stack-config.js';
import { deploymentStatus, sha, workflowRunCompleted } from '../events.js';

const config = parseToillessConfig('');

function status(state: string, at: string, statusId: number): DeploymentStatusEntry {
  return { state, at, statusId, deliveryId: `delivery-${statusId}` };
}

describe('Deployment records', () => {
  describe('outcome', () => {
    it('is the latest terminal status by time: success, or failure for failure and error', () => {
      // Assess
      expect(decideOutcome([status('pending', '2026-11-26T10:00:00Z', 1)])).toEqual({ outcome: 'pending' });
      expect(decideOutcome([status('error', '2026-11-26T10:00:00Z', 1)])).toEqual({
        outcome: 'failure',
        finishedAt: '2026-11-26T10:00:00Z',
      });
      expect(
        decideOutcome([
          status('failure', '2026-11-26T10:00:00Z', 1),
          status('success', '2026-11-26T10:05:00Z', 2),
        ]),
      ).toEqual({ outcome: 'success', finishedAt: '2026-11-26T10:05:00Z' });
    });

    it('stays successful when the deployment is later marked inactive (superseded)', () => {
      // Act
      const decided = decideOutcome([
        status('success', '2026-11-26T10:05:00Z', 1),
        status('inactive', '2026-11-27T10:00:00Z', 2),
      ]);

      // Assess
      expect(decided).toEqual({ outcome: 'success', finishedAt: '2026-11-26T10:05:00Z' });
    });
  });

  describe('merging events', () => {
    const facts = { id: 5, sha: sha('a'), createdAt: '2026-11-26T09:00:00Z' };

    it('keeps one copy of a status delivered twice, with the smaller delivery id', () => {
      // Prepare
      const webhook = changeOfDeploymentStatus(
        deploymentStatus(facts, { statusId: 51, state: 'success', at: '2026-11-26T10:00:00Z' }, 'b-delivery')
          .detail,
      );
      const backfill = changeOfDeploymentStatus(
        deploymentStatus(facts, { statusId: 51, state: 'success', at: '2026-11-26T10:00:00Z' }, 'a-delivery')
          .detail,
      );

      // Act
      const once = applyDeploymentChange(config, undefined, webhook);
      const twice = applyDeploymentChange(config, once, backfill);
      const otherOrder = applyDeploymentChange(
        config,
        applyDeploymentChange(config, undefined, backfill),
        webhook,
      );

      // Assess
      expect(twice.statuses).toEqual([
        { state: 'success', at: '2026-11-26T10:00:00.000Z', statusId: 51, deliveryId: 'a-delivery' },
      ]);
      expect(otherOrder).toEqual(twice);
    });

    it('marks environments matching dora.productionEnvironments as production, case aside', () => {
      // Prepare
      const change = changeOfDeploymentStatus(
        deploymentStatus(
          { ...facts, environment: 'Production' },
          { statusId: 52, state: 'success', at: '2026-11-26T10:00:00Z' },
        ).detail,
      );

      // Act
      const record = applyDeploymentChange(config, undefined, change);

      // Assess
      expect(record).toMatchObject({ environment: 'Production', production: true, deploymentId: '5' });
    });
  });

  describe('workflow runs', () => {
    const run = {
      runId: 9,
      name: 'deploy',
      branch: 'main',
      sha: sha('9'),
      attempt: 1,
      startedAt: '2026-11-26T09:00:00Z',
      updatedAt: '2026-11-26T09:10:00Z',
    };

    it('turns timed out and startup failures into failures and ignores runs without a verdict', () => {
      // Act
      const outcomes = [
        'success',
        'failure',
        'timed_out',
        'startup_failure',
        'cancelled',
        'skipped',
        'neutral',
      ].map(
        (conclusion) =>
          changeOfWorkflowRun(config, workflowRunCompleted({ ...run, conclusion }).detail)?.status?.state ??
          'ignored',
      );

      // Assess
      expect(outcomes).toEqual(['success', 'failure', 'failure', 'failure', 'ignored', 'ignored', 'ignored']);
    });

    it('names the deployment run-<id> in the environment the first matching rule gives', () => {
      // Act
      const change = changeOfWorkflowRun(
        config,
        workflowRunCompleted({ ...run, conclusion: 'success' }).detail,
      );

      // Assess
      expect(change).toMatchObject({
        deploymentId: 'run-9',
        environment: 'production',
        source: 'workflow_run',
        status: { state: 'success', at: '2026-11-26T09:10:00.000Z', runAttempt: 1 },
      });
    });
  });

  describe('lead time seconds', () => {
    it('counts a commit authored after the deployment finished (clock skew) as 0, never negative', () => {
      // Prepare
      const record = {
        finishedAt: '2026-11-26T10:00:00.000Z',
        leadTime: {
          commits: [
            { sha: sha('1'), authoredAt: '2026-11-26T09:00:00.000Z' },
            { sha: sha('2'), authoredAt: '2026-11-26T10:05:00.000Z' },
            {
              sha: sha('3'),
              authoredAt: '2026-11-26T09:59:00.000Z',
              pullRequest: 4,
              firstCommitAt: '2026-11-24T10:00:00.000Z',
            },
          ],
          previousSha: sha('0'),
          firstDeployment: false,
        },
      } as unknown as DeploymentRecord;

      // Act
      const seconds = leadTimeSecondsOf(record);

      // Assess: 1 h = 3600; -5 min -> 0; the squash commit from the pull request's first commit: 2 days = 172800.
      expect(seconds).toEqual([3_600, 0, 172_800]);
    });
  });
});
