/**
 * The dora-metrics worker: GitHub deployment, workflow run, push and pull request events and incident
 * events go into the store; the affected repositories/environments are recomputed and their metrics
 * written to Prometheus; finished deployments are announced as DeploymentRecorded.
 *
 * Event details are checked on arrival (event-details.ts): a malformed one throws ValidationError, which
 * the bus retries and then dead-letters. The store is the source of truth. A metrics write that fails is logged and left to the next
 * computation (the next event, or the hourly recomputeAll that also rolls the windows forward).
 */
import type { DeploymentRecordedDetail, ToillessEvent } from '../shared/events/types.js';
import type { Logger } from '../shared/log.js';
import type { Clock } from '../shared/ports/clock.js';
import type { EventBus } from '../shared/ports/event-bus.js';
import type { ObjectStore } from '../shared/ports/object-store.js';
import type { ToillessConfig } from '../shared/stack-config.js';
import { checkedDetail } from './event-details.js';
import {
  changeOfDeployment,
  changeOfDeploymentStatus,
  changeOfWorkflowRun,
  type DeploymentChange,
} from './metrics/deployment-record.js';
import { isProductionEnvironment, repositoriesOfServices, servicesOfRepository } from './metrics/mapping.js';
import { doraTimeSeries } from './metrics/metrics.js';
import type { MetricsWriter } from './metrics-writer.js';
import type { DeploymentRecord, DeploymentTarget, TerminalOutcome } from './model.js';
import { recomputeDoraMetrics } from './recompute.js';
import { pushRecordOf } from './store/change-records.js';
import type { CommitSource } from './store/commit-source.js';
import { DoraHistory } from './store/dora-history.js';

export interface DoraMetricsDependencies {
  readonly store: ObjectStore;
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly logger: Logger;
  /** stack-config/toilless.yaml: `dora` and the services' `repositories`. */
  readonly config: ToillessConfig;
  readonly writer: MetricsWriter;
  /** Which commits a deployment shipped (stored pushes, the GitHub compare API). */
  readonly commits: CommitSource;
  /** Called once for each successful production deployment, e.g. to add a Grafana annotation; none without Grafana. */
  readonly annotate?: ((deployment: DeploymentRecord) => Promise<void>) | undefined;
  /**
   * When work on a merged pull request started (its first commit's author time), e.g. from the GitHub
   * API: after a squash merge the base branch only has the squash commit; none without GitHub. @default not looked up
   */
  readonly pullRequestFirstCommit?:
    | ((repository: string, pullNumber: number) => Promise<string | undefined>)
    | undefined;
}

export interface DoraMetricsWorker {
  /** Handles one event; events of other types are ignored. Throws when the store fails (the bus retries). */
  handle(event: ToillessEvent): Promise<void>;
  /** Recomputes and writes every repository/environment: run hourly so the windows roll forward. */
  recomputeAll(): Promise<void>;
}

export function createDoraMetricsWorker(deps: DoraMetricsDependencies): DoraMetricsWorker {
  const history = new DoraHistory(deps);
  const { config, logger } = deps;

  async function recomputeAndWrite(targets: readonly DeploymentTarget[]): Promise<void> {
    if (targets.length === 0) return;
    const now = deps.clock.now();
    const metrics = await recomputeDoraMetrics(history, config, targets, now, { storeAttributions: true });
    const series = doraTimeSeries(metrics, now.getTime());
    try {
      await deps.writer.write(series);
    } catch (error) {
      logger.warn(
        { err: error, targets: targets.length, series: series.length },
        'DORA metrics not written: the store keeps them and the next computation writes them',
      );
    }
  }

  /** The production ledgers of every repository that shares a service with `repository`, itself included. */
  async function productionTargetsSharingServices(repository: string): Promise<DeploymentTarget[]> {
    const repositories = new Set(
      repositoriesOfServices(config, servicesOfRepository(config, repository)).map((name) =>
        name.toLowerCase(),
      ),
    );
    repositories.add(repository.toLowerCase());
    return (await history.targets()).filter(
      (target) =>
        repositories.has(target.repository.toLowerCase()) &&
        isProductionEnvironment(config, target.environment),
    );
  }

  async function announce(record: DeploymentRecord): Promise<void> {
    if (record.outcome === 'pending' || record.finishedAt === undefined) return;
    if (record.announced.includes(record.outcome)) return;
    const outcome: TerminalOutcome = record.outcome;
    if (!(await history.claimAnnouncement(record, outcome))) return;
    const detail: DeploymentRecordedDetail = {
      repository: record.repository,
      environment: record.environment,
      deploymentId: record.deploymentId,
      sha: record.sha,
      status: outcome,
      production: record.production,
      finishedAt: record.finishedAt,
      services: servicesOfRepository(config, record.repository),
    };
    try {
      await deps.bus.publish([
        {
          id: `deployment:${record.repository}:${record.environment}:${record.deploymentId}:${outcome}`,
          type: 'DeploymentRecorded',
          time: record.finishedAt,
          detail,
        },
      ]);
    } catch (error) {
      await history.releaseAnnouncement(record, outcome);
      throw error;
    }
    if (outcome === 'success' && record.production && deps.annotate !== undefined) {
      try {
        await deps.annotate(record);
      } catch (error) {
        logger.warn(
          { err: error, repository: record.repository, deploymentId: record.deploymentId },
          'deployment annotation failed: the deployment is recorded without it',
        );
      }
    }
  }

  async function onDeploymentChange(change: DeploymentChange): Promise<void> {
    const update = await history.recordDeploymentChange(change);
    if (update.ledgerChanged) {
      const target = { repository: change.repository, environment: change.environment };
      // A production deployment can take an incident from, or give one back to, a sibling repository.
      const siblings = update.record.production
        ? await productionTargetsSharingServices(change.repository)
        : [];
      await recomputeAndWrite([target, ...siblings]);
    }
    await announce(update.record);
  }

  async function handle(event: ToillessEvent): Promise<void> {
    const checked = checkedDetail(event);
    if (checked === undefined) return;
    switch (checked.type) {
      case 'GitHubDeployment':
        return onDeploymentChange(changeOfDeployment(checked.detail));
      case 'GitHubDeploymentStatus':
        return onDeploymentChange(changeOfDeploymentStatus(checked.detail));
      case 'GitHubWorkflowRun': {
        const run = checked.detail;
        const change = changeOfWorkflowRun(config, run);
        if (change === undefined) {
          logger.debug(
            { runId: run.runId, name: run.name, branch: run.headBranch, conclusion: run.conclusion },
            'workflow run is no deployment: its name, branch or conclusion is not mapped',
          );
          return;
        }
        return onDeploymentChange(change);
      }
      case 'GitHubPush': {
        const push = checked.detail;
        if (!(await history.recordPush(pushRecordOf(push)))) return;
        // A late push can resolve the lead time of a deployment of its head.
        const resolved: DeploymentTarget[] = [];
        for (const target of await history.targets(push.repository)) {
          if (await history.reconcileLeadTimes(target, push.after)) resolved.push(target);
        }
        return recomputeAndWrite(resolved);
      }
      case 'GitHubPullRequest': {
        const pull = checked.detail;
        const firstCommitAt =
          pull.merged && deps.pullRequestFirstCommit
            ? await deps.pullRequestFirstCommit(pull.repository, pull.number)
            : undefined;
        await history.recordPullRequest(pull, firstCommitAt);
        return;
      }
      case 'IncidentOpened':
      case 'IncidentResolved': {
        const stored = await history.recordIncident(checked.detail);
        if (!stored.changed) return;
        const repositories = new Set(
          repositoriesOfServices(config, stored.record.services).map((name) => name.toLowerCase()),
        );
        const targets = (await history.targets()).filter(
          (target) =>
            repositories.has(target.repository.toLowerCase()) &&
            isProductionEnvironment(config, target.environment),
        );
        return recomputeAndWrite(targets);
      }
    }
  }

  return {
    handle,
    async recomputeAll() {
      await recomputeAndWrite(await history.targets());
    },
  };
}
