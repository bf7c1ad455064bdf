/**
 * The DORA worker's store keys (part of its interface: backfill and `dora show` read them too).
 * Environment names and ids are URL-encoded as key segments, so a name holding `/` stays one segment;
 * ordinary names (production, staging, 123) are unchanged.
 */
import { createHash } from 'node:crypto';
import { ValidationError } from '../../shared/errors.js';
import type { DeploymentTarget } from '../model.js';

const REPOSITORY = /^([\w.-]+)\/([\w.-]+)$/;

function segment(value: string): string {
  return encodeURIComponent(value);
}

/** `owner/name` as two key segments; throws ValidationError for anything else. */
export function repositorySegments(repository: string): string {
  const match = REPOSITORY.exec(repository);
  if (!match || match[1] === '.' || match[1] === '..' || match[2] === '.' || match[2] === '..') {
    throw new ValidationError(`repository ${JSON.stringify(repository)} is not owner/name`, [
      { path: 'repository', message: 'expected owner/name' },
    ]);
  }
  return `${match[1]}/${match[2]}`;
}

/** `deployments/<owner>/<repo>/<environment>/<deployment-id>.json` */
export function deploymentKey(repository: string, environment: string, deploymentId: string): string {
  return `${deploymentPrefix(repository, environment)}${segment(deploymentId)}.json`;
}

/** The folder of one repository/environment's deployment records (ends with `/`). */
export function deploymentPrefix(repository: string, environment: string): string {
  return `deployments/${repositorySegments(repository)}/${segment(environment)}/`;
}

/** `changes/<owner>/<repo>/pushes/<after-sha>.json` */
export function pushKey(repository: string, afterSha: string): string {
  return `changes/${repositorySegments(repository)}/pushes/${segment(afterSha)}.json`;
}

/** `changes/<owner>/<repo>/pulls/<number>.json` */
export function pullRequestKey(repository: string, number: number): string {
  return `changes/${repositorySegments(repository)}/pulls/${number}.json`;
}

/** `changes/<owner>/<repo>/merge-commits/<sha>.json`: which pull request a merge commit closed. */
export function mergeCommitKey(repository: string, sha: string): string {
  return `changes/${repositorySegments(repository)}/merge-commits/${segment(sha)}.json`;
}

/** `dora/incidents/<incident-id>.json` */
export function incidentKey(incidentId: string): string {
  return `dora/incidents/${segment(incidentId)}.json`;
}

/** `dora/incident-ledger.json`: the whole-file ledger of earlier versions, read once to migrate it. */
export const INCIDENT_LEDGER_KEY = 'dora/incident-ledger.json';

const INCIDENT_DAYS_PREFIX = 'dora/incidents-by-day/';

/**
 * `dora/incidents-by-day/<yyyy-mm-dd>/<service>/<incident-id>_<startedAt>_<resolvedAt or "open">`: a
 * marker of a critical incident's state under one of its days, its times in the name so that a listing
 * of the day answers without reading. An id longer than 150 characters once URL-encoded is hashed in the
 * name (file names are limited to 255 bytes); the marker's body always holds the id.
 */
export function incidentDayKey(
  day: string,
  service: string,
  incident: { readonly id: string; readonly startedAt: string; readonly resolvedAt?: string },
): string {
  const encoded = segment(incident.id);
  const id =
    encoded.length <= 150 ? encoded : `%hsha256-${createHash('sha256').update(incident.id).digest('hex')}`;
  const resolved = incident.resolvedAt === undefined ? 'open' : canonicalTime(incident.resolvedAt);
  return `${INCIDENT_DAYS_PREFIX}${day}/${serviceSegment(service)}/${id}_${canonicalTime(incident.startedAt)}_${resolved}`;
}

/**
 * A service name as one key segment: URL-encoded, or hashed when that is longer than 200 characters
 * (service names come from alert labels). `%h` never comes out of URL-encoding, so the two cannot meet.
 */
export function serviceSegment(service: string): string {
  const encoded = segment(service);
  return encoded.length <= 200 ? encoded : `%hsha256-${createHash('sha256').update(service).digest('hex')}`;
}

/** The prefix of the day markers of a month (`yyyy-mm`), or of all of them. */
export function incidentDaysPrefix(month?: string): string {
  return month === undefined ? INCIDENT_DAYS_PREFIX : `${INCIDENT_DAYS_PREFIX}${month}-`;
}

const TIME = '\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z';
const INCIDENT_DAY_KEY = new RegExp(
  `^dora/incidents-by-day/(\\d{4}-\\d{2}-\\d{2})/([^/]+)/([^/]+)_(${TIME})_(${TIME}|open)$`,
);

/**
 * What a day marker's key says, or undefined for any other key. `incidentId` is undefined when the id
 * was hashed: the marker's body holds it.
 */
export function incidentDayOfKey(key: string):
  | {
      day: string;
      serviceSegment: string;
      incidentId: string | undefined;
      startedAt: string;
      resolvedAt?: string;
    }
  | undefined {
  const match = INCIDENT_DAY_KEY.exec(key);
  if (!match) return undefined;
  const id = match[3] as string;
  try {
    return {
      day: match[1] as string,
      serviceSegment: match[2] as string,
      incidentId: id.startsWith('%h') ? undefined : decodeURIComponent(id),
      startedAt: match[4] as string,
      ...(match[5] === 'open' ? {} : { resolvedAt: match[5] as string }),
    };
  } catch {
    return undefined; // not a segment this module wrote
  }
}

/** The time as toISOString writes it (what event details hold already). */
function canonicalTime(time: string): string {
  return new Date(time).toISOString();
}

export const LEDGER_PREFIX = 'dora/ledger/';

/** `dora/ledger/<owner>/<repo>/<environment>.json` */
export function ledgerKey(repository: string, environment: string): string {
  return `${ledgerPrefix(repository)}${segment(environment)}.json`;
}

/** The folder of one repository's ledgers, or of all of them. */
export function ledgerPrefix(repository?: string): string {
  return repository === undefined ? LEDGER_PREFIX : `${LEDGER_PREFIX}${repositorySegments(repository)}/`;
}

/** The repository and environment of a ledger key, or undefined for any other key. */
export function targetOfLedgerKey(key: string): DeploymentTarget | undefined {
  const match = /^dora\/ledger\/([^/]+)\/([^/]+)\/([^/]+)\.json$/.exec(key);
  if (!match) return undefined;
  return { repository: `${match[1]}/${match[2]}`, environment: decodeURIComponent(match[3] as string) };
}
