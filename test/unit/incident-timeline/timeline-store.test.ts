import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  groupPointerKey,
  markdownKey,
  timelineKey,
} from '../../../functions/incident-timeline/incident-identity.js';
import type { ChangingPlan } from '../../../functions/incident-timeline/lifecycle.js';
import type { IncidentTimeline } from '../../../functions/incident-timeline/model.js';
import {
  MAX_WRITE_ATTEMPTS,
  parseTimeline,
  readGroup,
  replaceTimeline,
  updateStoredTimeline,
  WriteConflict,
  writeDecision,
  writeMarkdown,
} from '../../../functions/incident-timeline/timeline-store.js';
import { FsObjectStore } from '../../../functions/shared/adapters/local/fs-object-store.js';
import { PreconditionFailedError, ToillessError } from '../../../functions/shared/errors.js';
import type { PutOptions } from '../../../functions/shared/ports/object-store.js';
import { RecordingClock } from '../../support/recording-clock.js';
import { openingPlan } from './timelines.js';

/** A data-dir store that lets a test run another writer just before a put of this one. */
class RacingStore extends FsObjectStore {
  beforeConditionalPut: ((key: string) => Promise<void>) | undefined;
  beforePlainPut: ((key: string) => Promise<void>) | undefined;

  override async put(key: string, body: Buffer | string, options?: PutOptions): Promise<{ etag: string }> {
    const race = options?.ifMatch !== undefined ? this.beforeConditionalPut : this.beforePlainPut;
    if (race) await race(key);
    return super.put(key, body, options);
  }

  /** A write by another writer: the plain store's put, past the hooks. */
  rivalPut(key: string, body: string, etag?: string): Promise<{ etag: string }> {
    return super.put(key, body, etag === undefined ? {} : { ifMatch: etag });
  }
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

describe('Incident timeline store', () => {
  let dataDir: string;
  let store: RacingStore;
  let clock: RecordingClock;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'toilless-timeline-store-'));
    store = new RacingStore(dataDir);
    clock = new RecordingClock();
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  async function storedTimeline(id: string): Promise<IncidentTimeline | undefined> {
    const object = await store.get(timelineKey(id));
    return object && (JSON.parse(object.body.toString('utf8')) as IncidentTimeline);
  }

  describe('reading a group', () => {
    it('finds nothing for a group never seen', async () => {
      // Act
      const state = await readGroup(store, '{}:{alertname="Nothing"}');

      // Assess
      expect(state).toEqual({});
    });

    it('reads the pointer alone while its incident is not written yet', async () => {
      // Prepare
      const plan = await openingPlan();
      await store.put(groupPointerKey(plan.pointer.groupKey), json(plan.pointer));

      // Act
      const state = await readGroup(store, plan.pointer.groupKey);

      // Assess
      expect(state.pointer?.value).toEqual(plan.pointer);
      expect(state.current).toBeUndefined();
    });

    it('reads the pointer and the incident it names, each with the etag to write against', async () => {
      // Prepare
      const plan = await openingPlan();
      await writeDecision(store, plan, plan.timeline, {});

      // Act
      const state = await readGroup(store, plan.pointer.groupKey);

      // Assess
      expect(state.current?.value).toEqual(plan.timeline);
      expect(state.current?.etag).toBe((await store.get(timelineKey(plan.timeline.id)))?.etag);
      expect(state.pointer?.etag).toBe((await store.get(groupPointerKey(plan.pointer.groupKey)))?.etag);
    });
  });

  describe('writing a decision', () => {
    it('creates the group pointer and the incident of an opening', async () => {
      // Prepare
      const plan = await openingPlan();

      // Act
      await writeDecision(store, plan, plan.timeline, {});

      // Assess
      expect(await storedTimeline(plan.timeline.id)).toEqual(plan.timeline);
      const pointer = await store.get(groupPointerKey(plan.pointer.groupKey));
      expect(JSON.parse(pointer?.body.toString('utf8') ?? '{}')).toEqual(plan.pointer);
      expect(pointer?.contentType).toBe('application/json');
    });

    it('refuses a second opening decided on the same empty state, keeping the first', async () => {
      // Prepare: two notifications read the empty group at once; the first one writes
      const plan = await openingPlan();
      await writeDecision(store, plan, plan.timeline, {});
      const rival = { ...plan.timeline, title: 'written by the slower notification' };

      // Act
      const writing = writeDecision(store, { ...plan, timeline: rival }, rival, {});

      // Assess
      await expect(writing).rejects.toBeInstanceOf(WriteConflict);
      expect((await storedTimeline(plan.timeline.id))?.title).toBe(plan.timeline.title);
    });

    it('refuses to create an incident another notification created after the pointer was read', async () => {
      // Prepare: the pointer exists (read), and the incident is created by someone else meanwhile
      const plan = await openingPlan();
      await store.put(groupPointerKey(plan.pointer.groupKey), json(plan.pointer));
      const state = await readGroup(store, plan.pointer.groupKey);
      await store.putIfAbsent(timelineKey(plan.timeline.id), json(plan.timeline));

      // Act
      const writing = writeDecision(store, plan, { ...plan.timeline, title: 'late' }, state);

      // Assess
      await expect(writing).rejects.toThrow('another notification created the incident');
      expect((await storedTimeline(plan.timeline.id))?.title).toBe(plan.timeline.title);
    });

    it('points the group at the new incident of a re-fire, against the etag it read', async () => {
      // Prepare: the group points at an earlier incident
      const plan = await openingPlan();
      const earlier = { ...plan.pointer, incidentId: 'earlier-incident' };
      await store.put(groupPointerKey(plan.pointer.groupKey), json(earlier));
      const state = await readGroup(store, plan.pointer.groupKey);

      // Act
      await writeDecision(store, plan, plan.timeline, state);

      // Assess
      expect((await readGroup(store, plan.pointer.groupKey)).pointer?.value.incidentId).toBe(
        plan.timeline.id,
      );
    });

    it('refuses to move a pointer that changed since it was read', async () => {
      // Prepare
      const plan = await openingPlan();
      const key = groupPointerKey(plan.pointer.groupKey);
      await store.put(key, json({ ...plan.pointer, incidentId: 'earlier-incident' }));
      const state = await readGroup(store, plan.pointer.groupKey);
      await store.put(key, json({ ...plan.pointer, incidentId: 'moved-meanwhile' }));

      // Act
      const writing = writeDecision(store, plan, plan.timeline, state);

      // Assess
      await expect(writing).rejects.toBeInstanceOf(PreconditionFailedError);
      expect((await readGroup(store, plan.pointer.groupKey)).pointer?.value.incidentId).toBe(
        'moved-meanwhile',
      );
      expect(await store.get(timelineKey(plan.timeline.id))).toBeUndefined();
    });

    it('refuses an update of an incident that changed since it was read', async () => {
      // Prepare
      const opening = await openingPlan();
      await writeDecision(store, opening, opening.timeline, {});
      const state = await readGroup(store, opening.pointer.groupKey);
      await replaceTimeline(store, { ...opening.timeline, severity: 'warning' }, state.current?.etag ?? '');
      const update: ChangingPlan = { kind: 'update', timeline: opening.timeline, changes: opening.changes };

      // Act
      const writing = writeDecision(store, update, { ...opening.timeline, title: 'stale' }, state);

      // Assess
      await expect(writing).rejects.toBeInstanceOf(PreconditionFailedError);
      expect(await storedTimeline(opening.timeline.id)).toMatchObject({
        severity: 'warning',
        title: opening.timeline.title,
      });
    });

    it('treats an update of an incident that is gone as a conflict to read again', async () => {
      // Prepare
      const opening = await openingPlan();
      const update: ChangingPlan = { kind: 'update', timeline: opening.timeline, changes: opening.changes };

      // Act
      const writing = writeDecision(store, update, opening.timeline, {});

      // Assess
      await expect(writing).rejects.toThrow(new WriteConflict('the incident disappeared'));
    });
  });

  describe('updating a stored timeline', () => {
    it('applies the change to what another writer stored meanwhile, after a backoff', async () => {
      // Prepare: another writer records a severity change just before this update's first write
      const opening = await openingPlan();
      await writeDecision(store, opening, opening.timeline, {});
      let raced = false;
      store.beforeConditionalPut = async (key) => {
        if (raced) return;
        raced = true;
        const current = await store.get(key);
        await store.rivalPut(key, json({ ...opening.timeline, severity: 'warning' }), current?.etag);
      };

      // Act
      const written = await updateStoredTimeline(store, clock, opening.timeline.id, (timeline) => ({
        ...timeline,
        nextIncidentId: 'next',
      }));

      // Assess
      expect(written).toMatchObject({ severity: 'warning', nextIncidentId: 'next' });
      expect(await storedTimeline(opening.timeline.id)).toMatchObject({
        severity: 'warning',
        nextIncidentId: 'next',
      });
      expect(clock.sleeps).toHaveLength(1);
    });

    it(`gives up with the store's refusal after ${MAX_WRITE_ATTEMPTS} lost races`, async () => {
      // Prepare: every write of this update loses to another writer
      const opening = await openingPlan();
      await writeDecision(store, opening, opening.timeline, {});
      let rivals = 0;
      store.beforeConditionalPut = async (key) => {
        const current = await store.get(key);
        rivals++;
        await store.rivalPut(key, json({ ...opening.timeline, title: `rival ${rivals}` }), current?.etag);
      };

      // Act
      const updating = updateStoredTimeline(store, clock, opening.timeline.id, (timeline) => ({
        ...timeline,
        nextIncidentId: 'next',
      }));

      // Assess
      await expect(updating).rejects.toBeInstanceOf(PreconditionFailedError);
      expect(rivals).toBe(MAX_WRITE_ATTEMPTS);
      expect(clock.sleeps).toHaveLength(MAX_WRITE_ATTEMPTS - 1);
      expect((await storedTimeline(opening.timeline.id))?.nextIncidentId).toBeUndefined();
    });

    it('writes nothing when the change finds nothing to do, or the incident is gone', async () => {
      // Prepare
      const opening = await openingPlan();
      await writeDecision(store, opening, opening.timeline, {});
      const before = await store.get(timelineKey(opening.timeline.id));

      // Act
      const unchanged = await updateStoredTimeline(store, clock, opening.timeline.id, () => undefined);
      const missing = await updateStoredTimeline(store, clock, 'no-such-incident', (timeline) => timeline);

      // Assess
      expect(unchanged).toBeUndefined();
      expect(missing).toBeUndefined();
      expect((await store.get(timelineKey(opening.timeline.id)))?.etag).toBe(before?.etag);
      expect(await store.get(timelineKey('no-such-incident'))).toBeUndefined();
    });
  });

  describe('timeline.md', () => {
    it('renders the stored JSON, and renders again when newer JSON was stored meanwhile', async () => {
      // Prepare: the first render is overtaken by an update of the JSON
      const opening = await openingPlan();
      await writeDecision(store, opening, opening.timeline, {});
      const rendered: string[] = [];
      const render = (timeline: IncidentTimeline) => {
        rendered.push(timeline.severity);
        return `# ${timeline.title} (${timeline.severity})\n`;
      };
      store.beforePlainPut = async (key) => {
        if (key !== markdownKey(opening.timeline.id) || rendered.length > 1) return;
        await store.rivalPut(
          timelineKey(opening.timeline.id),
          json({ ...opening.timeline, severity: 'warning' }),
        );
      };

      // Act
      await writeMarkdown(store, opening.timeline.id, render);

      // Assess
      expect(rendered).toEqual([opening.timeline.severity, 'warning']);
      const markdown = await store.get(markdownKey(opening.timeline.id));
      expect(markdown?.body.toString('utf8')).toBe(`# ${opening.timeline.title} (warning)\n`);
      expect(markdown?.contentType).toBe('text/markdown; charset=utf-8');
    });

    it('writes the rendering without a flush to disk, the JSON with one', async () => {
      // Prepare
      const opening = await openingPlan();
      const flushes: string[] = [];
      const put = store.put.bind(store);
      store.put = async (key, body, options) => {
        flushes.push(`${options?.flush ?? true} ${key.split('/').at(-1)}`);
        return put(key, body, options);
      };
      await writeDecision(store, opening, opening.timeline, {});
      await replaceTimeline(
        store,
        { ...opening.timeline, severity: 'warning' },
        (await store.get(timelineKey(opening.timeline.id)))?.etag as string,
      );

      // Act
      await writeMarkdown(store, opening.timeline.id, (timeline) => `# ${timeline.title}\n`);

      // Assess
      expect(flushes).toEqual(['true timeline.json', 'false timeline.md']);
    });

    it('stops after five renders while the JSON keeps changing', async () => {
      // Prepare
      const opening = await openingPlan();
      await writeDecision(store, opening, opening.timeline, {});
      let renders = 0;
      const render = (timeline: IncidentTimeline) => {
        renders++;
        return `render ${renders} of ${timeline.id}\n`;
      };
      const original = store.get.bind(store);
      let reads = 0;
      // Every second read (the check after a render) sees a new etag, as if a writer never stopped.
      store.get = async (key) => {
        const object = await original(key);
        reads++;
        return object && reads % 2 === 0 ? { ...object, etag: `changed-${reads}` } : object;
      };

      // Act
      await writeMarkdown(store, opening.timeline.id, render);

      // Assess
      expect(renders).toBe(5);
    });

    it('writes nothing for an incident that is not stored', async () => {
      // Act
      await writeMarkdown(store, 'no-such-incident', () => 'never');

      // Assess
      expect(await store.get(markdownKey('no-such-incident'))).toBeUndefined();
    });
  });

  describe('parsing a stored timeline', () => {
    it('refuses a timeline of a newer schema, naming the key and the remedy', async () => {
      // Prepare
      const opening = await openingPlan();
      await store.put(timelineKey(opening.timeline.id), json({ ...opening.timeline, schemaVersion: 99 }));
      const object = await store.get(timelineKey(opening.timeline.id));

      // Act
      const parsing = () => parseTimeline(object as NonNullable<typeof object>);

      // Assess
      expect(parsing).toThrow(ToillessError);
      expect(parsing).toThrow(
        `${timelineKey(opening.timeline.id)} has schemaVersion 99, which this toilless does not know (it writes 1): upgrade toilless`,
      );
    });

    it('refuses a timeline without a schema version, and one that is not JSON', async () => {
      // Prepare
      await store.put(timelineKey('unversioned'), json({ id: 'unversioned' }));
      await store.put(timelineKey('torn'), '{"schemaVersion": 1, "id": "to');
      const unversioned = await store.get(timelineKey('unversioned'));
      const torn = await store.get(timelineKey('torn'));

      // Act & Assess
      expect(() => parseTimeline(unversioned as NonNullable<typeof unversioned>)).toThrow(
        'has schemaVersion undefined',
      );
      expect(() => parseTimeline(torn as NonNullable<typeof torn>)).toThrow(
        `${timelineKey('torn')} is not valid JSON: restore it from a backup or delete it`,
      );
    });
  });
});
