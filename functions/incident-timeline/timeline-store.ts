/**
 * The incident records in the store, written with compare-and-swap: a group's pointer and its current
 * timeline are read with their etags, and every write names the etag it replaces (or creates only if
 * absent), so that concurrent notifications of one incident never lose an update.
 */

import { PreconditionFailedError, ToillessError } from '../shared/errors.js';
import type { Clock } from '../shared/ports/clock.js';
import type { ObjectStore, StoredObject } from '../shared/ports/object-store.js';
import { parseJson, serializeRecord as serialize, type Versioned } from '../shared/versioned-json.js';
import { groupPointerKey, markdownKey, timelineKey } from './incident-identity.js';
import type { ChangingPlan } from './lifecycle.js';
import { type GroupPointer, type IncidentTimeline, TIMELINE_SCHEMA_VERSION } from './model.js';

/** Reads and compare-and-swap writes of one notification, before giving up and letting the bus retry. */
export const MAX_WRITE_ATTEMPTS = 10;
/** Renders of timeline.md one call does while newer JSON keeps arriving; the newer writer renders it too. */
const MAX_MARKDOWN_RENDERS = 5;
const JSON_TYPE = 'application/json';

/** Another update got there first: read again and re-apply. */
export class WriteConflict extends ToillessError {}

/** Where an Alertmanager group's incident stands in the store, with the etags to write against. */
export interface StoredGroup {
  readonly pointer?: Versioned<GroupPointer>;
  readonly current?: Versioned<IncidentTimeline>;
}

/** The group's pointer and the timeline of the incident it points to, when there are. */
export async function readGroup(store: ObjectStore, groupKey: string): Promise<StoredGroup> {
  const pointerObject = await store.get(groupPointerKey(groupKey));
  if (!pointerObject) return {};
  const pointer = { value: parseJson<GroupPointer>(pointerObject), etag: pointerObject.etag };
  const timelineObject = await store.get(timelineKey(pointer.value.incidentId));
  if (!timelineObject) return { pointer };
  return { pointer, current: { value: parseTimeline(timelineObject), etag: timelineObject.etag } };
}

/** Replaces the stored timeline read with `etag`; throws PreconditionFailedError when it changed since. */
export async function replaceTimeline(
  store: ObjectStore,
  timeline: IncidentTimeline,
  etag: string,
): Promise<void> {
  await store.put(timelineKey(timeline.id), serialize(timeline), { ifMatch: etag, contentType: JSON_TYPE });
}

/**
 * Stores the decided state of `plan` over what `state` read; throws WriteConflict or
 * PreconditionFailedError when another update won.
 */
export async function writeDecision(
  store: ObjectStore,
  plan: ChangingPlan,
  timeline: IncidentTimeline,
  state: StoredGroup,
): Promise<void> {
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
export async function writeMarkdown(
  store: ObjectStore,
  incidentId: string,
  render: (timeline: IncidentTimeline) => string,
): Promise<void> {
  for (let round = 0; round < MAX_MARKDOWN_RENDERS; round++) {
    const stored = await store.get(timelineKey(incidentId));
    if (!stored) return;
    // Rendered again from timeline.json on every change: not flushed to disk.
    await store.put(markdownKey(incidentId), render(parseTimeline(stored)), {
      contentType: 'text/markdown; charset=utf-8',
      flush: false,
    });
    if ((await store.get(timelineKey(incidentId)))?.etag === stored.etag) return;
  }
}

/**
 * Compare-and-swap update of a stored timeline, retried when another writer wins; `change` answers
 * undefined when there is nothing to do. The timeline written, or undefined when none was.
 */
export async function updateStoredTimeline(
  store: ObjectStore,
  clock: Pick<Clock, 'sleep'>,
  incidentId: string,
  change: (timeline: IncidentTimeline) => IncidentTimeline | undefined,
): Promise<IncidentTimeline | undefined> {
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
      await clock.sleep(backoffMs(attempt));
    }
  }
}

/** The stored timeline at `incidentId`, or undefined when there is none. */
export async function readTimeline(
  store: ObjectStore,
  incidentId: string,
): Promise<IncidentTimeline | undefined> {
  const stored = await store.get(timelineKey(incidentId));
  return stored ? parseTimeline(stored) : undefined;
}

/** A stored timeline; one written by a newer toilless (a higher schemaVersion) is refused, not misread. */
export function parseTimeline(object: StoredObject): IncidentTimeline {
  const timeline = parseJson<IncidentTimeline>(object);
  if (typeof timeline.schemaVersion !== 'number' || timeline.schemaVersion > TIMELINE_SCHEMA_VERSION) {
    throw new ToillessError(
      `${object.key} has schemaVersion ${String(timeline.schemaVersion)}, which this toilless does not know (it writes ${TIMELINE_SCHEMA_VERSION}): upgrade toilless`,
    );
  }
  return timeline;
}

/** Full jitter under a doubling cap, so that concurrent updates spread out. */
export function backoffMs(attempt: number): number {
  return Math.floor(Math.random() * Math.min(1_000, 20 * 2 ** attempt));
}
