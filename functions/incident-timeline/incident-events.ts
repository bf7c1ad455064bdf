/**
 * The toilless events an incident emits (IncidentOpened, IncidentResolved), built from its stored
 * timeline with deterministic ids so that consumers can deduplicate, and published from its pending
 * events.
 */
import type { ToillessEvent } from '../shared/events/types.js';
import type { Logger } from '../shared/log.js';
import type { EventBus } from '../shared/ports/event-bus.js';
import type { IncidentEventType, IncidentTimeline } from './model.js';

/** IncidentOpened / IncidentResolved with deterministic ids; undefined for IncidentResolved of an open incident. */
export function incidentEvent(
  timeline: IncidentTimeline,
  type: IncidentEventType,
): ToillessEvent | undefined {
  const opened = {
    incidentId: timeline.id,
    title: timeline.title,
    services: [timeline.service],
    severity: timeline.severity,
    startedAt: timeline.startedAt,
  };
  if (type === 'IncidentOpened') {
    return { id: `incident:${timeline.id}:opened`, type, time: timeline.startedAt, detail: opened };
  }
  if (timeline.resolvedAt === undefined) return undefined;
  return {
    id: `incident:${timeline.id}:resolved`,
    type,
    time: timeline.resolvedAt,
    detail: {
      ...opened,
      resolvedAt: timeline.resolvedAt,
      durationSeconds: Math.max(
        0,
        Math.round((Date.parse(timeline.resolvedAt) - Date.parse(timeline.startedAt)) / 1000),
      ),
    },
  };
}

/** What publishing the pending events achieved: the types now done, or the bus's error (none done). */
export interface PublishedEvents {
  readonly types: readonly IncidentEventType[];
  readonly error?: unknown;
}

/** Publishes the timeline's pending events in one batch; a bus failure is logged and answered, not thrown. */
export async function publishPendingEvents(
  bus: EventBus,
  logger: Logger,
  timeline: IncidentTimeline,
): Promise<PublishedEvents> {
  const events = timeline.pendingEvents.flatMap((type) => incidentEvent(timeline, type) ?? []);
  if (events.length === 0) return { types: timeline.pendingEvents };
  try {
    await bus.publish(events);
    return { types: timeline.pendingEvents };
  } catch (error) {
    logger.error(
      { err: error, incidentId: timeline.id, events: events.map((event) => event.id) },
      'incident events not published: they stay pending and the notification will be retried',
    );
    return { types: [], error };
  }
}
