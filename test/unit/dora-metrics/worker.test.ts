import { afterEach, describe, expect, it } from 'vitest';
import { ledgerEntries } from '../../../functions/dora-metrics/metrics/ledger.js';
import type { DeploymentRecord } from '../../../functions/dora-metrics/model.js';
import { readCurrentMetrics } from '../../../functions/dora-metrics/recompute.js';
import { deploymentKey, ledgerKey } from '../../../functions/dora-metrics/store/store-keys.js';
import { ValidationError } from '../../../functions/shared/errors.js';
import type { DeploymentRecordedDetail, ToillessEvent } from '../../../functions/shared/events/types.js';
import { parseToillessConfig } from '../../../functions/shared/stack-config.js';
import {
  commitsToMaster,
  type DeploymentFacts,
  deploymentCreated,
  deploymentStatus,
  incidentOpened,
  incidentResolved,
  pullRequestMerged,
  pushed,
  REPOSITORY,
  sha,
  workflowRunCompleted,
  ZERO,
} from './events.js';
import { CONFIG, type DoraHarness, startDoraHarness } from './harness.js';

// Windows end now: 7d is (2026-11-21T12:00Z, now], 30d is (2026-10-29T12:00Z, now].
const NOW = new Date('2026-11-28T12:00:00Z');
const PRODUCTION = { repository: REPOSITORY, environment: 'production' };

let harness: DoraHarness | undefined;
const others: DoraHarness[] = [];

async function start(options: Partial<Parameters<typeof startDoraHarness>[0]> = {}): Promise<DoraHarness> {
  const started = await startDoraHarness({ now: NOW, ...options });
  if (harness === undefined) harness = started;
  else others.push(started);
  return started;
}

afterEach(async () => {
  await harness?.close();
  for (const other of others.splice(0)) await other.close();
  harness = undefined;
});

/** A deployment and its statuses, as GitHub delivers them. */
function deployment(
  facts: DeploymentFacts,
  ...statuses: Parameters<typeof deploymentStatus>[1][]
): ToillessEvent[] {
  return [deploymentCreated(facts), ...statuses.map((status) => deploymentStatus(facts, status))];
}

function recorded(events: readonly ToillessEvent[]): DeploymentRecordedDetail[] {
  return events.flatMap((event) => (event.type === 'DeploymentRecorded' ? [event.detail] : []));
}

/** A critical incident on shop at 10:30, half an hour after deployment `id` of a succeeded in production. */
function incidentAfterDeployment(incidentId: string, id: number) {
  const incident = {
    id: incidentId,
    services: ['shop'],
    severity: 'critical',
    startedAt: '2026-11-26T10:30:00Z',
  };
  const events = [
    ...deployment(
      { id, sha: sha('a'), createdAt: '2026-11-26T09:00:00Z' },
      { statusId: id * 10 + 1, state: 'success', at: '2026-11-26T10:00:00Z' },
    ),
    incidentOpened(incident),
  ];
  return { incident, events };
}

/** Pushes to master a -> 5 (squash of pull request #7) -> b, with the feature branch's own pushes. */
function squashMergeHistory(): ToillessEvent[] {
  return [
    ...commitsToMaster('9', ['a', '2026-11-19T10:00:00Z']),
    // The branch: created with f1 (authored at 08:00 +02:00 = 06:00Z), then f2.
    pushed({
      ref: 'refs/heads/feature',
      before: ZERO,
      after: sha('f1'),
      commits: [{ sha: sha('f1'), authoredAt: '2026-11-19T08:00:00+02:00' }],
    }),
    pushed({
      ref: 'refs/heads/feature',
      before: sha('f1'),
      after: sha('f2'),
      commits: [{ sha: sha('f2'), authoredAt: '2026-11-20T09:00:00Z' }],
    }),
    pullRequestMerged({
      number: 7,
      mergedAt: '2026-11-21T09:00:00Z',
      mergeCommitSha: sha('5'),
      headSha: sha('f2'),
    }),
    // The squash commit's author time is the merge time: it would hide two days of work.
    ...commitsToMaster('a', ['5', '2026-11-21T09:00:00Z'], ['b', '2026-11-21T10:00:00Z']),
  ];
}

describe('DORA metrics worker', () => {
  describe('lead time for changes', () => {
    it('counts a squash-merged pull request from its first commit, and not the first deployment', async () => {
      // Prepare
      const { worker, writer, record, history } = await start();
      const first = { id: 101, sha: sha('a'), createdAt: '2026-11-20T09:55:00Z' };
      const second = { id: 102, sha: sha('b'), createdAt: '2026-11-21T12:55:00Z' };

      // Act
      for (const event of [
        ...squashMergeHistory(),
        ...deployment(first, { statusId: 1001, state: 'success', at: '2026-11-20T10:00:00Z' }),
        ...deployment(second, { statusId: 1002, state: 'success', at: '2026-11-21T13:00:00Z' }),
      ]) {
        await worker.handle(event);
      }

      // Assess
      expect((await record('production', '101')).leadTime).toEqual({ commits: [], firstDeployment: true });
      expect((await record('production', '102')).leadTime).toEqual({
        commits: [
          {
            sha: sha('5'),
            authoredAt: '2026-11-21T09:00:00.000Z',
            pullRequest: 7,
            firstCommitAt: '2026-11-19T06:00:00.000Z',
          },
          { sha: sha('b'), authoredAt: '2026-11-21T10:00:00.000Z' },
        ],
        previousSha: sha('a'),
        firstDeployment: false,
      });
      // 5: 2026-11-21T13:00 - 2026-11-19T06:00 = 2 d 7 h = 55 h = 198000 s; b: 13:00 - 10:00 = 10800 s.
      expect(ledgerEntries(await history.ledger(PRODUCTION)).map((entry) => entry.leadTimeSeconds)).toEqual([
        [],
        [198_000, 10_800],
      ]);
      // Nearest rank over [10800, 198000]: p50 at rank ceil(0.5 * 2) = 1, p90 at rank ceil(0.9 * 2) = 2.
      const labels = { repository: REPOSITORY, environment: 'production', window: '30d' };
      expect(writer.latest('dora_lead_time_for_changes_seconds', { ...labels, quantile: '0.5' })).toBe(
        10_800,
      );
      expect(writer.latest('dora_lead_time_for_changes_seconds', { ...labels, quantile: '0.9' })).toBe(
        198_000,
      );
      // The median, 3 h, is within 24 h: high.
      expect(writer.latest('dora_performance_level', { ...labels, metric: 'lead_time' })).toBe(3);
    });

    it('counts a redeploy of the same sha as a deployment that ships no commits', async () => {
      // Prepare
      const { writer, record, handleAll } = await start();
      await handleAll([
        ...squashMergeHistory(),
        ...deployment(
          { id: 101, sha: sha('a'), createdAt: '2026-11-20T09:55:00Z' },
          { statusId: 1001, state: 'success', at: '2026-11-20T10:00:00Z' },
        ),
        ...deployment(
          { id: 102, sha: sha('b'), createdAt: '2026-11-21T12:55:00Z' },
          { statusId: 1002, state: 'success', at: '2026-11-21T13:00:00Z' },
        ),
      ]);

      // Act
      await handleAll(
        deployment(
          { id: 103, sha: sha('b'), createdAt: '2026-11-22T09:55:00Z' },
          { statusId: 1003, state: 'success', at: '2026-11-22T10:00:00Z' },
        ),
      );

      // Assess
      expect((await record('production', '103')).leadTime).toEqual({
        commits: [],
        previousSha: sha('b'),
        firstDeployment: false,
      });
      const week = { repository: REPOSITORY, environment: 'production', window: '7d' };
      const month = { ...week, window: '30d' };
      // 7d holds 102 (21st 13:00) and 103; 101 finished on the 20th, before the window: 2 / 7 per day.
      expect(writer.latest('dora_deployments', { ...week, status: 'success' })).toBe(2);
      expect(writer.latest('dora_deployment_frequency_per_day', week)).toBeCloseTo(2 / 7, 12);
      // 30d holds all three: 3 / 30 = 0.1 per day, between 1/month and 4/month: medium.
      expect(writer.latest('dora_deployment_frequency_per_day', month)).toBeCloseTo(0.1, 12);
      expect(writer.latest('dora_performance_level', { ...month, metric: 'deployment_frequency' })).toBe(2);
      // Still only 102's two commits: p50 10800 s, p90 198000 s.
      expect(writer.latest('dora_lead_time_for_changes_seconds', { ...week, quantile: '0.5' })).toBe(10_800);
      expect(writer.latest('dora_lead_time_for_changes_seconds', { ...week, quantile: '0.9' })).toBe(198_000);
    });

    it('computes a lead time left unresolved when the push of the deployed sha arrives late', async () => {
      // Prepare
      const { writer, handleAll, history } = await start();
      await handleAll([
        ...deployment(
          { id: 601, sha: sha('a'), createdAt: '2026-11-25T09:00:00Z' },
          { statusId: 6001, state: 'success', at: '2026-11-25T09:05:00Z' },
        ),
        ...deployment(
          { id: 602, sha: sha('b'), createdAt: '2026-11-26T09:00:00Z' },
          { statusId: 6002, state: 'success', at: '2026-11-26T10:00:00Z' },
        ),
      ]);
      const before = ledgerEntries(await history.ledger(PRODUCTION)).map((entry) => entry.leadTime);

      // Act
      await handleAll([...commitsToMaster('a', ['b', '2026-11-26T08:00:00Z'])]);

      // Assess
      expect(before).toEqual(['first-deployment', 'unresolved']);
      // b: 10:00 - 08:00 = 7200 s, the only commit.
      expect(ledgerEntries(await history.ledger(PRODUCTION)).map((entry) => entry.leadTimeSeconds)).toEqual([
        [],
        [7_200],
      ]);
      const labels = { repository: REPOSITORY, environment: 'production', window: '7d', quantile: '0.5' };
      expect(writer.latest('dora_lead_time_for_changes_seconds', labels)).toBe(7_200);
    });

    it('recomputes the next deployment when an earlier one arrives late, so no commit counts twice', async () => {
      // Prepare: pushes a -> b -> c; deployments of a, b, c; b's statuses arrive last.
      const { handleAll, history, record } = await start();
      await handleAll([
        ...commitsToMaster(
          '9',
          ['a', '2026-11-24T08:00:00Z'],
          ['b', '2026-11-25T08:00:00Z'],
          ['c', '2026-11-26T08:00:00Z'],
        ),
        ...deployment(
          { id: 701, sha: sha('a'), createdAt: '2026-11-24T09:00:00Z' },
          { statusId: 7001, state: 'success', at: '2026-11-24T10:00:00Z' },
        ),
        ...deployment(
          { id: 703, sha: sha('c'), createdAt: '2026-11-26T09:00:00Z' },
          { statusId: 7003, state: 'success', at: '2026-11-26T10:00:00Z' },
        ),
      ]);
      const early = (await record('production', '703')).leadTime?.commits.map((commit) => commit.sha);

      // Act
      await handleAll(
        deployment(
          { id: 702, sha: sha('b'), createdAt: '2026-11-25T09:00:00Z' },
          { statusId: 7002, state: 'success', at: '2026-11-25T10:00:00Z' },
        ),
      );

      // Assess: 703 first shipped b and c; once 702 is known, 703 shipped only c.
      expect(early).toEqual([sha('b'), sha('c')]);
      expect((await record('production', '703')).leadTime?.previousSha).toBe(sha('b'));
      // 702: b 10:00 - 08:00 = 7200 s; 703: c 10:00 - 08:00 = 7200 s.
      expect(ledgerEntries(await history.ledger(PRODUCTION)).map((entry) => entry.leadTimeSeconds)).toEqual([
        [],
        [7_200],
        [7_200],
      ]);
    });
  });

  describe('deployment outcomes', () => {
    it('measures time to restore from a failed deployment to the next successful one', async () => {
      // Prepare
      const { writer, handleAll } = await start();

      // Act: two failures in a row (error counts as failure), then a fix.
      await handleAll([
        ...deployment(
          { id: 201, sha: sha('c'), createdAt: '2026-11-24T09:50:00Z' },
          { statusId: 2001, state: 'error', at: '2026-11-24T10:00:00Z' },
        ),
        ...deployment(
          { id: 202, sha: sha('c'), createdAt: '2026-11-24T10:20:00Z' },
          { statusId: 2002, state: 'failure', at: '2026-11-24T10:30:00Z' },
        ),
        ...deployment(
          { id: 203, sha: sha('d'), createdAt: '2026-11-24T12:00:00Z' },
          { statusId: 2003, state: 'success', at: '2026-11-24T12:30:00Z' },
        ),
      ]);

      // Assess
      const labels = { repository: REPOSITORY, environment: 'production', window: '7d' };
      // One outage from the first failure (10:00) to the fix (12:30): 2.5 h = 9000 s.
      expect(writer.latest('dora_time_to_restore_seconds', { ...labels, quantile: '0.5' })).toBe(9_000);
      expect(writer.latest('dora_time_to_restore_seconds', { ...labels, quantile: '0.9' })).toBe(9_000);
      expect(writer.latest('dora_performance_level', { ...labels, metric: 'time_to_restore' })).toBe(3);
      expect(writer.latest('dora_deployments', { ...labels, status: 'failure' })).toBe(2);
      expect(writer.latest('dora_deployments', { ...labels, status: 'success' })).toBe(1);
      // 2 failed of 3: 0.667 > 60%: low.
      expect(writer.latest('dora_change_failure_rate', labels)).toBeCloseTo(2 / 3, 12);
      expect(writer.latest('dora_performance_level', { ...labels, metric: 'change_failure_rate' })).toBe(1);
    });

    it('gives the same record whichever order the statuses arrive in, and a stale failure does not roll back', async () => {
      // Prepare
      const facts = { id: 301, sha: sha('e'), createdAt: '2026-11-26T10:00:00Z' };
      const failure = deploymentStatus(facts, {
        statusId: 3001,
        state: 'failure',
        at: '2026-11-26T10:02:00Z',
      });
      const success = deploymentStatus(facts, {
        statusId: 3002,
        state: 'success',
        at: '2026-11-26T10:05:00Z',
      });
      const inProgress = deploymentStatus(facts, {
        statusId: 3000,
        state: 'in_progress',
        at: '2026-11-26T10:01:00Z',
      });
      const inOrder = await start();
      const reversed = await start();

      // Act
      await inOrder.handleAll([deploymentCreated(facts), inProgress, failure, success]);
      await reversed.handleAll([success, failure, inProgress, deploymentCreated(facts)]);

      // Assess
      const a = await inOrder.record('production', '301');
      const b = await reversed.record('production', '301');
      expect(a.outcome).toBe('success');
      expect(a.finishedAt).toBe('2026-11-26T10:05:00.000Z');
      expect(a.statuses.map((status) => status.state)).toEqual(['in_progress', 'failure', 'success']);
      const { announced: announcedA, ...restA } = a;
      const { announced: announcedB, ...restB } = b;
      expect(restB).toEqual(restA);
      // In order, the failure was the outcome for a while and was announced; reversed, it never was.
      expect(announcedA).toEqual(['failure', 'success']);
      expect(announcedB).toEqual(['success']);
      expect(recorded(inOrder.bus.published).map((detail) => detail.status)).toEqual(['failure', 'success']);
      expect(recorded(reversed.bus.published).map((detail) => detail.status)).toEqual(['success']);
    });

    it('keeps a success that a later inactive status superseded', async () => {
      // Prepare
      const { handleAll, record } = await start();
      const facts = { id: 302, sha: sha('e'), createdAt: '2026-11-26T10:00:00Z' };

      // Act
      await handleAll([
        deploymentStatus(facts, { statusId: 3021, state: 'success', at: '2026-11-26T10:05:00Z' }),
        deploymentStatus(facts, { statusId: 3022, state: 'inactive', at: '2026-11-27T10:00:00Z' }),
      ]);

      // Assess
      const stored = await record('production', '302');
      expect(stored.outcome).toBe('success');
      expect(stored.finishedAt).toBe('2026-11-26T10:05:00.000Z');
    });

    it('publishes DeploymentRecorded once per outcome and annotates successful production deployments', async () => {
      // Prepare
      const annotated: DeploymentRecord[] = [];
      const { bus, handleAll } = await start({
        annotate: async (deployment) => {
          annotated.push(deployment);
        },
      });
      const production = { id: 401, sha: sha('a'), createdAt: '2026-11-26T09:00:00Z' };
      const staging = { id: 402, sha: sha('a'), environment: 'staging', createdAt: '2026-11-26T08:00:00Z' };

      // Act
      await handleAll([
        ...deployment(staging, { statusId: 4021, state: 'success', at: '2026-11-26T08:10:00Z' }),
        ...deployment(production, { statusId: 4011, state: 'pending', at: '2026-11-26T09:01:00Z' }),
        deploymentStatus(production, { statusId: 4012, state: 'success', at: '2026-11-26T09:10:00Z' }),
        deploymentStatus(production, { statusId: 4012, state: 'success', at: '2026-11-26T09:10:00Z' }),
      ]);

      // Assess
      const events = bus.published.filter((event) => event.type === 'DeploymentRecorded');
      expect(events.map((event) => event.id)).toEqual([
        `deployment:${REPOSITORY}:staging:402:success`,
        `deployment:${REPOSITORY}:production:401:success`,
      ]);
      expect(events[1]).toEqual({
        id: `deployment:${REPOSITORY}:production:401:success`,
        type: 'DeploymentRecorded',
        time: '2026-11-26T09:10:00.000Z',
        detail: {
          repository: REPOSITORY,
          environment: 'production',
          deploymentId: '401',
          sha: sha('a'),
          status: 'success',
          production: true,
          finishedAt: '2026-11-26T09:10:00.000Z',
          services: ['shop'],
        },
      });
      expect(annotated.map((deployment) => deployment.deploymentId)).toEqual(['401']);
    });

    it('retries the announcement when the bus refuses it', async () => {
      // Prepare
      const { bus, worker, record } = await start();
      const facts = { id: 403, sha: sha('a'), createdAt: '2026-11-26T09:00:00Z' };
      const status = deploymentStatus(facts, {
        statusId: 4031,
        state: 'success',
        at: '2026-11-26T09:10:00Z',
      });
      bus.failNext(1);

      // Act
      const failed = await worker.handle(status).then(
        () => undefined,
        (error: unknown) => error,
      );
      const afterFailure = (await record('production', '403')).announced;
      await worker.handle(status);

      // Assess
      expect(failed).toBeInstanceOf(Error);
      expect(afterFailure).toEqual([]);
      expect(recorded(bus.published).map((detail) => detail.deploymentId)).toEqual(['403']);
      expect((await record('production', '403')).announced).toEqual(['success']);
    });
  });

  describe('deploy workflow runs', () => {
    it('records a deploy workflow on the default branch as a production deployment, one status per attempt', async () => {
      // Prepare
      const { handleAll, record, store } = await start();
      const run = {
        runId: 77,
        name: 'Deploy to production',
        branch: 'master',
        defaultBranch: 'master',
        sha: sha('7'),
        startedAt: '2026-11-26T09:00:00Z',
      };

      // Act
      await handleAll([
        workflowRunCompleted({
          ...run,
          conclusion: 'failure',
          attempt: 1,
          updatedAt: '2026-11-26T09:10:00Z',
        }),
        workflowRunCompleted({
          ...run,
          conclusion: 'success',
          attempt: 2,
          startedAt: '2026-11-26T09:15:00Z',
          updatedAt: '2026-11-26T09:25:00Z',
        }),
        workflowRunCompleted({
          ...run,
          runId: 78,
          name: 'CI',
          conclusion: 'success',
          attempt: 1,
          updatedAt: '2026-11-26T09:05:00Z',
        }),
        workflowRunCompleted({
          ...run,
          runId: 79,
          branch: 'feature',
          conclusion: 'success',
          attempt: 1,
          updatedAt: '2026-11-26T09:05:00Z',
        }),
        workflowRunCompleted({
          ...run,
          runId: 80,
          conclusion: 'cancelled',
          attempt: 1,
          updatedAt: '2026-11-26T09:05:00Z',
        }),
      ]);

      // Assess
      const stored = await record('production', 'run-77');
      expect(stored).toMatchObject({
        source: 'workflow_run',
        sha: sha('7'),
        ref: 'master',
        createdAt: '2026-11-26T09:00:00.000Z',
        production: true,
        outcome: 'success',
        finishedAt: '2026-11-26T09:25:00.000Z',
      });
      expect(stored.statuses.map((status) => [status.runAttempt, status.state])).toEqual([
        [1, 'failure'],
        [2, 'success'],
      ]);
      const keys: string[] = [];
      for await (const key of store.list('deployments/')) keys.push(key);
      expect(keys).toEqual([deploymentKey(REPOSITORY, 'production', 'run-77')]);
    });

    it('maps runs to environments with dora.workflowEnvironments', async () => {
      // Prepare
      const config = parseToillessConfig(
        [
          'dora:',
          '  workflowEnvironments:',
          '    - { workflow: staging, environment: staging }',
          '    - { branch: ^release/, environment: production }',
        ].join('\n'),
      );
      const { handleAll, record } = await start({ config });
      const run = {
        name: 'Deploy staging',
        branch: 'master',
        sha: sha('7'),
        attempt: 1,
        conclusion: 'success',
      };

      // Act
      await handleAll([
        workflowRunCompleted({
          ...run,
          runId: 81,
          startedAt: '2026-11-26T09:00:00Z',
          updatedAt: '2026-11-26T09:05:00Z',
        }),
        workflowRunCompleted({
          ...run,
          runId: 82,
          name: 'Deploy',
          branch: 'release/1.2',
          startedAt: '2026-11-26T10:00:00Z',
          updatedAt: '2026-11-26T10:05:00Z',
        }),
      ]);

      // Assess
      expect((await record('staging', 'run-81')).production).toBe(false);
      expect((await record('production', 'run-82')).production).toBe(true);
    });
  });

  describe('environments', () => {
    it('keeps two environments of one repository independent', async () => {
      // Prepare
      const { writer, handleAll, history } = await start();
      const pushes = [
        ...commitsToMaster(
          '9',
          ['a', '2026-11-23T08:00:00Z'],
          ['b', '2026-11-24T08:00:00Z'],
          ['c', '2026-11-25T08:00:00Z'],
        ),
      ];

      // Act
      await handleAll([
        ...pushes,
        ...deployment(
          { id: 501, sha: sha('a'), createdAt: '2026-11-23T09:00:00Z' },
          { statusId: 5011, state: 'success', at: '2026-11-23T10:00:00Z' },
        ),
        ...deployment(
          { id: 502, sha: sha('b'), environment: 'staging', createdAt: '2026-11-24T09:00:00Z' },
          { statusId: 5021, state: 'success', at: '2026-11-24T10:00:00Z' },
        ),
        ...deployment(
          { id: 503, sha: sha('c'), environment: 'staging', createdAt: '2026-11-25T08:30:00Z' },
          { statusId: 5031, state: 'success', at: '2026-11-25T09:00:00Z' },
        ),
        ...deployment(
          { id: 504, sha: sha('c'), createdAt: '2026-11-26T09:00:00Z' },
          { statusId: 5041, state: 'success', at: '2026-11-26T10:00:00Z' },
        ),
      ]);

      // Assess
      const staging = ledgerEntries(await history.ledger({ repository: REPOSITORY, environment: 'staging' }));
      const production = ledgerEntries(await history.ledger(PRODUCTION));
      // Staging: 502 is its first; 503 shipped c: 09:00 - 08:00 = 3600 s.
      expect(staging.map((entry) => entry.leadTimeSeconds)).toEqual([[], [3_600]]);
      // Production: 504 follows 501 (a), shipping b (2 d 2 h = 180000 s) and c (1 d 2 h = 93600 s).
      expect(production.map((entry) => entry.leadTimeSeconds)).toEqual([[], [180_000, 93_600]]);
      const week = (environment: string) => ({ repository: REPOSITORY, environment, window: '7d' });
      expect(writer.latest('dora_deployments', { ...week('staging'), status: 'success' })).toBe(2);
      expect(writer.latest('dora_deployments', { ...week('production'), status: 'success' })).toBe(2);
      expect(
        writer.latest('dora_lead_time_for_changes_seconds', { ...week('staging'), quantile: '0.9' }),
      ).toBe(3_600);
      // Production p50: rank 1 of [93600, 180000].
      expect(
        writer.latest('dora_lead_time_for_changes_seconds', { ...week('production'), quantile: '0.5' }),
      ).toBe(93_600);
    });
  });

  describe('incidents', () => {
    /** Two production deployments, a staging one just before the incidents, and six incidents. */
    function incidentScenario() {
      const deployments = [
        ...deployment(
          { id: 801, sha: sha('a'), createdAt: '2026-11-25T09:00:00Z' },
          { statusId: 8011, state: 'success', at: '2026-11-25T10:00:00Z' },
        ),
        ...deployment(
          { id: 802, sha: sha('b'), createdAt: '2026-11-26T09:00:00Z' },
          { statusId: 8021, state: 'success', at: '2026-11-26T10:00:00Z' },
        ),
        ...deployment(
          { id: 803, sha: sha('c'), environment: 'staging', createdAt: '2026-11-26T10:15:00Z' },
          { statusId: 8031, state: 'success', at: '2026-11-26T10:20:00Z' },
        ),
      ];
      const attributed = {
        id: 'inc-attributed',
        services: ['shop'],
        severity: 'critical',
        startedAt: '2026-11-26T10:30:00Z',
      };
      const incidents = [
        // 30 min after 802: counted against it; resolved 45 min later.
        incidentOpened(attributed),
        incidentResolved({ ...attributed, resolvedAt: '2026-11-26T11:15:00Z' }),
        // Exactly the 1 h window after 802: counted, but 802 counts once.
        incidentOpened({
          id: 'inc-edge',
          services: ['shop'],
          severity: 'critical',
          startedAt: '2026-11-26T11:00:00Z',
        }),
        // 1 h 1 s after 802: outside the window.
        incidentOpened({
          id: 'inc-late',
          services: ['shop'],
          severity: 'critical',
          startedAt: '2026-11-26T11:00:01Z',
        }),
        // 2 h after 801, the latest before it: outside the window.
        incidentOpened({
          id: 'inc-outside',
          services: ['shop'],
          severity: 'critical',
          startedAt: '2026-11-25T12:00:00Z',
        }),
        // Not critical.
        incidentOpened({
          id: 'inc-warning',
          services: ['shop'],
          severity: 'warning',
          startedAt: '2026-11-26T10:20:00Z',
        }),
        // A service toilless.yaml does not map to any repository.
        incidentOpened({
          id: 'inc-unmapped',
          services: ['legacy'],
          severity: 'critical',
          startedAt: '2026-11-26T10:10:00Z',
        }),
      ];
      return { deployments, incidents };
    }

    it('counts a critical incident against the latest production deployment within the window', async () => {
      // Prepare
      const { writer, handleAll, record } = await start();
      const { deployments, incidents } = incidentScenario();

      // Act
      await handleAll([...deployments, ...incidents]);

      // Assess
      expect((await record('production', '802')).attributedIncidents).toEqual(['inc-attributed', 'inc-edge']);
      expect((await record('production', '801')).attributedIncidents).toEqual([]);
      expect((await record('staging', '803')).attributedIncidents).toEqual([]);
      const labels = { repository: REPOSITORY, environment: 'production', window: '7d' };
      // 2 deployments, 1 followed by an incident: 1 / 2 = 0.5, within 45-60%: medium.
      expect(writer.latest('dora_change_failure_rate', labels)).toBe(0.5);
      expect(writer.latest('dora_performance_level', { ...labels, metric: 'change_failure_rate' })).toBe(2);
      // The resolved attributed incident: 10:30 -> 11:15 = 2700 s; the unresolved one is no recovery yet.
      expect(writer.latest('dora_time_to_restore_seconds', { ...labels, quantile: '0.5' })).toBe(2_700);
      expect(writer.latest('dora_time_to_restore_seconds', { ...labels, quantile: '0.9' })).toBe(2_700);
    });

    it('attributes the same way when the deployments arrive after the incidents', async () => {
      // Prepare
      const first = await start();
      const second = await start();
      const { deployments, incidents } = incidentScenario();

      // Act
      await first.handleAll([...deployments, ...incidents]);
      await second.handleAll([...incidents, ...deployments]);

      // Assess
      const metrics = async (h: DoraHarness) => readCurrentMetrics(h.history, CONFIG, NOW);
      expect((await second.record('production', '802')).attributedIncidents).toEqual([
        'inc-attributed',
        'inc-edge',
      ]);
      expect(await metrics(second)).toEqual(await metrics(first));
    });

    it('moves an incident to a production deployment that arrives late and finished closer to it', async () => {
      // Prepare
      const { handleAll, record } = await start();
      await handleAll(incidentAfterDeployment('inc-1', 901).events);
      const before = (await record('production', '901')).attributedIncidents;

      // Act
      await handleAll(
        deployment(
          { id: 902, sha: sha('b'), createdAt: '2026-11-26T10:05:00Z' },
          { statusId: 9021, state: 'success', at: '2026-11-26T10:20:00Z' },
        ),
      );

      // Assess
      expect(before).toEqual(['inc-1']);
      expect((await record('production', '901')).attributedIncidents).toEqual([]);
      expect((await record('production', '902')).attributedIncidents).toEqual(['inc-1']);
    });
  });

  describe('idempotency', () => {
    it('stores one record and counts once when an event is delivered three times, two concurrently', async () => {
      // Prepare
      const { worker, bus, writer, store, history, handleAll } = await start();
      const facts = { id: 1001, sha: sha('a'), createdAt: '2026-11-26T09:00:00Z' };
      const push = pushed({
        before: sha('9'),
        after: sha('a'),
        commits: [{ sha: sha('a'), authoredAt: '2026-11-26T08:00:00Z' }],
      });
      const status = deploymentStatus(facts, {
        statusId: 10_001,
        state: 'success',
        at: '2026-11-26T10:00:00Z',
      });
      await handleAll([push, deploymentCreated(facts)]);

      // Act
      await Promise.all([worker.handle(status), worker.handle(status), worker.handle(push)]);
      const key = deploymentKey(REPOSITORY, 'production', '1001');
      const afterTwo = (await store.get(key))?.body.toString('utf8');
      const ledgerAfterTwo = (await store.get(ledgerKey(REPOSITORY, 'production')))?.body.toString('utf8');
      const writesAfterTwo = writer.writes.length;
      await worker.handle(status);
      await worker.handle(push);

      // Assess
      const stored = JSON.parse(afterTwo as string) as DeploymentRecord;
      expect(stored.statuses).toHaveLength(1);
      expect((await store.get(key))?.body.toString('utf8')).toBe(afterTwo);
      expect((await store.get(ledgerKey(REPOSITORY, 'production')))?.body.toString('utf8')).toBe(
        ledgerAfterTwo,
      );
      expect(ledgerEntries(await history.ledger(PRODUCTION))).toHaveLength(1);
      expect(recorded(bus.published)).toHaveLength(1);
      // The third delivery changed nothing, so nothing was recomputed or written.
      expect(writer.writes.length).toBe(writesAfterTwo);
      const labels = { repository: REPOSITORY, environment: 'production', window: '7d', status: 'success' };
      expect(writer.latest('dora_deployments', labels)).toBe(1);
    });

    it('treats a redelivered incident as already known', async () => {
      // Prepare
      const { handleAll, writer, store } = await start();
      const { incident, events } = incidentAfterDeployment('inc-9', 1101);
      await handleAll(events);
      const writes = writer.writes.length;
      const bytes = (await store.get('dora/incidents/inc-9.json'))?.body.toString('utf8');

      // Act
      await handleAll([incidentOpened(incident), incidentOpened(incident)]);

      // Assess
      expect(writer.writes.length).toBe(writes);
      expect((await store.get('dora/incidents/inc-9.json'))?.body.toString('utf8')).toBe(bytes);
    });
  });

  describe('event details', () => {
    it('refuses a detail without the fields it needs, and stores nothing', async () => {
      // Prepare
      const { worker, store } = await start();
      const valid = deploymentStatus(
        { id: 1501, sha: sha('a'), createdAt: '2026-11-26T09:00:00Z' },
        { statusId: 15_011, state: 'success', at: '2026-11-26T10:00:00Z' },
      );
      const { statusId: _dropped, ...detail } = valid.detail;
      const malformed = { ...valid, detail } as unknown as ToillessEvent;

      // Act
      const outcome = await worker.handle(malformed).then(
        () => 'handled',
        (error: unknown) => error,
      );

      // Assess
      expect(outcome).toBeInstanceOf(ValidationError);
      expect((outcome as ValidationError).message).toMatch(/statusId/);
      const keys: string[] = [];
      for await (const key of store.list('')) keys.push(key);
      expect(keys).toEqual([]);
    });

    it('ignores events it does not use', async () => {
      // Prepare
      const { worker, store } = await start();

      // Act
      await worker.handle({
        id: 'report:2026-W48',
        type: 'ReportPublished',
        time: NOW.toISOString(),
        detail: {
          week: '2026-W48',
          key: 'reports/2026-W48/report.pdf',
          from: NOW.toISOString(),
          to: NOW.toISOString(),
        },
      });

      // Assess
      const keys: string[] = [];
      for await (const key of store.list('')) keys.push(key);
      expect(keys).toEqual([]);
    });
  });

  describe('metrics writing', () => {
    it('keeps everything when the writer fails, and the next computation writes it', async () => {
      // Prepare
      const { worker, writer, logs, record } = await start();
      writer.failNext(1);

      // Act
      await worker.handle(
        deploymentStatus(
          { id: 1201, sha: sha('a'), createdAt: '2026-11-26T09:00:00Z' },
          { statusId: 12_011, state: 'success', at: '2026-11-26T10:00:00Z' },
        ),
      );
      const writesAfterFailure = writer.writes.length;
      await worker.recomputeAll();

      // Assess
      expect(writesAfterFailure).toBe(0);
      expect((await record('production', '1201')).outcome).toBe('success');
      expect(logs.some((line) => line.level === 'warn' && String(line.msg).includes('not written'))).toBe(
        true,
      );
      const labels = { repository: REPOSITORY, environment: 'production', window: '7d', status: 'success' };
      expect(writer.latest('dora_deployments', labels)).toBe(1);
    });

    it('rolls the windows forward on recomputeAll and writes no rate without deployments', async () => {
      // Prepare
      const { worker, writer, handleAll, setNow } = await start();
      await handleAll(
        deployment(
          { id: 1301, sha: sha('a'), createdAt: '2026-11-26T09:00:00Z' },
          { statusId: 13_011, state: 'failure', at: '2026-11-26T10:00:00Z' },
        ),
      );

      // Act: 8 days later the failure has left the 7-day window.
      setNow(new Date('2026-12-04T12:00:00Z'));
      await worker.recomputeAll();

      // Assess
      expect(writer.lastWriteKeys()).toEqual([
        `dora_deployment_frequency_per_day{environment=production,repository=${REPOSITORY},window=7d}`,
        `dora_deployments{environment=production,repository=${REPOSITORY},status=success,window=7d}`,
        `dora_deployments{environment=production,repository=${REPOSITORY},status=failure,window=7d}`,
        `dora_performance_level{environment=production,metric=deployment_frequency,repository=${REPOSITORY},window=7d}`,
        `dora_deployment_frequency_per_day{environment=production,repository=${REPOSITORY},window=30d}`,
        `dora_deployments{environment=production,repository=${REPOSITORY},status=success,window=30d}`,
        `dora_deployments{environment=production,repository=${REPOSITORY},status=failure,window=30d}`,
        `dora_change_failure_rate{environment=production,repository=${REPOSITORY},window=30d}`,
        `dora_performance_level{environment=production,metric=deployment_frequency,repository=${REPOSITORY},window=30d}`,
        `dora_performance_level{environment=production,metric=change_failure_rate,repository=${REPOSITORY},window=30d}`,
      ]);
      const week = { repository: REPOSITORY, environment: 'production', window: '7d' };
      expect(writer.latest('dora_deployments', { ...week, status: 'failure' })).toBe(0);
      expect(writer.latest('dora_change_failure_rate', { ...week, window: '30d' })).toBe(1);
    });
  });

  describe('the ledger', () => {
    it('is rebuilt byte for byte from the deployment records', async () => {
      // Prepare
      const { handleAll, store, history } = await start();
      const events = [
        ...squashMergeHistory(),
        ...deployment(
          { id: 101, sha: sha('a'), createdAt: '2026-11-20T09:55:00Z' },
          { statusId: 1001, state: 'success', at: '2026-11-20T10:00:00Z' },
        ),
        ...deployment(
          { id: 102, sha: sha('b'), createdAt: '2026-11-21T12:55:00Z' },
          { statusId: 1002, state: 'failure', at: '2026-11-21T13:00:00Z' },
          { statusId: 1003, state: 'success', at: '2026-11-21T13:30:00Z' },
        ),
        incidentOpened({
          id: 'inc-2',
          services: ['shop'],
          severity: 'critical',
          startedAt: '2026-11-21T14:00:00Z',
        }),
      ];
      await handleAll(events);
      const key = ledgerKey(REPOSITORY, 'production');
      const original = (await store.get(key))?.body.toString('utf8');

      // Act
      await store.delete(key);
      await history.rebuildLedger(PRODUCTION);

      // Assess
      expect((await store.get(key))?.body.toString('utf8')).toBe(original);
      expect(
        ledgerEntries(await history.ledger(PRODUCTION)).map((entry) => entry.attributedIncidents),
      ).toEqual([[], ['inc-2']]);
    });

    it('is rebuilt when an event finds it missing', async () => {
      // Prepare
      const { handleAll, store, history } = await start();
      await handleAll(
        deployment(
          { id: 1401, sha: sha('a'), createdAt: '2026-11-26T09:00:00Z' },
          { statusId: 14_011, state: 'success', at: '2026-11-26T10:00:00Z' },
        ),
      );
      await store.delete(ledgerKey(REPOSITORY, 'production'));

      // Act
      await handleAll(
        deployment(
          { id: 1402, sha: sha('a'), createdAt: '2026-11-27T09:00:00Z' },
          { statusId: 14_021, state: 'success', at: '2026-11-27T10:00:00Z' },
        ),
      );

      // Assess
      expect(ledgerEntries(await history.ledger(PRODUCTION)).map((entry) => entry.id)).toEqual([
        '1401',
        '1402',
      ]);
    });
  });
});
