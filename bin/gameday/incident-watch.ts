/**
 * toilless's incidents as the game day sees them: the timelines under incidents/<id>/timeline.json in
 * the store (the data directory, or the workers' S3 bucket). Read only; every document is size-checked
 * and parsed with zod, keeping only what the expectations look at.
 */
import * as z from 'zod';
import { FsObjectStore } from '../../functions/shared/adapters/local/fs-object-store.js';
import type { ObjectStore } from '../../functions/shared/ports/object-store.js';
import type { StoreObservation } from './environment.js';

/** The incident timeline worker keeps its documents far below this. */
export const MAX_TIMELINE_BYTES = 8 * 1024 * 1024;
/** Incidents opened on the days before the trigger still count: an alert may join an open incident. */
const DAYS_LOOKED_BACK = 2;
const DAY_MS = 86_400_000;

const text = (max: number) => z.string().max(max);
const timelineSchema = z.object({
  id: text(200),
  status: z.enum(['open', 'resolved']),
  service: text(500),
  startedAt: text(64),
  resolvedAt: text(64).optional(),
  alerts: z
    .array(
      z.object({
        alertname: text(500),
        status: z.enum(['firing', 'resolved']),
        labels: z.record(text(200), text(2000)),
      }),
    )
    .max(5000),
  events: z
    .array(
      z.object({
        at: text(64),
        kind: text(40),
        source: text(40),
        summary: text(5000),
        details: z.record(z.string(), z.unknown()),
      }),
    )
    .max(20_000),
  slack: z.object({
    thread: z.object({ channel: text(200), ts: text(40) }).optional(),
  }),
});
export type ObservedIncident = z.output<typeof timelineSchema>;

const TIMELINE_KEY = /^incidents\/([0-9]{8}T[0-9]{4}-[a-z0-9-]{1,40}-[0-9a-f]{8})\/timeline\.json$/;

export async function storeOf(observation: StoreObservation): Promise<ObjectStore> {
  if (observation.kind === 'data-dir') return new FsObjectStore(observation.dir);
  // The AWS SDK is loaded only when the store is S3.
  const [{ S3ObjectStore }, { S3Client }] = await Promise.all([
    import('../../functions/shared/adapters/aws/s3-object-store.js'),
    import('@aws-sdk/client-s3'),
  ]);
  return new S3ObjectStore({
    bucket: observation.bucket,
    client: new S3Client(observation.region === undefined ? {} : { region: observation.region }),
  });
}

export class IncidentWatch {
  constructor(private readonly store: ObjectStore) {}

  /**
   * The incidents that started from `DAYS_LOOKED_BACK` days before `since` on, newest first, for which
   * `matches` holds. Unreadable documents are skipped and reported through `problems`.
   */
  async find(
    since: Date,
    now: Date,
    matches: (incident: ObservedIncident) => boolean,
    problems: string[] = [],
  ): Promise<ObservedIncident[]> {
    const found: ObservedIncident[] = [];
    for (const day of daysBetween(new Date(since.getTime() - DAYS_LOOKED_BACK * DAY_MS), now).reverse()) {
      const keys: string[] = [];
      for await (const key of this.store.list(`incidents/${day}`)) {
        if (TIMELINE_KEY.test(key)) keys.push(key);
      }
      for (const key of keys.reverse()) {
        const incident = await this.read(key, problems);
        if (incident !== undefined && matches(incident)) found.push(incident);
      }
    }
    return found;
  }

  async get(id: string, problems: string[] = []): Promise<ObservedIncident | undefined> {
    return this.read(`incidents/${id}/timeline.json`, problems);
  }

  private async read(key: string, problems: string[]): Promise<ObservedIncident | undefined> {
    if (!TIMELINE_KEY.test(key)) return undefined;
    const object = await this.store.get(key);
    if (object === undefined) return undefined;
    if (object.body.length > MAX_TIMELINE_BYTES) {
      problems.push(`${key} is larger than ${MAX_TIMELINE_BYTES} bytes: not read`);
      return undefined;
    }
    let json: unknown;
    try {
      json = JSON.parse(object.body.toString('utf8'));
    } catch {
      problems.push(`${key} is not JSON`);
      return undefined;
    }
    const parsed = timelineSchema.safeParse(json);
    if (!parsed.success) {
      problems.push(`${key} is not an incident timeline: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
      return undefined;
    }
    return parsed.data;
  }
}

/** yyyymmdd of every UTC day from `from` to `to`, oldest first (incident ids start with it). */
export function daysBetween(from: Date, to: Date): string[] {
  const days: string[] = [];
  for (
    let at = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate());
    at <= to.getTime();
    at += DAY_MS
  ) {
    days.push(new Date(at).toISOString().slice(0, 10).replaceAll('-', ''));
  }
  return days;
}

/** Whether the incident holds a firing or resolved alert named `alertname` whose labels include `labels`. */
export function incidentHasAlert(
  incident: ObservedIncident,
  alertname: string,
  labels: Readonly<Record<string, string>> = {},
): boolean {
  return incident.alerts.some(
    (alert) =>
      alert.alertname === alertname &&
      Object.entries(labels).every(([name, value]) => alert.labels[name] === value),
  );
}
