/** Timeline events: identity, merging without duplicates, and the one order they are kept in. */
import type { TimelineEvent } from './model.js';
import { instantKey } from './timestamps.js';

/** `details.key` when the source gives one, else kind + source + time + summary. */
export function eventIdentity(event: TimelineEvent): string {
  const key = event.details.key;
  if (typeof key === 'string' && key !== '') return `key:${key}`;
  return JSON.stringify([event.kind, event.source, safeInstant(event.at), event.summary]);
}

/** By time, then kind, then summary and identity, so the same events always come out in the same order. */
export function compareEvents(a: TimelineEvent, b: TimelineEvent): number {
  return (
    compareText(safeInstant(a.at), safeInstant(b.at)) ||
    compareText(a.kind, b.kind) ||
    compareText(a.summary, b.summary) ||
    compareText(eventIdentity(a), eventIdentity(b))
  );
}

/**
 * The events of `existing` plus those of `added`, sorted. An event with a source-given `details.key`
 * is evidence that is re-gathered on every update (counts, peaks): its newer copy replaces the stored
 * one in place. Other events keep their first copy. `added` lists only events that were not there
 * before, so a refreshed count is not announced again.
 */
export function mergeEvents(
  existing: readonly TimelineEvent[],
  added: readonly TimelineEvent[],
): { readonly events: TimelineEvent[]; readonly added: TimelineEvent[] } {
  const byIdentity = new Map(existing.map((event) => [eventIdentity(event), event]));
  const fresh: TimelineEvent[] = [];
  for (const event of added) {
    const identity = eventIdentity(event);
    if (!byIdentity.has(identity)) fresh.push(event);
    else if (!identity.startsWith('key:')) continue;
    byIdentity.set(identity, event);
  }
  return { events: [...byIdentity.values()].sort(compareEvents), added: fresh.sort(compareEvents) };
}

function safeInstant(at: string): string {
  try {
    return instantKey(at);
  } catch {
    // A source with a malformed time still sorts, after every well-formed one.
    return `~${at}`;
  }
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
