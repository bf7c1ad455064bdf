/**
 * DeploymentRecorded: announced once per terminal outcome of a deployment (a failed deployment that is
 * retried to success is announced twice, once per outcome), with an id that names the outcome so that
 * consumers can deduplicate.
 */
import type { ToillessEvent } from '../shared/events/types.js';
import type { ToillessConfig } from '../shared/stack-config.js';
import { servicesOfRepository } from './metrics/mapping.js';
import type { DeploymentRecord } from './model.js';

/** The event the record's outcome calls for; undefined while it is pending or once that outcome was announced. */
export function deploymentRecordedEvent(
  config: ToillessConfig,
  record: DeploymentRecord,
): ToillessEvent<'DeploymentRecorded'> | undefined {
  if (record.outcome === 'pending' || record.finishedAt === undefined) return undefined;
  if (record.announced.includes(record.outcome)) return undefined;
  const outcome = record.outcome;
  return {
    id: `deployment:${record.repository}:${record.environment}:${record.deploymentId}:${outcome}`,
    type: 'DeploymentRecorded',
    time: record.finishedAt,
    detail: {
      repository: record.repository,
      environment: record.environment,
      deploymentId: record.deploymentId,
      sha: record.sha,
      status: outcome,
      production: record.production,
      finishedAt: record.finishedAt,
      services: servicesOfRepository(config, record.repository),
    },
  };
}

/** Whether a deployment gets a Grafana annotation: successful production deployments only. */
export function isAnnotatedDeployment(record: DeploymentRecord): boolean {
  return record.outcome === 'success' && record.production;
}
