import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { incidentWindowOf } from '../../../../functions/dora-metrics/metrics/metrics.js';
import type { DoraIncidentRecord } from '../../../../functions/dora-metrics/model.js';
import { readCurrentMetrics } from '../../../../functions/dora-metrics/recompute.js';
import {
  incidentDays,
  mergeIncident,
  migrateIncidentLedger,
  readCriticalIncidents,
  storeIncident,
} from '../../../../functions/dora-metrics/store/incident-records.js';
import { INCIDENT_LEDGER_KEY, incidentKey } from '../../../../functions/dora-metrics/store/store-keys.js';
import { FsObjectStore } from '../../../../functions/shared/adapters/local/fs-object-store.js';
import type {
  IncidentOpenedDetail,
  IncidentResolvedDetail,
} from '../../../../functions/shared/events/types.js';
import type { ObjectStore, PutOptions } from '../../../../functions/shared/ports/object-store.js';
import { deploymentCreated, deploymentStatus, incidentOpened, incidentResolved, sha } from '../events.js';
import { CONFIG, type DoraHarness, startDoraHarness } from '../harness.js';

const opened: IncidentOpenedDetail = {
  incidentId: 'inc-1',
  title: 'Checkout errors',
  services: ['shop'],
  severity: 'warning',
  startedAt: '2026-11-25T09:40:00.000Z',
};

const resolved: IncidentResolvedDetail = {
  ...opened,
  title: 'Checkout errors (payments)',
  services: ['payments'],
  severity: 'critical',
  resolvedAt: '2026-11-25T10:10:00.000Z',
  durationSeconds: 1800,
};

const DAY_MS = 86_400_000;

/** The store, counting what each call does: the operations in order and the bytes read. */
class CountingStore implements ObjectStore {
  operations: string[] = [];
  bytesRead = 0;
  failPutsAfter = Number.POSITIVE_INFINITY;

  constructor(private readonly inner: ObjectStore) {}

  reset(): void {
    this.operations = [];
    this.bytesRead = 0;
  }

  async get(key: string) {
    this.operations.push(`get ${key}`);
    const object = await this.inner.get(key);
    this.bytesRead += object?.body.length ?? 0;
    return object;
  }

  async put(key: string, body: Buffer | string, options?: PutOptions) {
    this.operations.push(`put ${key}`);
    if (this.failPutsAfter-- <= 0) throw new Error('disk unplugged');
    return this.inner.put(key, body, options);
  }

  async putIfAbsent(key: string, body: Buffer | string, options?: Omit<PutOptions, 'ifMatch'>) {
    this.operations.push(`putIfAbsent ${key}`);
    if (this.failPutsAfter-- <= 0) throw new Error('disk unplugged');
    return this.inner.putIfAbsent(key, body, options);
  }

  async delete(key: string) {
    this.operations.push(`delete ${key}`);
    return this.inner.delete(key);
  }

  async *list(prefix: string) {
    this.operations.push(`list ${prefix}`);
    yield* this.inner.list(prefix);
  }
}

function critical(
  id: string,
  startedAt: string,
  resolvedAt?: string,
): IncidentOpenedDetail | IncidentResolvedDetail {
  const base = { incidentId: id, title: id, services: ['shop'], severity: 'critical', startedAt };
  return resolvedAt === undefined
    ? base
    : { ...base, resolvedAt, durationSeconds: (Date.parse(resolvedAt) - Date.parse(startedAt)) / 1000 };
}

const window = (from: string, to: string) => ({ from: new Date(from), to: new Date(to) });

/** The critical incidents of the services these tests use. */
const readIncidents = (store: ObjectStore, span: { from: Date; to: Date }) =>
  readCriticalIncidents(store, span, ['payments', 'shop']);

describe('DORA incident records', () => {
  it('merges to the same record in either arrival order', () => {
    // Act
    const inOrder = mergeIncident(mergeIncident(undefined, opened), resolved);
    const reversed = mergeIncident(mergeIncident(undefined, resolved), opened);

    // Assess
    expect(inOrder).toEqual(reversed);
    expect(inOrder).toMatchObject({
      title: 'Checkout errors (payments)',
      services: ['payments', 'shop'],
      severity: 'critical',
      startedAt: '2026-11-25T09:40:00.000Z',
      resolvedAt: '2026-11-25T10:10:00.000Z',
    });
  });

  it('files an incident under the UTC day it started and the day it was resolved', () => {
    // Act
    const sameDay = incidentDays({ id: 'a', services: [], startedAt: '2026-11-25T09:40:00.000Z' });
    const overnight = incidentDays({
      id: 'b',
      services: [],
      startedAt: '2026-11-25T23:40:00.000Z',
      resolvedAt: '2026-11-26T00:10:00.000Z',
    });

    // Assess
    expect(sameDay).toEqual(['2026-11-25']);
    expect(overnight).toEqual(['2026-11-25', '2026-11-26']);
  });

  it('reads the incidents that started or were resolved in the longest metrics window, and a day ahead', () => {
    // Act
    const { from, to } = incidentWindowOf(new Date('2026-11-28T12:00:00Z'));

    // Assess
    expect(from.toISOString()).toBe('2026-10-29T12:00:00.000Z');
    expect(to.toISOString()).toBe('2026-11-29T12:00:00.000Z');
  });

  describe('in the store', () => {
    let root: string;
    let store: CountingStore;

    beforeEach(async () => {
      root = await mkdtemp(join(tmpdir(), 'toilless-incidents-'));
      store = new CountingStore(new FsObjectStore(root));
    });

    afterEach(async () => {
      await rm(root, { recursive: true, force: true });
    });

    const all = window('2026-01-01T00:00:00Z', '2026-12-31T00:00:00Z');

    it('stores a redelivered event once', async () => {
      // Act
      const first = await storeIncident(store, resolved);
      const again = await storeIncident(store, resolved);

      // Assess
      expect(first.changed).toBe(true);
      expect(again.changed).toBe(false);
      expect(await readIncidents(store, all)).toEqual([
        {
          id: 'inc-1',
          services: ['payments'],
          startedAt: '2026-11-25T09:40:00.000Z',
          resolvedAt: '2026-11-25T10:10:00.000Z',
        },
      ]);
    });

    it('files an incident only once it is critical', async () => {
      // Act
      await storeIncident(store, opened);
      const beforeCritical = await readIncidents(store, all);
      await storeIncident(store, resolved);

      // Assess
      expect(beforeCritical).toEqual([]);
      expect((await readIncidents(store, all)).map((fact) => fact.services)).toEqual([['payments', 'shop']]);
    });

    it('gives the same facts whatever the order and concurrency of the events', async () => {
      // Prepare
      const start = critical('inc-7', '2026-11-25T23:00:00.000Z');
      const end = critical('inc-7', '2026-11-25T23:00:00.000Z', '2026-11-26T02:00:00.000Z');
      const earlierStart = critical('inc-7', '2026-11-24T22:00:00.000Z');

      // Act
      await Promise.all([
        storeIncident(store, end),
        storeIncident(store, start),
        storeIncident(store, earlierStart),
      ]);
      await Promise.all([storeIncident(store, earlierStart), storeIncident(store, end)]);

      // Assess
      const expected = {
        id: 'inc-7',
        services: ['shop'],
        startedAt: '2026-11-24T22:00:00.000Z',
        resolvedAt: '2026-11-26T02:00:00.000Z',
      };
      expect(await readIncidents(store, all)).toEqual([expected]);
      // The day it started and the day it was resolved each find the whole fact.
      for (const day of ['2026-11-24', '2026-11-26']) {
        expect(await readIncidents(store, window(`${day}T00:00:00Z`, `${day}T12:00:00Z`))).toEqual([
          expected,
        ]);
      }
    });

    it('completes the day markers when an event is redelivered after a crash between the writes', async () => {
      // Prepare: the record was written, the process died before its day marker.
      store.failPutsAfter = 1;
      await expect(storeIncident(store, resolved)).rejects.toThrow('disk unplugged');
      store.failPutsAfter = Number.POSITIVE_INFINITY;
      expect(await readIncidents(store, all)).toEqual([]);

      // Act
      const redelivered = await storeIncident(store, resolved);

      // Assess
      expect(redelivered.changed).toBe(true);
      expect((await readIncidents(store, all)).map((fact) => fact.id)).toEqual(['inc-1']);
    });

    it('costs the same store work per event with 1 or 300 incidents stored', async () => {
      // Prepare
      const startOf = (index: number) =>
        new Date(Date.parse('2026-11-01T00:00:00Z') + index * 60_000).toISOString();
      const endOf = (index: number) => new Date(Date.parse(startOf(index)) + 1_800_000).toISOString();
      const eventsOf = async (index: number) => {
        store.reset();
        await storeIncident(store, critical(`inc-${String(index).padStart(4, '0')}`, startOf(index)));
        await storeIncident(
          store,
          critical(`inc-${String(index).padStart(4, '0')}`, startOf(index), endOf(index)),
        );
        return {
          operations: store.operations.map((operation) =>
            operation
              .replace(`inc-${String(index).padStart(4, '0')}`, 'ID')
              .replace(/\d{4}-\d{2}-\d{2}T[\d:.]+Z/g, 'TIME'),
          ),
          bytesRead: store.bytesRead,
        };
      };
      await eventsOf(0);
      const second = await eventsOf(1);
      for (let index = 2; index < 300; index++)
        await storeIncident(store, critical(`inc-${String(index).padStart(4, '0')}`, startOf(index)));

      // Act
      const later = await eventsOf(300);

      // Assess
      expect(later).toEqual(second);
      expect(later.operations.length).toBeLessThanOrEqual(8);
    });

    it('finds the resolved incidents of the window from the listing alone', async () => {
      // Prepare: 90 critical incidents, one a day, each resolved an hour later.
      const first = Date.parse('2026-08-31T10:00:00Z');
      for (let day = 0; day < 90; day++) {
        const startedAt = new Date(first + day * DAY_MS).toISOString();
        const resolvedAt = new Date(first + day * DAY_MS + 3_600_000).toISOString();
        await storeIncident(store, critical(`inc-${day}`, startedAt, resolvedAt));
      }
      store.reset();

      // Act
      const facts = await readIncidents(store, incidentWindowOf(new Date('2026-11-28T12:00:00Z')));

      // Assess: 2026-10-29 to 2026-11-28 (the days of 2026-11-29 have none).
      expect(facts.map((fact) => fact.startedAt.slice(0, 10))).toEqual(
        Array.from({ length: 31 }, (_, day) =>
          new Date(Date.parse('2026-10-29') + day * DAY_MS).toISOString().slice(0, 10),
        ),
      );
      expect(store.operations.filter((operation) => operation.startsWith('get '))).toEqual([]);
      expect(store.operations.filter((operation) => operation.startsWith('list '))).toEqual([
        'list dora/incidents-by-day/2026-10-',
        'list dora/incidents-by-day/2026-11-',
      ]);
    });

    it('reads only the incidents of the services asked for', async () => {
      // Prepare
      await storeIncident(store, critical('inc-shop', '2026-11-20T10:00:00.000Z'));
      await storeIncident(store, {
        ...critical('inc-legacy', '2026-11-20T11:00:00.000Z'),
        services: ['legacy'],
      });
      await storeIncident(store, {
        ...critical('inc-both', '2026-11-20T12:00:00.000Z'),
        services: ['legacy', 'shop'],
      });
      await storeIncident(store, {
        ...critical('inc-both-resolved', '2026-11-20T13:00:00.000Z', '2026-11-20T14:00:00.000Z'),
        services: ['legacy', 'shop'],
      });
      store.reset();

      // Act
      const shop = await readCriticalIncidents(store, all, ['shop']);
      const reads = store.operations.filter((operation) => operation.startsWith('get ')).length;
      const none = await readCriticalIncidents(store, all, []);

      // Assess
      expect(shop.map((fact) => fact.id)).toEqual(['inc-shop', 'inc-both', 'inc-both-resolved']);
      expect(shop.map((fact) => fact.services)).toEqual([['shop'], ['legacy', 'shop'], ['legacy', 'shop']]);
      // The open ones are read from their records; the resolved one comes from the listing.
      expect(reads).toBe(2);
      expect(none).toEqual([]);
    });

    it('finds an incident whose id is too long for a file name', async () => {
      // Prepare
      const id = `inc-${'x'.repeat(200)}`;
      await storeIncident(store, critical(id, '2026-11-20T10:00:00.000Z', '2026-11-20T11:00:00.000Z'));

      // Act
      const facts = await readIncidents(store, all);

      // Assess
      expect(facts.map((fact) => fact.id)).toEqual([id]);
    });

    it('finds an incident that started before the window and was resolved in it', async () => {
      // Prepare
      await storeIncident(
        store,
        critical('inc-long', '2026-09-01T10:00:00.000Z', '2026-11-27T10:00:00.000Z'),
      );
      await storeIncident(store, critical('inc-old', '2026-09-01T11:00:00.000Z', '2026-09-02T10:00:00.000Z'));

      // Act
      const facts = await readIncidents(store, incidentWindowOf(new Date('2026-11-28T12:00:00Z')));

      // Assess
      expect(facts.map((fact) => fact.id)).toEqual(['inc-long']);
    });

    it('reads the current record through a marker left under the day its start moved away from', async () => {
      // Prepare
      await storeIncident(store, critical('inc-8', '2026-11-25T01:00:00.000Z'));
      await storeIncident(store, critical('inc-8', '2026-11-24T23:00:00.000Z'));

      // Act
      const facts = await readIncidents(store, window('2026-11-25T00:00:00Z', '2026-11-25T12:00:00Z'));

      // Assess
      expect(facts).toEqual([{ id: 'inc-8', services: ['shop'], startedAt: '2026-11-24T23:00:00.000Z' }]);
    });

    describe('migration from the whole-file ledger', () => {
      const ledger = {
        schemaVersion: 1,
        incidents: [
          // Its record is there and newer (resolved since the ledger was written).
          { id: 'inc-kept', services: ['shop'], startedAt: '2026-11-20T08:00:00.000Z' },
          // Its record is missing: the ledger is all that is left of it.
          {
            id: 'inc-only-in-ledger',
            services: ['payments'],
            startedAt: '2026-11-21T08:00:00.000Z',
            resolvedAt: '2026-11-21T09:00:00.000Z',
          },
        ],
      };
      const keptRecord: DoraIncidentRecord = {
        schemaVersion: 1,
        incidentId: 'inc-kept',
        title: 'Checkout down',
        services: ['shop'],
        severity: 'critical',
        startedAt: '2026-11-20T08:00:00.000Z',
        resolvedAt: '2026-11-20T09:30:00.000Z',
      };

      beforeEach(async () => {
        await store.put(INCIDENT_LEDGER_KEY, JSON.stringify(ledger));
        await store.put(incidentKey('inc-kept'), JSON.stringify(keptRecord));
      });

      const expected = [
        {
          id: 'inc-kept',
          services: ['shop'],
          startedAt: '2026-11-20T08:00:00.000Z',
          resolvedAt: '2026-11-20T09:30:00.000Z',
        },
        {
          id: 'inc-only-in-ledger',
          services: ['payments'],
          startedAt: '2026-11-21T08:00:00.000Z',
          resolvedAt: '2026-11-21T09:00:00.000Z',
        },
      ];

      it('marks every incident of the ledger under its days, then deletes the ledger', async () => {
        // Act
        const moved = await migrateIncidentLedger(store);

        // Assess
        expect(moved).toBe(2);
        expect(await readIncidents(store, all)).toEqual(expected);
        expect(await store.get(INCIDENT_LEDGER_KEY)).toBeUndefined();
        expect((await store.get(incidentKey('inc-only-in-ledger')))?.body.toString('utf8')).toContain(
          '"severity": "critical"',
        );
        expect(JSON.parse((await store.get(incidentKey('inc-kept')))?.body.toString('utf8') ?? '')).toEqual(
          keptRecord,
        );
      });

      it('finishes a migration a crash cut short, and changes nothing when run again', async () => {
        // Prepare: the process dies after the first incident's writes.
        store.failPutsAfter = 2;
        await expect(migrateIncidentLedger(store)).rejects.toThrow('disk unplugged');
        store.failPutsAfter = Number.POSITIVE_INFINITY;
        expect(await store.get(INCIDENT_LEDGER_KEY)).toBeDefined();

        // Act
        const resumed = await migrateIncidentLedger(store);
        const files = await readdir(join(root, 'dora'), { recursive: true });
        const again = await migrateIncidentLedger(store);

        // Assess
        expect(resumed).toBe(2);
        expect(again).toBe(0);
        expect(await readdir(join(root, 'dora'), { recursive: true })).toEqual(files);
        expect(await readIncidents(store, all)).toEqual(expected);
      });
    });
  });

  describe('for the metrics', () => {
    const NOW = new Date('2026-11-28T12:00:00Z');
    let harness: DoraHarness;

    beforeEach(async () => {
      harness = await startDoraHarness({ now: NOW });
    });

    afterEach(async () => {
      await harness.close();
    });

    /** A successful production deployment of the shop's repository. */
    const deployed = (id: number, at: string) => [
      deploymentCreated({ id, sha: sha(String(id % 10)), createdAt: at }),
      deploymentStatus(
        { id, sha: sha(String(id % 10)), createdAt: at },
        { statusId: id * 10, state: 'success', at },
      ),
    ];

    it('migrates a ledger left by an earlier version before the first incident read', async () => {
      // Prepare
      await harness.handleAll(deployed(901, '2026-11-26T10:00:00Z'));
      await harness.store.put(
        INCIDENT_LEDGER_KEY,
        JSON.stringify({
          schemaVersion: 1,
          incidents: [
            {
              id: 'inc-before-upgrade',
              services: ['shop'],
              startedAt: '2026-11-26T10:30:00.000Z',
              resolvedAt: '2026-11-26T11:00:00.000Z',
            },
          ],
        }),
      );

      // Act
      const metrics = await readCurrentMetrics(harness.history, CONFIG, NOW);

      // Assess
      const week = metrics.find((target) => target.environment === 'production')?.windows[0];
      expect(week?.successesWithIncident).toBe(1);
      expect(week?.timeToRestoreSeconds?.p50).toBe(1_800);
      expect(await harness.store.get(INCIDENT_LEDGER_KEY)).toBeUndefined();
    });

    it('counts the restore of an incident that started before the window', async () => {
      // Prepare: deployed and broken 40 days ago, resolved yesterday.
      harness.setNow(new Date('2026-10-19T12:00:00Z'));
      await harness.handleAll(deployed(902, '2026-10-19T10:00:00Z'));
      await harness.handleAll([
        incidentOpened({
          id: 'inc-long',
          services: ['shop'],
          severity: 'critical',
          startedAt: '2026-10-19T10:30:00Z',
        }),
      ]);
      harness.setNow(NOW);

      // Act
      await harness.handleAll([
        incidentResolved({
          id: 'inc-long',
          services: ['shop'],
          severity: 'critical',
          startedAt: '2026-10-19T10:30:00Z',
          resolvedAt: '2026-11-27T10:30:00Z',
        }),
      ]);

      // Assess
      const labels = { repository: 'Codertocat/Hello-World', environment: 'production', window: '7d' };
      expect(harness.writer.latest('dora_time_to_restore_seconds', { ...labels, quantile: '0.5' })).toBe(
        39 * 86_400,
      );
    });

    it('keeps the attributed incidents of deployments older than the window', async () => {
      // Prepare: an incident counted against a deployment 40 days ago.
      harness.setNow(new Date('2026-10-19T12:00:00Z'));
      await harness.handleAll([
        ...deployed(903, '2026-10-19T10:00:00Z'),
        incidentOpened({
          id: 'inc-then',
          services: ['shop'],
          severity: 'critical',
          startedAt: '2026-10-19T10:30:00Z',
        }),
      ]);
      expect((await harness.record('production', '903')).attributedIncidents).toEqual(['inc-then']);
      harness.setNow(NOW);

      // Act: a deployment and an incident now recompute the same ledger.
      await harness.handleAll([
        ...deployed(904, '2026-11-28T10:00:00Z'),
        incidentOpened({
          id: 'inc-now',
          services: ['shop'],
          severity: 'critical',
          startedAt: '2026-11-28T10:30:00Z',
        }),
      ]);

      // Assess
      expect((await harness.record('production', '903')).attributedIncidents).toEqual(['inc-then']);
      expect((await harness.record('production', '904')).attributedIncidents).toEqual(['inc-now']);
    });
  });
});
