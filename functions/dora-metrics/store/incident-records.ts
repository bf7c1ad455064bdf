/**
 * The incidents DORA knows, from IncidentOpened / IncidentResolved: one record each, merged so that any
 * arrival order gives the same record, and the ledger of the critical ones that attribution reads.
 */
import type { IncidentOpenedDetail, IncidentResolvedDetail } from '../../shared/events/types.js';
import type { ObjectStore } from '../../shared/ports/object-store.js';
import { readJson, serializeCompact, updateJson } from '../../shared/versioned-json.js';
import {
  type DoraIncidentRecord,
  INCIDENT_LEDGER_SCHEMA_VERSION,
  INCIDENT_SCHEMA_VERSION,
  type IncidentFact,
  type IncidentLedger,
} from '../model.js';
import { INCIDENT_LEDGER_KEY, incidentKey } from './store-keys.js';

const SEVERITY_RANK: Readonly<Record<string, number>> = { critical: 4, error: 3, warning: 2, info: 1 };

/** Only critical incidents can be counted against a deployment. */
export function isCritical(severity: string): boolean {
  return severity.toLowerCase() === 'critical';
}

/** Merges an incident event into its record: services are united, the worst severity and latest resolution kept. */
export function mergeIncident(
  current: DoraIncidentRecord | undefined,
  detail: IncidentOpenedDetail | IncidentResolvedDetail,
): DoraIncidentRecord {
  const resolvedAt = latest(current?.resolvedAt, 'resolvedAt' in detail ? detail.resolvedAt : undefined);
  const severity =
    current === undefined || rank(detail.severity) > rank(current.severity)
      ? detail.severity
      : current.severity;
  return {
    schemaVersion: INCIDENT_SCHEMA_VERSION,
    incidentId: detail.incidentId,
    // The resolution's title is the final one.
    title: current === undefined || 'resolvedAt' in detail ? detail.title : current.title,
    services: [...new Set([...(current?.services ?? []), ...detail.services])].sort(),
    severity,
    startedAt: earliest(current?.startedAt, detail.startedAt) as string,
    ...(resolvedAt === undefined ? {} : { resolvedAt }),
  };
}

export interface StoredIncident {
  readonly record: DoraIncidentRecord;
  /** Whether the record or the incident ledger changed. */
  readonly changed: boolean;
}

/** Stores the incident record, then its fact in the incident ledger (critical incidents only). */
export async function storeIncident(
  store: ObjectStore,
  detail: IncidentOpenedDetail | IncidentResolvedDetail,
): Promise<StoredIncident> {
  const stored = await updateJson<DoraIncidentRecord>(store, incidentKey(detail.incidentId), (current) =>
    mergeIncident(current, detail),
  );
  const record = stored.value as DoraIncidentRecord;
  const ledger = await updateJson<IncidentLedger>(
    store,
    INCIDENT_LEDGER_KEY,
    (current) => withIncident(current, record),
    { serialize: serializeCompact },
  );
  return { record, changed: stored.changed || ledger.changed };
}

/** The critical incidents; empty when none was ever stored. */
export async function readIncidentLedger(store: ObjectStore): Promise<IncidentLedger> {
  const stored = await readJson<IncidentLedger>(store, INCIDENT_LEDGER_KEY);
  return stored?.value ?? { schemaVersion: INCIDENT_LEDGER_SCHEMA_VERSION, incidents: [] };
}

/** The ledger with the record's fact replaced, or removed when the record is not critical; ordered by start. */
export function withIncident(
  current: IncidentLedger | undefined,
  record: DoraIncidentRecord,
): IncidentLedger {
  const incidents = (current?.incidents ?? []).filter((fact) => fact.id !== record.incidentId);
  if (isCritical(record.severity)) incidents.push(incidentFactOf(record));
  incidents.sort(
    (a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  return { schemaVersion: INCIDENT_LEDGER_SCHEMA_VERSION, incidents };
}

function incidentFactOf(record: DoraIncidentRecord): IncidentFact {
  return {
    id: record.incidentId,
    services: record.services,
    startedAt: record.startedAt,
    ...(record.resolvedAt === undefined ? {} : { resolvedAt: record.resolvedAt }),
  };
}

function rank(severity: string): number {
  return SEVERITY_RANK[severity.toLowerCase()] ?? 0;
}

function earliest(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Date.parse(b) < Date.parse(a) ? b : a;
}

function latest(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Date.parse(b) > Date.parse(a) ? b : a;
}
