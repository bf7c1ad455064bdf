/**
 * The incident-timeline worker: turns AlertNotification events into incidents stored under
 * incidents/<id>/, one Slack thread per incident, and IncidentOpened / IncidentResolved events.
 *
 * Deliveries are at-least-once, concurrent and unordered. Decisions are pure (lifecycle.ts); here they
 * are read, applied and stored with compare-and-swap, retried when another update wins. The store is
 * written before anything is sent, and what is still to send is kept in the stored timeline.
 */
import { randomUUID } from 'node:crypto';
import { parseDurationMs } from '../shared/duration.js';
import { PreconditionFailedError, ToillessError } from '../shared/errors.js';
import { type AlertmanagerPayload, alertmanagerPayloadSchema } from '../shared/events/alertmanager.js';
import { toAlertNotification } from '../shared/events/alertmanager-event.js';
import type { ToillessEvent } from '../shared/events/types.js';
import { type Logger, silentLogger } from '../shared/log.js';
import type { Clock } from '../shared/ports/clock.js';
import type { EventBus } from '../shared/ports/event-bus.js';
import type { Notifier } from '../shared/ports/notifier.js';
import type { ObjectStore, StoredObject } from '../shared/ports/object-store.js';
import type { ToillessConfig } from '../shared/stack-config.js';
import { parseWith } from '../shared/validation.js';
import { parseJson, serializeRecord as serialize, type Versioned } from '../shared/versioned-json.js';
import { groupPointerKey, markdownKey, timelineKey } from './incident-identity.js';
import { type LinkPolicy, LOOKBACK_BEFORE_ONSET_MS, linkPolicy } from './incident-links.js';
import {
  type AlertNotificationInput,
  type ChangingPlan,
  type IncidentChanges,
  planNotification,
} from './lifecycle.js';
import {
  type EvidenceGatherer,
  type EvidenceRequest,
  type GroupPointer,
  type IncidentEventType,
  type IncidentTimeline,
  TIMELINE_SCHEMA_VERSION,
  type TimelineEvent,
} from './model.js';
import {
  claimWork,
  enqueueWork,
  hasPendingWork,
  recordWorkOutcome,
  type WorkOutcome,
} from './pending-work.js';
import { plainText, rootMessage, titleReply } from './slack-messages.js';
import { mergeEvents } from './timeline-events.js';
import { renderTimelineMarkdown } from './timeline-markdown.js';

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

/** Reads and compare-and-swap writes of one notification, before giving up and letting the bus retry. */
const MAX_WRITE_ATTEMPTS = 10;
/** Rounds of pending work one invocation does before leaving the rest to the next update. */
const MAX_WORK_ROUNDS = 5;
/** A gatherer that ignores its abort signal is given this long after the budget before it is abandoned. */
const BUDGET_GRACE_MS = 1_000;

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

/**
 * Notifications found fully applied with no work left, remembered for a minute. Identical copies
 * arrive in bursts (an Alertmanager HA pair sends each notification once per replica, and retries
 * resend it); answering them from memory spares two store reads each. After a minute a copy is
 * processed again, so pending work is still picked up by the resends of repeat_interval.
 */
export class SettledNotifications {
  static readonly TTL_MS = 60_000;
  static readonly MAX_ENTRIES = 10_000;
  private readonly settledAt = new Map<string, number>();

  get size(): number {
    return this.settledAt.size;
  }

  has(id: string, now: number): boolean {
    const at = this.settledAt.get(id);
    if (at === undefined) return false;
    if (now - at < SettledNotifications.TTL_MS) return true;
    this.settledAt.delete(id);
    return false;
  }

  add(id: string, now: number): void {
    this.settledAt.delete(id);
    this.settledAt.set(id, now);
    // Map keeps insertion order: the first entry is the oldest.
    if (this.settledAt.size > SettledNotifications.MAX_ENTRIES) {
      const oldest = this.settledAt.keys().next().value;
      if (oldest !== undefined) this.settledAt.delete(oldest);
    }
  }
}

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

interface StoredGroup {
  readonly pointer?: Versioned<GroupPointer>;
  readonly current?: Versioned<IncidentTimeline>;
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
    const state = await this.readGroup();
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
        await store.put(timelineKey(claimed.id), serialize(claimed), {
          ifMatch: current.etag,
          contentType: JSON_TYPE,
        });
        await this.doPendingWork(claimed.id);
      }
      return;
    }

    this.evidence ??= await gatherWithinBudget(this.deps, plan.timeline, now, this.logger);
    const { timeline, changes } = prepare(plan, this.evidence, this.input.id, this.holder, now, this.links);
    await this.write(plan, timeline, state);
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

  private async readGroup(): Promise<StoredGroup> {
    const pointerObject = await this.deps.store.get(groupPointerKey(this.input.payload.groupKey));
    if (!pointerObject) return {};
    const pointer = { value: parseJson<GroupPointer>(pointerObject), etag: pointerObject.etag };
    const timelineObject = await this.deps.store.get(timelineKey(pointer.value.incidentId));
    if (!timelineObject) return { pointer };
    return { pointer, current: { value: parseTimeline(timelineObject), etag: timelineObject.etag } };
  }

  /** Stores the decided state; throws WriteConflict or PreconditionFailedError when another update won. */
  private async write(plan: ChangingPlan, timeline: IncidentTimeline, state: StoredGroup): Promise<void> {
    const { store } = this.deps;
    const body = serialize(timeline);
    if (plan.kind === 'update') {
      if (!state.current) throw new WriteConflict('the incident disappeared');
      await store.put(timelineKey(timeline.id), body, {
        ifMatch: state.current.etag,
        contentType: JSON_TYPE,
      });
      return;
    }
    // The pointer decides which incident the group is in; the timeline's create-if-absent decides
    // who created it, and so who posts to Slack and publishes IncidentOpened.
    const pointerKey = groupPointerKey(plan.pointer.groupKey);
    if (!state.pointer) {
      if (!(await store.putIfAbsent(pointerKey, serialize(plan.pointer), { contentType: JSON_TYPE }))) {
        throw new WriteConflict('another notification created the group pointer');
      }
    } else if (state.pointer.value.incidentId !== plan.pointer.incidentId) {
      await store.put(pointerKey, serialize(plan.pointer), {
        ifMatch: state.pointer.etag,
        contentType: JSON_TYPE,
      });
    }
    if (!(await store.putIfAbsent(timelineKey(timeline.id), body, { contentType: JSON_TYPE }))) {
      throw new WriteConflict('another notification created the incident');
    }
  }

  /** Renders timeline.md from the stored JSON until no newer JSON was written meanwhile. */
  private async writeMarkdown(incidentId: string): Promise<void> {
    const { store, config } = this.deps;
    for (let round = 0; round < MAX_WORK_ROUNDS; round++) {
      const stored = await store.get(timelineKey(incidentId));
      if (!stored) return;
      const markdown = renderTimelineMarkdown(parseTimeline(stored), config, this.links);
      await store.put(markdownKey(incidentId), markdown, { contentType: 'text/markdown; charset=utf-8' });
      if ((await store.get(timelineKey(incidentId)))?.etag === stored.etag) return;
    }
  }

  /** Records the re-fire on the previous incident of the group. */
  private async linkPrevious(previousId: string, nextId: string): Promise<void> {
    const linked = await this.updateStored(previousId, (previous) =>
      previous.nextIncidentId ? undefined : { ...previous, nextIncidentId: nextId },
    );
    if (linked) await this.writeMarkdown(previousId);
  }

  /** Compare-and-swap update of a stored timeline; `change` answers undefined when there is nothing to do. */
  private async updateStored(
    incidentId: string,
    change: (timeline: IncidentTimeline) => IncidentTimeline | undefined,
  ): Promise<IncidentTimeline | undefined> {
    const { store } = this.deps;
    for (let attempt = 1; ; attempt++) {
      const stored = await store.get(timelineKey(incidentId));
      if (!stored) return undefined;
      const next = change(parseTimeline(stored));
      if (!next) return undefined;
      try {
        await store.put(timelineKey(incidentId), serialize(next), {
          ifMatch: stored.etag,
          contentType: JSON_TYPE,
        });
        return next;
      } catch (error) {
        if (!(error instanceof PreconditionFailedError) || attempt >= MAX_WRITE_ATTEMPTS) throw error;
        await this.deps.clock.sleep(backoffMs(attempt));
      }
    }
  }

  /**
   * Publishes the pending events and does the pending Slack work while this invocation holds the claim.
   * A Slack failure is logged and left pending for the next update; a bus failure is rethrown (after
   * recording) so that the notification is delivered again.
   */
  private async doPendingWork(incidentId: string): Promise<void> {
    let publishError: unknown;
    for (let round = 0; round < MAX_WORK_ROUNDS; round++) {
      const stored = await this.deps.store.get(timelineKey(incidentId));
      if (!stored) return;
      const timeline = parseTimeline(stored);
      if (timeline.workClaim?.holder !== this.holder) return;
      const published = await this.publishPending(timeline);
      publishError ??= published.error;
      const slack = await this.sendPendingSlack(timeline);
      const outcome: WorkOutcome = {
        ...slack,
        eventsPublished: published.types,
        eventsFailed: !!published.error,
      };
      let more = false;
      await this.updateStored(incidentId, (latest) => {
        const recorded = recordWorkOutcome(latest, outcome, this.holder, this.deps.clock.now());
        more = recorded.more;
        return recorded.timeline;
      });
      if (!more) break;
    }
    if (publishError) throw publishError;
  }

  private async publishPending(
    timeline: IncidentTimeline,
  ): Promise<{ readonly types: readonly IncidentEventType[]; readonly error?: unknown }> {
    const events = timeline.pendingEvents.flatMap((type) => incidentEvent(timeline, type) ?? []);
    if (events.length === 0) return { types: timeline.pendingEvents };
    try {
      await this.deps.bus.publish(events);
      return { types: timeline.pendingEvents };
    } catch (error) {
      this.logger.error(
        { err: error, incidentId: timeline.id, events: events.map((event) => event.id) },
        'incident events not published: they stay pending and the notification will be retried',
      );
      return { types: [], error };
    }
  }

  private async sendPendingSlack(
    timeline: IncidentTimeline,
  ): Promise<Omit<WorkOutcome, 'eventsPublished' | 'eventsFailed'>> {
    const { notifier, config } = this.deps;
    const done: string[] = [];
    let thread = timeline.slack.thread;
    let posted: { channel: string; ts: string } | undefined;
    for (const work of timeline.slack.pending) {
      try {
        if (work.kind === 'post-root') {
          if (!thread) {
            const ref = await notifier.post(rootMessage(timeline, config, this.links));
            thread = posted = { channel: ref.channel, ts: ref.ts };
          }
        } else if (!thread) {
          break; // nothing to reply to until the root is posted
        } else if (work.kind === 'reply') {
          await notifier.reply(thread, work.message ?? titleReply(timeline));
        } else if (work.kind === 'update-root') {
          await notifier.update(thread, rootMessage(timeline, config, this.links));
        } else {
          await notifier.upload({
            filename: `${timeline.id}.md`,
            title: `Timeline: ${plainText(timeline.title)}`,
            content: Buffer.from(renderTimelineMarkdown(timeline, config, this.links), 'utf8'),
            channel: thread.channel,
            threadTs: thread.ts,
          });
        }
        done.push(work.id);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        this.logger.warn(
          { err: error, incidentId: timeline.id, work: work.id, attempts: work.attempts + 1 },
          'Slack update failed: the timeline is stored and the Slack work stays pending until the next update',
        );
        return {
          slackDone: done,
          ...(posted ? { thread: posted } : {}),
          slackFailure: { id: work.id, error: message },
        };
      }
    }
    return { slackDone: done, ...(posted ? { thread: posted } : {}) };
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

/** Asks the gatherer within `incidents.sourceBudget`; whatever goes wrong becomes one source.unavailable event. */
async function gatherWithinBudget(
  deps: Pick<IncidentTimelineDependencies, 'config' | 'gatherEvidence'>,
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
function isTimelineEvent(value: unknown): value is TimelineEvent {
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

/** IncidentOpened / IncidentResolved with deterministic ids, so consumers can deduplicate. */
function incidentEvent(timeline: IncidentTimeline, type: IncidentEventType): ToillessEvent | undefined {
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

/** Another update got there first: read again and re-apply. */
class WriteConflict extends ToillessError {}

const JSON_TYPE = 'application/json';

function parseTimeline(object: StoredObject): IncidentTimeline {
  const timeline = parseJson<IncidentTimeline>(object);
  if (typeof timeline.schemaVersion !== 'number' || timeline.schemaVersion > TIMELINE_SCHEMA_VERSION) {
    throw new ToillessError(
      `${object.key} has schemaVersion ${String(timeline.schemaVersion)}, which this toilless does not know (it writes ${TIMELINE_SCHEMA_VERSION}): upgrade toilless`,
    );
  }
  return timeline;
}

/** Full jitter under a doubling cap, so that concurrent updates spread out. */
function backoffMs(attempt: number): number {
  return Math.floor(Math.random() * Math.min(1_000, 20 * 2 ** attempt));
}
