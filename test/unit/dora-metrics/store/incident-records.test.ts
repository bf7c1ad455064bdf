import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  mergeIncident,
  readIncidentLedger,
  storeIncident,
  withIncident,
} from '../../../../functions/dora-metrics/store/incident-records.js';
import { FsObjectStore } from '../../../../functions/shared/adapters/local/fs-object-store.js';
import type {
  IncidentOpenedDetail,
  IncidentResolvedDetail,
} from '../../../../functions/shared/events/types.js';

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

  it('keeps only critical incidents in the ledger, ordered by start', () => {
    // Prepare
    const early = mergeIncident(undefined, {
      ...resolved,
      incidentId: 'inc-0',
      startedAt: '2026-11-24T09:00:00.000Z',
    });
    const critical = mergeIncident(undefined, resolved);
    const warning = mergeIncident(undefined, { ...opened, incidentId: 'inc-2' });

    // Act
    const ledger = withIncident(withIncident(withIncident(undefined, critical), warning), early);
    const downgraded = withIncident(ledger, { ...critical, severity: 'warning' });

    // Assess
    expect(ledger.incidents.map((fact) => fact.id)).toEqual(['inc-0', 'inc-1']);
    expect(downgraded.incidents.map((fact) => fact.id)).toEqual(['inc-0']);
  });

  describe('in the store', () => {
    let root: string;
    let store: FsObjectStore;

    beforeEach(async () => {
      root = await mkdtemp(join(tmpdir(), 'toilless-incidents-'));
      store = new FsObjectStore(root);
    });

    afterEach(async () => {
      await rm(root, { recursive: true, force: true });
    });

    it('stores a redelivered event once', async () => {
      // Act
      const first = await storeIncident(store, resolved);
      const again = await storeIncident(store, resolved);

      // Assess
      expect(first.changed).toBe(true);
      expect(again.changed).toBe(false);
      expect((await readIncidentLedger(store)).incidents).toEqual([
        {
          id: 'inc-1',
          services: ['payments'],
          startedAt: '2026-11-25T09:40:00.000Z',
          resolvedAt: '2026-11-25T10:10:00.000Z',
        },
      ]);
    });

    it('reads an empty ledger when no incident was ever stored', async () => {
      // Act
      const ledger = await readIncidentLedger(store);

      // Assess
      expect(ledger.incidents).toEqual([]);
    });
  });
});
