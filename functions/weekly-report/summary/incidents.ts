/**
 * The incidents of a report window from the store: every incidents/<id>/timeline.json that started in
 * the window. Records are read defensively: one that cannot be read is skipped and counted, never fatal.
 */
import type { Logger } from '../../shared/log.js';
import type { ObjectStore } from '../../shared/ports/object-store.js';
import type { IncidentSummary, ReportWindow } from '../model.js';

/** More incidents than this in a store is not a weekly summary: the rest are counted, not read. */
const MAX_TIMELINES = 5_000;

interface TimelineFields {
  readonly title?: unknown;
  readonly severity?: unknown;
  readonly startedAt?: unknown;
  readonly resolvedAt?: unknown;
}

/** The summary of one stored timeline, or undefined when it is not one or not in the window. */
export function incidentInWindow(
  key: string,
  record: TimelineFields,
  window: ReportWindow,
): IncidentSummary | undefined {
  if (typeof record.startedAt !== 'string') return undefined;
  const openedAt = new Date(record.startedAt);
  if (Number.isNaN(openedAt.getTime())) return undefined;
  if (openedAt < window.from || openedAt >= window.to) return undefined;
  const resolved = typeof record.resolvedAt === 'string' ? new Date(record.resolvedAt) : null;
  return {
    title: typeof record.title === 'string' ? record.title.slice(0, 300) : '(untitled)',
    severity: typeof record.severity === 'string' ? record.severity.slice(0, 40) : 'none',
    openedAt,
    resolvedAt: resolved && !Number.isNaN(resolved.getTime()) ? resolved : null,
    link: key.replace(/timeline\.json$/, 'timeline.md'),
  };
}

export async function incidentsOfWindow(
  store: ObjectStore,
  window: ReportWindow,
  logger: Logger,
): Promise<IncidentSummary[]> {
  const incidents: IncidentSummary[] = [];
  let read = 0;
  let unreadable = 0;
  for await (const key of store.list('incidents/')) {
    if (!/^incidents\/[^/]+\/timeline\.json$/.test(key)) continue;
    if (++read > MAX_TIMELINES) break;
    const stored = await store.get(key);
    if (!stored) continue;
    try {
      const found = incidentInWindow(key, JSON.parse(stored.body.toString('utf8')) as TimelineFields, window);
      if (found) incidents.push(found);
    } catch {
      unreadable += 1;
    }
  }
  if (unreadable > 0) logger.warn({ unreadable }, 'incident timelines that are not valid JSON were left out');
  if (read > MAX_TIMELINES)
    logger.warn({ limit: MAX_TIMELINES }, 'more incident timelines than the report reads');
  return incidents.sort((a, b) => a.openedAt.getTime() - b.openedAt.getTime());
}
