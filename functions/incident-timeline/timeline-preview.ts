/**
 * `toilless timeline <payload.json>`: the timeline of one Alertmanager payload, decided and gathered
 * the way the worker does it, but built in memory: nothing is stored, posted or published.
 */
import { ToillessError } from '../shared/errors.js';
import { type AlertmanagerPayload, alertmanagerPayloadSchema } from '../shared/events/alertmanager.js';
import { toAlertNotification } from '../shared/events/alertmanager-event.js';
import { type Logger, silentLogger } from '../shared/log.js';
import type { Clock } from '../shared/ports/clock.js';
import type { ToillessConfig } from '../shared/stack-config.js';
import { parseWith } from '../shared/validation.js';
import { gatherWithinBudget } from './evidence-budget.js';
import { planNotification } from './lifecycle.js';
import type { EvidenceGatherer, IncidentTimeline } from './model.js';
import { mergeEvents } from './timeline-events.js';
import { renderTimelineMarkdown } from './timeline-markdown.js';

export interface TimelineOnceDependencies {
  readonly clock: Clock;
  readonly config: ToillessConfig;
  readonly gatherEvidence: EvidenceGatherer;
  readonly logger?: Logger;
}

/** `toilless timeline <payload.json>`: the timeline of one payload, built in memory; nothing stored or sent. */
export async function buildTimelineOnce(
  payload: AlertmanagerPayload,
  deps: TimelineOnceDependencies,
): Promise<{ readonly timeline: IncidentTimeline; readonly markdown: string }> {
  const now = deps.clock.now();
  const parsed = parseWith(alertmanagerPayloadSchema, payload, 'Alertmanager payload');
  const plan = planNotification({}, { id: toAlertNotification(parsed, now).id, payload: parsed }, now);
  if (plan.kind === 'unchanged') {
    throw new ToillessError('the payload opens no incident: it carries no alert');
  }
  const evidence = await gatherWithinBudget(deps, plan.timeline, now, deps.logger ?? silentLogger);
  const timeline = { ...plan.timeline, events: mergeEvents(plan.timeline.events, evidence).events };
  return { timeline, markdown: renderTimelineMarkdown(timeline, deps.config) };
}
