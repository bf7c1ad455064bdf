/**
 * The incident-timeline worker: turns AlertNotification events into incidents stored under
 * incidents/<id>/, one Slack thread per incident, and IncidentOpened / IncidentResolved events.
 *
 * Deliveries are at-least-once, concurrent and unordered. Decisions are pure (lifecycle.ts); here they
 * are read, applied and stored with compare-and-swap (timeline-store.ts), retried when another update
 * wins. The store is written before anything is sent, and what is still to send is kept in the stored
 * timeline (pending-work.ts), then sent to Slack (slack-dispatch.ts) and the bus (incident-events.ts).
 */
import { randomUUID } from 'node:crypto';
import { PreconditionFailedError, ToillessError } from '../shared/errors.js';
import { alertmanagerPayloadSchema } from '../shared/events/alertmanager.js';
import type { ToillessEvent } from '../shared/events/types.js';
import type { Logger } from '../shared/log.js';
import type { Clock } from '../shared/ports/clock.js';
import type { EventBus } from '../shared/ports/event-bus.js';
import type { Notifier } from '../shared/ports/notifier.js';
import type { ObjectStore } from '../shared/ports/object-store.js';
import type { ToillessConfig } from '../shared/stack-config.js';
import { parseWith } from '../shared/validation.js';
import { gatherWithinBudget } from './evidence-budget.js';
import { publishPendingEvents } from './incident-events.js';
import { type LinkPolicy, linkPolicy } from './incident-links.js';
import {
  type AlertNotificationInput,
  type ChangingPlan,
  type IncidentChanges,
  planNotification,
} from './lifecycle.js';
import type { EvidenceGatherer, IncidentTimeline, TimelineEvent } from './model.js';
import {
  claimWork,
  enqueueWork,
  hasPendingWork,
  recordWorkOutcome,
  type WorkOutcome,
} from './pending-work.js';
import { SettledNotifications } from './settled-notifications.js';
import { sendPendingSlack } from './slack-dispatch.js';
import { mergeEvents } from './timeline-events.js';
import { renderTimelineMarkdown } from './timeline-markdown.js';
import {
  backoffMs,
  MAX_WRITE_ATTEMPTS,
  readGroup,
  readTimeline,
  replaceTimeline,
  updateStoredTimeline,
  WriteConflict,
  writeDecision,
  writeMarkdown,
} from './timeline-store.js';

export interface IncidentTimelineDependencies {
  readonly store: ObjectStore;
  readonly bus: EventBus;
  readonly notifier: Notifier;
  readonly clock: Clock;
  readonly logger: Logger;
  /** stack-config/toilless.yaml: links, services' log selectors, `incidents.sourceBudget`. */
  readonly config: ToillessConfig;
  readonly gatherEvidence: EvidenceGatherer;
  /** PROMETHEUS_URL: links from alerts to it are shown as links, like those to prometheus.externalUrls. @default none */
  readonly prometheusUrl?: string;
}

/** Rounds of pending work one invocation does before leaving the rest to the next update. */
const MAX_WORK_ROUNDS = 5;

/** The worker as a bus subscriber: handles AlertNotification events and ignores the others. */
export function createIncidentTimelineWorker(
  deps: IncidentTimelineDependencies,
): (event: ToillessEvent) => Promise<void> {
  const settled = new SettledNotifications();
  return async (event) => {
    if (event.type !== 'AlertNotification') return;
    const now = deps.clock.now().getTime();
    if (settled.has(event.id, now)) {
      deps.logger.debug({ notificationId: event.id }, 'notification already applied moments ago');
      return;
    }
    const payload = parseWith(alertmanagerPayloadSchema, event.detail.payload, 'AlertNotification payload');
    const processing = new NotificationProcessing(deps, { id: event.id, payload });
    await processing.run();
    if (processing.settled) settled.add(event.id, now);
  };
}

/** One notification's way through read, decide, gather, write, and the work the write left to do. */
class NotificationProcessing {
  /** Names this invocation in work claims. */
  private readonly holder = randomUUID();
  private readonly logger: Logger;
  private readonly links: LinkPolicy;
  private evidence: readonly TimelineEvent[] | undefined;
  /** True when the notification turned out to be applied already, with no work left to do. */
  settled = false;

  constructor(
    private readonly deps: IncidentTimelineDependencies,
    private readonly input: AlertNotificationInput,
  ) {
    this.logger = deps.logger.child({ groupKey: input.payload.groupKey, notificationId: input.id });
    this.links = linkPolicy(deps.config, deps.prometheusUrl !== undefined ? [deps.prometheusUrl] : []);
  }

  async run(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.attempt();
        return;
      } catch (error) {
        if (!(error instanceof WriteConflict || error instanceof PreconditionFailedError)) throw error;
        if (attempt >= MAX_WRITE_ATTEMPTS) {
          throw new ToillessError(
            `the incident of group ${this.input.payload.groupKey} changed under ${attempt} attempts to apply notification ${this.input.id}: giving up so that the bus retries it later`,
            { cause: error },
          );
        }
        this.logger.debug({ attempt }, 'a concurrent update won; reading the incident again');
        await this.deps.clock.sleep(backoffMs(attempt));
      }
    }
  }

  private async attempt(): Promise<void> {
    const { store, clock } = this.deps;
    const state = await readGroup(store, this.input.payload.groupKey);
    const now = clock.now();
    const plan = planNotification(
      { pointer: state.pointer?.value, current: state.current?.value },
      this.input,
      now,
    );

    if (plan.kind === 'unchanged') {
      this.logger.debug({ incidentId: plan.incidentId, reason: plan.reason }, 'notification changes nothing');
      this.settled = state.current !== undefined && !hasPendingWork(state.current.value);
      // Work an earlier update could not finish (Slack down, a crash) is picked up by any later delivery.
      const current = state.current;
      const claimed = current ? claimWork(current.value, this.holder, now) : undefined;
      if (current && claimed) {
        await replaceTimeline(store, claimed, current.etag);
        await this.doPendingWork(claimed.id);
      }
      return;
    }

    this.evidence ??= await gatherWithinBudget(this.deps, plan.timeline, now, this.logger);
    const { timeline, changes } = prepare(plan, this.evidence, this.input.id, this.holder, now, this.links);
    await writeDecision(store, plan, timeline, state);
    this.logger.info(
      {
        incidentId: timeline.id,
        status: timeline.status,
        severity: timeline.severity,
        newEvents: changes.events.length,
        ...(timeline.truncatedAlerts > 0 ? { truncatedAlerts: timeline.truncatedAlerts } : {}),
      },
      changes.opened ? 'incident opened' : changes.resolved ? 'incident resolved' : 'incident updated',
    );

    await this.writeMarkdown(timeline.id);
    if (plan.kind === 'open' && timeline.previousIncidentId) {
      await this.linkPrevious(timeline.previousIncidentId, timeline.id);
    }
    if (timeline.workClaim?.holder === this.holder) await this.doPendingWork(timeline.id);
  }

  private writeMarkdown(incidentId: string): Promise<void> {
    return writeMarkdown(this.deps.store, incidentId, (timeline) =>
      renderTimelineMarkdown(timeline, this.deps.config, this.links),
    );
  }

  /** Records the re-fire on the previous incident of the group. */
  private async linkPrevious(previousId: string, nextId: string): Promise<void> {
    const linked = await updateStoredTimeline(this.deps.store, this.deps.clock, previousId, (previous) =>
      previous.nextIncidentId ? undefined : { ...previous, nextIncidentId: nextId },
    );
    if (linked) await this.writeMarkdown(previousId);
  }

  /**
   * Publishes the pending events and does the pending Slack work while this invocation holds the claim.
   * A Slack failure is logged and left pending for the next update; a bus failure is rethrown (after
   * recording) so that the notification is delivered again.
   */
  private async doPendingWork(incidentId: string): Promise<void> {
    const { store, bus, notifier, config, clock } = this.deps;
    let publishError: unknown;
    for (let round = 0; round < MAX_WORK_ROUNDS; round++) {
      const timeline = await readTimeline(store, incidentId);
      if (!timeline) return;
      if (timeline.workClaim?.holder !== this.holder) return;
      const published = await publishPendingEvents(bus, this.logger, timeline);
      publishError ??= published.error;
      const slack = await sendPendingSlack(
        { notifier, config, links: this.links, logger: this.logger },
        timeline,
      );
      const outcome: WorkOutcome = {
        ...slack,
        eventsPublished: published.types,
        eventsFailed: !!published.error,
      };
      let more = false;
      await updateStoredTimeline(store, clock, incidentId, (latest) => {
        const recorded = recordWorkOutcome(latest, outcome, this.holder, clock.now());
        more = recorded.more;
        return recorded.timeline;
      });
      if (!more) break;
    }
    if (publishError) throw publishError;
  }
}

/** Merges the evidence and queues the work the changes call for; claims the work when it is free. */
function prepare(
  plan: ChangingPlan,
  evidence: readonly TimelineEvent[],
  notificationId: string,
  holder: string,
  now: Date,
  links: LinkPolicy,
): { readonly timeline: IncidentTimeline; readonly changes: IncidentChanges } {
  const merged = mergeEvents(plan.timeline.events, evidence);
  const changes: IncidentChanges = {
    ...plan.changes,
    events: mergeEvents(plan.changes.events, merged.added).events,
  };
  const queued = enqueueWork({ ...plan.timeline, events: merged.events }, changes, notificationId, links);
  return { timeline: claimWork(queued, holder, now) ?? queued, changes };
}
