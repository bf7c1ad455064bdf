/**
 * The ledger of one repository/environment: the compact facts of its finished deployments, kept in
 * finish order (by time, then id) and maintained from the deployment records, so a recomputation reads
 * one object. Stored as columns (see LedgerColumns); rows are read and written through these functions.
 */
import {
  type DeploymentLedger,
  type DeploymentRecord,
  type DeploymentTarget,
  LEDGER_SCHEMA_VERSION,
  type LeadTimeState,
  type LedgerEntry,
  type TerminalOutcome,
} from '../model.js';

const OUTCOME_LETTERS: Readonly<Record<TerminalOutcome, string>> = { success: 's', failure: 'f' };
const LEAD_TIME_LETTERS: Readonly<Record<LeadTimeState, string>> = {
  counted: 'c',
  'first-deployment': 'f',
  unresolved: 'u',
  pending: 'p',
};
const OUTCOMES: Readonly<Record<string, TerminalOutcome>> = { s: 'success', f: 'failure' };
const LEAD_TIME_STATES: Readonly<Record<string, LeadTimeState>> = {
  c: 'counted',
  f: 'first-deployment',
  u: 'unresolved',
  p: 'pending',
};

/** The letter of a successful deployment in LedgerColumns.outcome. */
export const SUCCESS_LETTER = OUTCOME_LETTERS.success.charCodeAt(0);

export function emptyLedger(target: DeploymentTarget, production: boolean): DeploymentLedger {
  return {
    schemaVersion: LEDGER_SCHEMA_VERSION,
    repository: target.repository,
    environment: target.environment,
    production,
    deployments: {
      id: [],
      sha: [],
      outcome: '',
      finishedAt: [],
      leadTime: '',
      previousSha: [],
      leadTimeSeconds: [],
      attributedIncidents: {},
    },
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
    attributedIncidents: [...record.attributedIncidents].sort(),
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

export function ledgerSize(ledger: DeploymentLedger): number {
  return ledger.deployments.id.length;
}

/** A ledger holding the entries (in any order), e.g. rebuilt from the deployment records. */
export function ledgerOfEntries(
  target: DeploymentTarget,
  production: boolean,
  entries: readonly LedgerEntry[],
): DeploymentLedger {
  const sorted = entries
    .map((entry) => ({ entry, at: isoMs(entry.finishedAt) }))
    .sort((a, b) => a.at - b.at || (a.entry.id < b.entry.id ? -1 : a.entry.id > b.entry.id ? 1 : 0))
    .map(({ entry }) => entry);
  const attributed = sorted.filter((entry) => entry.attributedIncidents.length > 0);
  attributed.sort((a, b) => (a.id < b.id ? -1 : 1));
  return {
    ...emptyLedger(target, production),
    deployments: {
      id: sorted.map((entry) => entry.id),
      sha: sorted.map((entry) => entry.sha),
      outcome: sorted.map((entry) => OUTCOME_LETTERS[entry.outcome]).join(''),
      finishedAt: sorted.map((entry) => entry.finishedAt),
      leadTime: sorted.map((entry) => LEAD_TIME_LETTERS[entry.leadTime]).join(''),
      previousSha: sorted.map((entry) => entry.previousSha ?? ''),
      leadTimeSeconds: sorted.map((entry) => entry.leadTimeSeconds.join(' ')),
      attributedIncidents: Object.fromEntries(
        attributed.map((entry) => [entry.id, [...entry.attributedIncidents].sort()]),
      ),
    },
  };
}

/** Row `index` of the ledger. */
export function ledgerEntryAt(ledger: DeploymentLedger, index: number): LedgerEntry {
  const columns = ledger.deployments;
  const id = columns.id[index] as string;
  const previousSha = columns.previousSha[index] ?? '';
  const seconds = columns.leadTimeSeconds[index] ?? '';
  return {
    id,
    sha: columns.sha[index] as string,
    outcome: OUTCOMES[columns.outcome[index] as string] as TerminalOutcome,
    finishedAt: columns.finishedAt[index] as string,
    leadTime: LEAD_TIME_STATES[columns.leadTime[index] as string] as LeadTimeState,
    ...(previousSha === '' ? {} : { previousSha }),
    leadTimeSeconds: seconds === '' ? [] : seconds.split(' ').map(Number),
    attributedIncidents: columns.attributedIncidents[id] ?? [],
  };
}

/** Every row, in finish order. */
export function ledgerEntries(ledger: DeploymentLedger): LedgerEntry[] {
  return Array.from({ length: ledgerSize(ledger) }, (_, index) => ledgerEntryAt(ledger, index));
}

/** The ledger with the deployment's row replaced, added, or (entry undefined) removed; finish order kept. */
export function withLedgerEntry(
  ledger: DeploymentLedger,
  deploymentId: string,
  entry: LedgerEntry | undefined,
  production: boolean,
): DeploymentLedger {
  const old = ledger.deployments;
  const columns = {
    id: [...old.id],
    sha: [...old.sha],
    outcome: old.outcome,
    finishedAt: [...old.finishedAt],
    leadTime: old.leadTime,
    previousSha: [...old.previousSha],
    leadTimeSeconds: [...old.leadTimeSeconds],
    attributedIncidents: { ...old.attributedIncidents },
  };
  const existing = columns.id.indexOf(deploymentId);
  if (existing >= 0) {
    for (const column of [
      columns.id,
      columns.sha,
      columns.finishedAt,
      columns.previousSha,
      columns.leadTimeSeconds,
    ]) {
      column.splice(existing, 1);
    }
    columns.outcome = columns.outcome.slice(0, existing) + columns.outcome.slice(existing + 1);
    columns.leadTime = columns.leadTime.slice(0, existing) + columns.leadTime.slice(existing + 1);
    delete columns.attributedIncidents[deploymentId];
  }
  if (entry !== undefined) {
    const at = insertionIndex(columns.finishedAt, columns.id, entry);
    columns.id.splice(at, 0, entry.id);
    columns.sha.splice(at, 0, entry.sha);
    columns.finishedAt.splice(at, 0, entry.finishedAt);
    columns.previousSha.splice(at, 0, entry.previousSha ?? '');
    columns.leadTimeSeconds.splice(at, 0, entry.leadTimeSeconds.join(' '));
    columns.outcome =
      columns.outcome.slice(0, at) + OUTCOME_LETTERS[entry.outcome] + columns.outcome.slice(at);
    columns.leadTime =
      columns.leadTime.slice(0, at) + LEAD_TIME_LETTERS[entry.leadTime] + columns.leadTime.slice(at);
    if (entry.attributedIncidents.length > 0) {
      columns.attributedIncidents[entry.id] = [...entry.attributedIncidents].sort();
    }
  }
  // Keys in id order, so that equal ledgers serialise to equal bytes.
  const attributed = Object.keys(columns.attributedIncidents).sort();
  columns.attributedIncidents = Object.fromEntries(
    attributed.map((id) => [id, columns.attributedIncidents[id] as string[]]),
  );
  return { ...ledger, production, deployments: columns };
}

/** Where a row goes: after every row that finished earlier, or at the same time with a smaller id. */
function insertionIndex(finishedAt: readonly string[], ids: readonly string[], entry: LedgerEntry): number {
  const at = isoMs(entry.finishedAt);
  let low = 0;
  let high = finishedAt.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const difference = isoMs(finishedAt[middle] as string) - at;
    const id = ids[middle] as string;
    if (difference < 0 || (difference === 0 && id <= entry.id)) low = middle + 1;
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
  const columns = ledger.deployments;
  const work: LeadTimeWork[] = [];
  let previous: number | undefined;
  for (let index = 0; index < columns.id.length; index++) {
    if (columns.outcome.charCodeAt(index) !== SUCCESS_LETTER) continue;
    const state = LEAD_TIME_STATES[columns.leadTime[index] as string];
    const previousSha = columns.previousSha[index];
    const stale =
      state === 'pending' ||
      (previous === undefined
        ? state !== 'first-deployment'
        : state === 'first-deployment' || previousSha !== columns.sha[previous]) ||
      (state === 'unresolved' && columns.sha[index] === retrySha);
    if (stale) {
      work.push({
        entry: ledgerEntryAt(ledger, index),
        ...(previous === undefined ? {} : { previous: ledgerEntryAt(ledger, previous) }),
      });
    }
    previous = index;
  }
  return work;
}

/**
 * Epoch milliseconds of an ISO 8601 time. The canonical UTC form that toISOString writes (all times the
 * worker stores) is decoded directly, several times faster than Date.parse; other forms go to Date.parse.
 */
export function isoMs(text: string): number {
  if (
    text.length !== 24 ||
    text.charCodeAt(4) !== 45 || // -
    text.charCodeAt(7) !== 45 ||
    text.charCodeAt(10) !== 84 || // T
    text.charCodeAt(13) !== 58 || // :
    text.charCodeAt(16) !== 58 ||
    text.charCodeAt(19) !== 46 || // .
    text.charCodeAt(23) !== 90 // Z
  ) {
    return Date.parse(text);
  }
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 7);
  const day = digitsAt(text, 8, 10);
  // Days since the epoch of a proleptic Gregorian date (H. Hinnant's days_from_civil).
  const shiftedYear = month <= 2 ? year - 1 : year;
  const era = Math.floor(shiftedYear / 400);
  const yearOfEra = shiftedYear - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  const days = era * 146_097 + dayOfEra - 719_468;
  const seconds =
    ((days * 24 + digitsAt(text, 11, 13)) * 60 + digitsAt(text, 14, 16)) * 60 + digitsAt(text, 17, 19);
  return seconds * 1000 + digitsAt(text, 20, 23);
}

function digitsAt(text: string, from: number, to: number): number {
  let value = 0;
  for (let at = from; at < to; at++) value = value * 10 + (text.charCodeAt(at) - 48);
  return value;
}
