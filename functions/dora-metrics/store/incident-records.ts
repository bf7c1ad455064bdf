/**
 * The incidents DORA knows, from IncidentOpened / IncidentResolved: one record each, merged so that any
 * arrival order gives the same record, and for the critical ones a marker per service under the
 * UTC day the incident started and the day it was resolved, so that "the critical incidents of these
 * services in the last 30 days" lists a few day folders and reads those records instead of every
 * incident ever stored. Storing an event costs the same whatever the number of incidents stored.
 */
import type { IncidentOpenedDetail, IncidentResolvedDetail } from '../../shared/events/types.js';
import type { Logger } from '../../shared/log.js';
import type { ObjectStore } from '../../shared/ports/object-store.js';
import { parseJson, readJson, updateJson } from '../../shared/versioned-json.js';
import {
  type DoraIncidentRecord,
  INCIDENT_SCHEMA_VERSION,
  type IncidentFact,
  type IncidentLedger,
} from '../model.js';
import {
  INCIDENT_LEDGER_KEY,
  incidentDayKey,
  incidentDayOfKey,
  incidentDaysPrefix,
  incidentKey,
  serviceSegment,
} from './store-keys.js';

const SEVERITY_RANK: Readonly<Record<string, number>> = { critical: 4, error: 3, warning: 2, info: 1 };
const DAY_MS = 86_400_000;
/** Incident records read at once by a window read. */
const READ_CONCURRENCY = 8;

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

/** The fact attribution and time to restore need, of a record. */
export function incidentFactOf(record: DoraIncidentRecord): IncidentFact {
  return {
    id: record.incidentId,
    services: record.services,
    startedAt: record.startedAt,
    ...(record.resolvedAt === undefined ? {} : { resolvedAt: record.resolvedAt }),
  };
}

/** The UTC days (yyyy-mm-dd) a fact is filed under: the day it started and the day it was resolved. */
export function incidentDays(fact: IncidentFact): string[] {
  const days = [dayOf(Date.parse(fact.startedAt))];
  if (fact.resolvedAt !== undefined) days.push(dayOf(Date.parse(fact.resolvedAt)));
  return [...new Set(days)];
}

/** The time span of a window read: incidents that started or were resolved in it. */
export interface IncidentWindow {
  readonly from: Date;
  readonly to: Date;
}

export interface StoredIncident {
  readonly record: DoraIncidentRecord;
  /** Whether the record changed or a day marker was created. */
  readonly changed: boolean;
}

/**
 * Stores the incident record, then (critical incidents only) a marker under each of its days. Both
 * steps are idempotent, so a redelivery writes nothing, and one that follows a crash between them
 * completes them. A marker under a day the incident no longer has (its start moved earlier) stays:
 * the reader reads the record, so it only costs that read.
 */
export async function storeIncident(
  store: ObjectStore,
  detail: IncidentOpenedDetail | IncidentResolvedDetail,
): Promise<StoredIncident> {
  const stored = await updateJson<DoraIncidentRecord>(store, incidentKey(detail.incidentId), (current) =>
    mergeIncident(current, detail),
  );
  const record = stored.value as DoraIncidentRecord;
  const marked = await markCriticalIncident(store, record);
  return { record, changed: stored.changed || marked };
}

/** Creates the day markers of a critical record's state; true when one was new. Nothing for other records. */
async function markCriticalIncident(store: ObjectStore, record: DoraIncidentRecord): Promise<boolean> {
  if (!isCritical(record.severity)) return false;
  const fact = incidentFactOf(record);
  let created = false;
  for (const day of incidentDays(fact)) {
    for (const service of record.services) {
      // The marker is written after the record, so a marker always finds its record.
      created = (await store.putIfAbsent(incidentDayKey(day, service, fact), fact.id)) || created;
    }
  }
  return created;
}

interface MarkedIncident {
  startedAt: string;
  resolvedAt?: string;
  readonly services: Set<string>;
  wanted: boolean;
}

/**
 * The critical incidents of any of `services` that started or were resolved in the window (by UTC day,
 * so a few hours more), ordered by start. Lists only the day folders of the window: the markers' names
 * carry each state's times and service, so the facts come from the listing, merged per incident (a
 * record only ever moves to an earlier start, a later resolution and more services, and the markers of
 * its latest state are written last). A resolved incident that matters to the window has the markers of
 * its latest state under its resolution day, inside the window. An open one may have left a marker
 * under a day its start moved away from, so its record is read instead.
 */
export async function readCriticalIncidents(
  store: ObjectStore,
  window: IncidentWindow,
  services: readonly string[],
): Promise<IncidentFact[]> {
  const firstDay = dayOf(window.from.getTime());
  const lastDay = dayOf(window.to.getTime());
  const wanted = new Map(services.map((service) => [serviceSegment(service), service]));
  const marked = new Map<string, MarkedIncident>();
  if (wanted.size > 0) {
    for (const month of monthsBetween(firstDay, lastDay)) {
      for await (const key of store.list(incidentDaysPrefix(month))) {
        const marker = incidentDayOfKey(key);
        if (marker === undefined || marker.day < firstDay || marker.day > lastDay) continue;
        const incidentId = marker.incidentId ?? (await store.get(key))?.body.toString('utf8');
        if (incidentId === undefined) continue;
        const incident = marked.get(incidentId) ?? {
          startedAt: marker.startedAt,
          services: new Set<string>(),
          wanted: false,
        };
        marked.set(incidentId, incident);
        incident.startedAt = earliest(incident.startedAt, marker.startedAt) as string;
        const resolvedAt = latest(incident.resolvedAt, marker.resolvedAt);
        if (resolvedAt !== undefined) incident.resolvedAt = resolvedAt;
        incident.services.add(serviceName(marker.serviceSegment, wanted));
        incident.wanted ||= wanted.has(marker.serviceSegment);
      }
    }
  }
  const relevant = [...marked].filter(([, incident]) => incident.wanted);
  const facts = await mapBounded(relevant, READ_CONCURRENCY, async ([id, incident]) => {
    if (incident.resolvedAt !== undefined) {
      const { startedAt, resolvedAt } = incident;
      return { id, services: [...incident.services].sort(), startedAt, resolvedAt } as IncidentFact;
    }
    const record = await readJson<DoraIncidentRecord>(store, incidentKey(id));
    return record === undefined || !isCritical(record.value.severity)
      ? undefined
      : incidentFactOf(record.value);
  });
  return facts
    .filter((fact): fact is IncidentFact => fact !== undefined)
    .sort(
      (a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    );
}

/** A service's name from its key segment; a hashed one is known only when it was asked for. */
function serviceName(segment: string, wanted: ReadonlyMap<string, string>): string {
  const asked = wanted.get(segment);
  if (asked !== undefined) return asked;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * Moves the whole-file ledger an earlier version kept (`dora/incident-ledger.json`) to the day markers,
 * then deletes it. Idempotent: records are only created, markers only if absent, and the file goes
 * only after every incident is marked, so a crash midway leaves it for the next run. A fact whose
 * record is missing gets one (critical, titled with its id). Answers the number of incidents moved (0
 * when there was no ledger).
 */
export async function migrateIncidentLedger(store: ObjectStore, logger?: Logger): Promise<number> {
  const object = await store.get(INCIDENT_LEDGER_KEY);
  if (object === undefined) return 0;
  const ledger = parseJson<IncidentLedger>(object, 'the incidents it lists are still in dora/incidents/');
  const facts = Array.isArray(ledger?.incidents) ? ledger.incidents : [];
  for (const fact of facts) {
    const stored = await updateJson<DoraIncidentRecord>(store, incidentKey(fact.id), (current) =>
      current === undefined ? recordOfFact(fact) : undefined,
    );
    const record = stored.value as DoraIncidentRecord;
    await markCriticalIncident(store, record);
  }
  await store.delete(INCIDENT_LEDGER_KEY);
  logger?.info(
    { incidents: facts.length, from: INCIDENT_LEDGER_KEY },
    'moved the DORA incident ledger to day markers of the incident records',
  );
  return facts.length;
}

function recordOfFact(fact: IncidentFact): DoraIncidentRecord {
  return {
    schemaVersion: INCIDENT_SCHEMA_VERSION,
    incidentId: fact.id,
    title: fact.id,
    services: [...fact.services].sort(),
    severity: 'critical',
    startedAt: fact.startedAt,
    ...(fact.resolvedAt === undefined ? {} : { resolvedAt: fact.resolvedAt }),
  };
}

function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The months (yyyy-mm) from the first day's to the last day's. */
function monthsBetween(firstDay: string, lastDay: string): string[] {
  const months: string[] = [];
  const last = lastDay.slice(0, 7);
  for (let at = Date.parse(`${firstDay.slice(0, 7)}-01T00:00:00Z`); ; at += 31 * DAY_MS) {
    const month = dayOf(at).slice(0, 7);
    if (month > last) break;
    months.push(month);
    // Back to the first of the month, so that adding 31 days always lands in the next one.
    at = Date.parse(`${month}-01T00:00:00Z`);
  }
  return months;
}

async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  map: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await map(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
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
