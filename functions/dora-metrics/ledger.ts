/**
 * The ledger of one repository/environment: the compact facts of its finished deployments, kept in
 * finish order and maintained from the deployment records, so a recomputation reads one object.
 */
import {
  type DeploymentLedger,
  type DeploymentRecord,
  type DeploymentTarget,
  LEDGER_SCHEMA_VERSION,
  type LeadTimeState,
  type LedgerEntry,
} from './model.js';

export function emptyLedger(target: DeploymentTarget, production: boolean): DeploymentLedger {
  return {
    schemaVersion: LEDGER_SCHEMA_VERSION,
    repository: target.repository,
    environment: target.environment,
    production,
    deployments: [],
  };
}

/** The ledger entry of a record; undefined while the deployment has not finished. */
export function ledgerEntryOf(record: DeploymentRecord): LedgerEntry | undefined {
  if (record.outcome === 'pending' || record.finishedAt === undefined) return undefined;
  const facts = record.leadTime;
  const state: LeadTimeState =
    facts === undefined
      ? 'pending'
      : facts.firstDeployment
        ? 'first-deployment'
        : facts.unresolved
          ? 'unresolved'
          : 'counted';
  return {
    id: record.deploymentId,
    sha: record.sha,
    outcome: record.outcome,
    finishedAt: record.finishedAt,
    leadTime: state,
    ...(facts?.previousSha === undefined ? {} : { previousSha: facts.previousSha }),
    leadTimeSeconds: state === 'counted' ? leadTimeSecondsOf(record) : [],
    attributedIncidents: record.attributedIncidents,
  };
}

/**
 * Per deployed commit: the deployment's finish minus the commit's author time (or its squash-merged pull
 * request's first commit), in whole seconds. A commit authored after the finish (clock skew) counts 0.
 */
export function leadTimeSecondsOf(record: DeploymentRecord): number[] {
  if (record.finishedAt === undefined || record.leadTime === undefined) return [];
  const finished = Date.parse(record.finishedAt);
  return record.leadTime.commits.map((commit) =>
    Math.max(0, Math.round((finished - Date.parse(commit.firstCommitAt ?? commit.authoredAt)) / 1000)),
  );
}

/** The ledger with the deployment's entry replaced, added, or (entry undefined) removed; finish order kept. */
export function withLedgerEntry(
  ledger: DeploymentLedger,
  deploymentId: string,
  entry: LedgerEntry | undefined,
  production: boolean,
): DeploymentLedger {
  const deployments = ledger.deployments.filter((existing) => existing.id !== deploymentId);
  if (entry !== undefined) deployments.splice(insertionIndex(deployments, entry), 0, entry);
  return { ...ledger, production, deployments };
}

/** By finish time, then id: the order previous-deployment lookups and recoveries rely on. */
export function compareLedgerEntries(a: LedgerEntry, b: LedgerEntry): number {
  return Date.parse(a.finishedAt) - Date.parse(b.finishedAt) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function insertionIndex(entries: readonly LedgerEntry[], entry: LedgerEntry): number {
  let low = 0;
  let high = entries.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareLedgerEntries(entries[middle] as LedgerEntry, entry) <= 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** A successful deployment whose lead time must be (re)computed, and the success before it. */
export interface LeadTimeWork {
  readonly entry: LedgerEntry;
  readonly previous?: LedgerEntry;
}

/**
 * Successful deployments whose lead-time facts do not match the success before them: new ones, and those
 * whose predecessor changed because a deployment arrived late or changed outcome. `retrySha` also selects
 * unresolved ones deployed at that sha (a push for it just arrived).
 */
export function leadTimeWork(ledger: DeploymentLedger, retrySha?: string): LeadTimeWork[] {
  const work: LeadTimeWork[] = [];
  let previous: LedgerEntry | undefined;
  for (const entry of ledger.deployments) {
    if (entry.outcome !== 'success') continue;
    const stale =
      entry.leadTime === 'pending' ||
      (previous === undefined
        ? entry.leadTime !== 'first-deployment'
        : entry.leadTime === 'first-deployment' || entry.previousSha !== previous.sha) ||
      (entry.leadTime === 'unresolved' && entry.sha === retrySha);
    if (stale) work.push({ entry, ...(previous === undefined ? {} : { previous }) });
    previous = entry;
  }
  return work;
}
