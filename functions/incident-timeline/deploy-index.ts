/**
 * The deployments an incident timeline looks at: one small object per deployment and mapped service,
 * written when the DORA worker announces a finished deployment (DeploymentRecorded).
 *
 *   incidents/deploys/<service>/<finishedAt as yyyy-mm-ddThh-mm-ssZ>-<12 hex of sha256(repo/env/id/status)>.json
 *
 * Keys of one service sort chronologically, and a UTC day is a key prefix, so the timeline lists only
 * the days its window covers instead of a service's whole history.
 */
import { createHash } from 'node:crypto';
import { ValidationError } from '../shared/errors.js';
import type { DeploymentRecordedDetail, ToillessEvent } from '../shared/events/types.js';
import type { ObjectStore } from '../shared/ports/object-store.js';

export const DEPLOY_INDEX_PREFIX = 'incidents/deploys/';

/** Service names as toilless.yaml allows them: safe as one key segment. */
const SERVICE_NAME = /^[a-z0-9][a-z0-9-]*$/;
const KEY_TIME = /^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})Z-[0-9a-f]{12}\.json$/;

export interface RecordedDeployment {
  /** Keys this call created. */
  readonly written: readonly string[];
  /** Keys that already existed (a redelivered event): left as they were. */
  readonly existing: readonly string[];
  /** Services that cannot be a key segment (not lower-case kebab-case), with nothing written for them. */
  readonly skipped: readonly string[];
}

/**
 * Indexes a DeploymentRecorded event under each of its services. Idempotent: the key depends only on
 * the deployment (repository, environment, id, status and finish time) and is written create-if-absent.
 */
export async function recordDeployment(
  store: ObjectStore,
  event: ToillessEvent<'DeploymentRecorded'>,
): Promise<RecordedDeployment> {
  const detail = event.detail;
  const written: string[] = [];
  const existing: string[] = [];
  const skipped: string[] = [];
  const body = `${JSON.stringify(detail)}\n`;
  for (const service of new Set(detail.services)) {
    if (!SERVICE_NAME.test(service)) {
      skipped.push(service);
      continue;
    }
    const key = deployIndexKey(service, detail);
    const created = await store.putIfAbsent(key, body, { contentType: 'application/json' });
    (created ? written : existing).push(key);
  }
  return { written, existing, skipped };
}

/** The index key of one deployment of one service. */
export function deployIndexKey(
  service: string,
  detail: Pick<
    DeploymentRecordedDetail,
    'repository' | 'environment' | 'deploymentId' | 'status' | 'finishedAt'
  >,
): string {
  const finished = Date.parse(detail.finishedAt);
  if (!Number.isFinite(finished)) {
    const message = `finishedAt ${JSON.stringify(detail.finishedAt)} is not an ISO 8601 time`;
    throw new ValidationError(`cannot index the deployment: ${message}`, [{ path: 'finishedAt', message }]);
  }
  const digest = createHash('sha256')
    .update(`${detail.repository}/${detail.environment}/${detail.deploymentId}/${detail.status}`)
    .digest('hex')
    .slice(0, 12);
  return `${servicePrefix(service)}${keyTime(new Date(finished))}-${digest}.json`;
}

/** The prefix of the keys of deployments of `service` that finished on the UTC day of `day`. */
export function deployIndexDayPrefix(service: string, day: Date): string {
  return `${servicePrefix(service)}${day.toISOString().slice(0, 10)}T`;
}

/** When the deployment of an index key finished (to the second), or undefined for a foreign key. */
export function finishedAtOfKey(key: string): Date | undefined {
  const name = key.slice(key.lastIndexOf('/') + 1);
  const match = KEY_TIME.exec(name);
  if (!match) return undefined;
  const at = Date.parse(`${match[1]}T${match[2]}:${match[3]}:${match[4]}Z`);
  return Number.isFinite(at) ? new Date(at) : undefined;
}

function servicePrefix(service: string): string {
  if (!SERVICE_NAME.test(service)) {
    const message = `service ${JSON.stringify(service)} is not lower-case kebab-case`;
    throw new ValidationError(`cannot index deployments: ${message}`, [{ path: 'service', message }]);
  }
  return `${DEPLOY_INDEX_PREFIX}${service}/`;
}

/** yyyy-mm-ddThh-mm-ssZ: sorts like the time and holds no character a key segment refuses. */
function keyTime(at: Date): string {
  return `${at.toISOString().slice(0, 19).replace(/:/g, '-')}Z`;
}
