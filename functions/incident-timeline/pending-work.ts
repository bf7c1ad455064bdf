/**
 * Work an incident change leaves to do (Slack messages, toilless events), kept in the stored timeline
 * so that it survives failures, and claimed by one worker invocation at a time so it is done once.
 */
import type { LinkPolicy } from './incident-links.js';
import type { IncidentChanges } from './lifecycle.js';
import type { IncidentEventType, IncidentTimeline, SlackWork } from './model.js';
import { finalReply, summaryReply, updateReply } from './slack-messages.js';

/** A claim older than this was left by an invocation that crashed or timed out, and is taken over. */
export const WORK_LEASE_MS = 10 * 60_000;

/**
 * Adds the Slack work and events that `changes` call for; work already queued (same id) is kept once.
 * Replies are composed now, with links from alerts shown only as `policy` allows.
 */
export function enqueueWork(
  timeline: IncidentTimeline,
  changes: IncidentChanges,
  notificationId: string,
  policy: LinkPolicy,
): IncidentTimeline {
  const slack: Omit<SlackWork, 'attempts'>[] = [];
  const events: IncidentEventType[] = [];
  if (changes.opened) {
    slack.push({ id: 'root', kind: 'post-root' });
    if (!changes.resolved)
      slack.push({ id: 'reply:summary', kind: 'reply', message: summaryReply(timeline, policy) });
    events.push('IncidentOpened');
  } else if (!changes.resolved) {
    const reply = updateReply(changes, policy);
    if (reply) slack.push({ id: `reply:${notificationId}`, kind: 'reply', message: reply });
  }
  if (changes.resolved) {
    // A root posted after the resolution already shows it; one posted before needs the edit.
    if (!changes.opened) slack.push({ id: 'update-root:resolved', kind: 'update-root' });
    slack.push({ id: 'reply:resolved', kind: 'reply', message: finalReply(timeline, policy) });
    slack.push({ id: 'upload:timeline', kind: 'upload-timeline' });
    events.push('IncidentResolved');
  }
  const queued = new Set(timeline.slack.pending.map((work) => work.id));
  const pendingEvents = [...timeline.pendingEvents];
  for (const type of events) if (!pendingEvents.includes(type)) pendingEvents.push(type);
  return {
    ...timeline,
    slack: {
      ...timeline.slack,
      pending: [
        ...timeline.slack.pending,
        ...slack.filter((work) => !queued.has(work.id)).map((work) => ({ ...work, attempts: 0 })),
      ],
    },
    pendingEvents,
  };
}

export function hasPendingWork(timeline: IncidentTimeline): boolean {
  return timeline.slack.pending.length > 0 || timeline.pendingEvents.length > 0;
}

/**
 * The timeline with the work claimed by `holder`, when there is work and nobody else holds a live
 * claim on it; undefined otherwise.
 */
export function claimWork(
  timeline: IncidentTimeline,
  holder: string,
  now: Date,
): IncidentTimeline | undefined {
  if (!hasPendingWork(timeline)) return undefined;
  const claim = timeline.workClaim;
  const free =
    claim === undefined ||
    claim.holder === holder ||
    now.getTime() - Date.parse(claim.since) >= WORK_LEASE_MS ||
    Number.isNaN(Date.parse(claim.since));
  if (!free) return undefined;
  return { ...timeline, workClaim: { holder, since: now.toISOString() } };
}

/** What one round of doing the pending work achieved. */
export interface WorkOutcome {
  /** Ids of the Slack work done, in order. */
  readonly slackDone: readonly string[];
  /** The root message, when this round posted it. */
  readonly thread?: { readonly channel: string; readonly ts: string };
  /** The Slack work that failed (the rest waits behind it). */
  readonly slackFailure?: { readonly id: string; readonly error: string };
  readonly eventsPublished: readonly IncidentEventType[];
  readonly eventsFailed: boolean;
}

/**
 * Records an outcome on the (possibly since updated) timeline. `more` is true when new work arrived
 * meanwhile and the holder should go on; otherwise the claim is released.
 */
export function recordWorkOutcome(
  timeline: IncidentTimeline,
  outcome: WorkOutcome,
  holder: string,
  now: Date,
): { readonly timeline: IncidentTimeline; readonly more: boolean } {
  const done = new Set(outcome.slackDone);
  const pending = timeline.slack.pending
    .filter((work) => !done.has(work.id))
    .map((work) =>
      work.id === outcome.slackFailure?.id
        ? { ...work, attempts: work.attempts + 1, lastError: outcome.slackFailure.error }
        : work,
    );
  const pendingEvents = timeline.pendingEvents.filter((type) => !outcome.eventsPublished.includes(type));
  const ours = timeline.workClaim?.holder === holder;
  const failed = outcome.slackFailure !== undefined || outcome.eventsFailed;
  const more = ours && !failed && (pending.length > 0 || pendingEvents.length > 0);
  const { workClaim, ...rest } = timeline;
  const thread = timeline.slack.thread ?? outcome.thread;
  return {
    timeline: {
      ...rest,
      slack: { ...(thread ? { thread } : {}), pending },
      pendingEvents,
      ...(ours
        ? more
          ? { workClaim: { holder, since: now.toISOString() } }
          : {}
        : workClaim
          ? { workClaim }
          : {}),
    },
    more,
  };
}
