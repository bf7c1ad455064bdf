/**
 * The evidence of a timeline, asked of the gatherer within `incidents.sourceBudget`: a gatherer that
 * fails, overruns its budget or returns something else than events costs the timeline one
 * source.unavailable event, never the notification.
 */
import { parseDurationMs } from '../shared/duration.js';
import type { Logger } from '../shared/log.js';
import type { ToillessConfig } from '../shared/stack-config.js';
import { LOOKBACK_BEFORE_ONSET_MS } from './incident-links.js';
import type { EvidenceGatherer, EvidenceRequest, IncidentTimeline, TimelineEvent } from './model.js';

/** A gatherer that ignores its abort signal is given this long after the budget before it is abandoned. */
export const BUDGET_GRACE_MS = 1_000;

export interface EvidenceBudgetDependencies {
  /** stack-config/toilless.yaml: `incidents.sourceBudget`. */
  readonly config: ToillessConfig;
  readonly gatherEvidence: EvidenceGatherer;
}

/** Asks the gatherer within `incidents.sourceBudget`; whatever goes wrong becomes one source.unavailable event. */
export async function gatherWithinBudget(
  deps: EvidenceBudgetDependencies,
  timeline: IncidentTimeline,
  now: Date,
  logger: Logger,
): Promise<readonly TimelineEvent[]> {
  const budget = deps.config.incidents.sourceBudget;
  const budgetMs = parseDurationMs(budget);
  const onset = new Date(timeline.onset);
  const request: EvidenceRequest = {
    incidentId: timeline.id,
    service: timeline.service,
    alerts: timeline.alerts,
    onset,
    from: new Date(onset.getTime() - LOOKBACK_BEFORE_ONSET_MS),
    to: timeline.resolvedAt !== undefined ? new Date(timeline.resolvedAt) : now,
    signal: AbortSignal.timeout(budgetMs),
  };
  let timer: NodeJS.Timeout | undefined;
  const abandoned = new Promise<readonly TimelineEvent[]>((resolve) => {
    timer = setTimeout(
      () => resolve([unavailable(now, `evidence gathering did not finish within the ${budget} budget`)]),
      budgetMs + BUDGET_GRACE_MS,
    );
  });
  try {
    const events = await Promise.race([
      Promise.resolve().then(() => deps.gatherEvidence(request)),
      abandoned,
    ]);
    return Array.isArray(events) ? events.filter(isTimelineEvent) : [];
  } catch (error) {
    logger.warn(
      { err: error, incidentId: timeline.id },
      'evidence gathering failed; the timeline goes on without it',
    );
    const message = error instanceof Error ? error.message : String(error);
    return [unavailable(now, `evidence gathering failed: ${message}`)];
  } finally {
    clearTimeout(timer);
  }
}

function unavailable(now: Date, summary: string): TimelineEvent {
  return {
    at: now.toISOString(),
    kind: 'source.unavailable',
    source: 'toilless',
    summary,
    relevance: 'normal',
    links: [],
    details: {},
  };
}

/** Drops what a gatherer returned that is not an event, rather than failing the timeline on it. */
export function isTimelineEvent(value: unknown): value is TimelineEvent {
  if (typeof value !== 'object' || value === null) return false;
  const event = value as Partial<TimelineEvent>;
  return (
    typeof event.at === 'string' &&
    !Number.isNaN(Date.parse(event.at)) &&
    typeof event.kind === 'string' &&
    typeof event.source === 'string' &&
    typeof event.summary === 'string' &&
    (event.relevance === 'high' || event.relevance === 'normal' || event.relevance === 'low') &&
    Array.isArray(event.links) &&
    typeof event.details === 'object' &&
    event.details !== null
  );
}
