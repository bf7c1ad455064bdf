import { describe, expect, it } from 'vitest';
import {
  emptyLedger,
  leadTimeWork,
  ledgerEntries,
  ledgerEntryOf,
  ledgerOfEntries,
  withLedgerEntry,
} from '../../../../functions/dora-metrics/metrics/ledger.js';
import type {
  DeploymentRecord,
  LeadTimeFacts,
  LedgerEntry,
} from '../../../../functions/dora-metrics/model.js';

const TARGET = { repository: 'acme/checkout-api', environment: 'production' };

function entry(id: string, finishedAt: string, overrides: Partial<LedgerEntry> = {}): LedgerEntry {
  return {
    id,
    sha: `sha-${id}`,
    outcome: 'success',
    finishedAt,
    leadTime: 'counted',
    leadTimeSeconds: [],
    attributedIncidents: [],
    ...overrides,
  };
}

function ledgerOf(...entries: LedgerEntry[]) {
  return entries.reduce(
    (ledger, next) => withLedgerEntry(ledger, next.id, next, true),
    emptyLedger(TARGET, true),
  );
}

describe('Deployment ledger', () => {
  describe('rows', () => {
    it('keeps rows in finish order, a tie broken by id, whatever order they arrive in', () => {
      // Prepare
      const a = entry('a', '2026-11-26T10:00:00.000Z');
      const b = entry('b', '2026-11-26T09:00:00.000Z');
      const c = entry('c', '2026-11-26T10:00:00.000Z');

      // Act
      const forwards = ledgerOf(b, a, c);
      const backwards = ledgerOf(c, a, b);

      // Assess
      expect(ledgerEntries(forwards).map((row) => row.id)).toEqual(['b', 'a', 'c']);
      expect(JSON.stringify(backwards)).toBe(JSON.stringify(forwards));
    });

    it('replaces the row of a deployment whose finish moved, and removes it when it is no longer finished', () => {
      // Prepare
      const ledger = ledgerOf(entry('a', '2026-11-26T09:00:00.000Z'), entry('b', '2026-11-26T10:00:00.000Z'));

      // Act
      const moved = withLedgerEntry(
        ledger,
        'a',
        entry('a', '2026-11-26T11:00:00.000Z', { outcome: 'failure' }),
        true,
      );
      const removed = withLedgerEntry(moved, 'b', undefined, true);

      // Assess
      expect(ledgerEntries(moved).map((row) => [row.id, row.outcome])).toEqual([
        ['b', 'success'],
        ['a', 'failure'],
      ]);
      expect(ledgerEntries(removed).map((row) => row.id)).toEqual(['a']);
    });

    it('reads back every fact a row was written with', () => {
      // Prepare
      const row = entry('a', '2026-11-26T09:00:00.000Z', {
        previousSha: 'sha-0',
        leadTimeSeconds: [60, 3_600],
        attributedIncidents: ['inc-2', 'inc-1'],
      });

      // Act
      const [read] = ledgerEntries(ledgerOf(row));

      // Assess
      expect(read).toEqual({ ...row, attributedIncidents: ['inc-1', 'inc-2'] });
    });

    it('rebuilds from entries in any order the same bytes as one maintained row by row', () => {
      // Prepare
      const rows = [
        entry('a', '2026-11-26T09:00:00.000Z', { attributedIncidents: ['inc-1'] }),
        entry('b', '2026-11-26T10:00:00.000Z', { outcome: 'failure', leadTime: 'pending' }),
        entry('c', '2026-11-26T11:00:00.000Z', { previousSha: 'sha-a', leadTimeSeconds: [5] }),
      ];

      // Act
      const rebuilt = ledgerOfEntries(TARGET, true, [rows[2], rows[0], rows[1]] as LedgerEntry[]);

      // Assess
      expect(JSON.stringify(rebuilt)).toBe(JSON.stringify(ledgerOf(...rows)));
    });
  });

  describe('the row of a deployment record', () => {
    const facts: LeadTimeFacts = {
      commits: [{ sha: 'c1', authoredAt: '2026-11-26T09:30:00.000Z' }],
      previousSha: 'sha-6',
      firstDeployment: false,
    };
    const record: DeploymentRecord = {
      schemaVersion: 1,
      repository: TARGET.repository,
      environment: TARGET.environment,
      deploymentId: '7',
      source: 'deployment',
      sha: 'sha-7',
      ref: 'main',
      createdAt: '2026-11-26T09:00:00.000Z',
      production: true,
      statuses: [],
      outcome: 'success',
      finishedAt: '2026-11-26T10:00:00.000Z',
      leadTime: facts,
      attributedIncidents: [],
      announced: [],
    };

    it('has no row while the deployment is pending', () => {
      // Act & Assess
      expect(ledgerEntryOf({ ...record, outcome: 'pending' })).toBeUndefined();
    });

    it('counts lead times only when they were resolved against a previous deployment', () => {
      // Act
      const counted = ledgerEntryOf(record);
      const unresolved = ledgerEntryOf({ ...record, leadTime: { ...facts, unresolved: true } });
      const first = ledgerEntryOf({ ...record, leadTime: { commits: [], firstDeployment: true } });
      const { leadTime: _none, ...notYet } = record;
      const pending = ledgerEntryOf(notYet);

      // Assess
      expect(counted).toMatchObject({ leadTime: 'counted', previousSha: 'sha-6', leadTimeSeconds: [1_800] });
      expect(unresolved).toMatchObject({ leadTime: 'unresolved', leadTimeSeconds: [] });
      expect(first).toMatchObject({ leadTime: 'first-deployment', leadTimeSeconds: [] });
      expect(pending).toMatchObject({ leadTime: 'pending', leadTimeSeconds: [] });
    });
  });

  describe('lead-time work', () => {
    it('asks for the lead time of a new success, against the success before it, skipping failures', () => {
      // Prepare
      const ledger = ledgerOf(
        entry('a', '2026-11-26T09:00:00.000Z', { leadTime: 'first-deployment' }),
        entry('b', '2026-11-26T10:00:00.000Z', { outcome: 'failure', leadTime: 'pending' }),
        entry('c', '2026-11-26T11:00:00.000Z', { leadTime: 'pending' }),
      );

      // Act
      const work = leadTimeWork(ledger);

      // Assess
      expect(work.map((item) => [item.entry.id, item.previous?.id])).toEqual([['c', 'a']]);
    });

    it('recomputes the next success when an earlier deployment arrives late, so no commit counts twice', () => {
      // Prepare: c was counted against a; then b, finished between them, arrives
      const counted = ledgerOf(
        entry('a', '2026-11-26T09:00:00.000Z', { leadTime: 'first-deployment' }),
        entry('c', '2026-11-26T11:00:00.000Z', { previousSha: 'sha-a' }),
      );
      expect(leadTimeWork(counted)).toEqual([]);

      // Act
      const late = withLedgerEntry(
        counted,
        'b',
        entry('b', '2026-11-26T10:00:00.000Z', { leadTime: 'pending' }),
        true,
      );

      // Assess
      expect(leadTimeWork(late).map((item) => [item.entry.id, item.previous?.id])).toEqual([
        ['b', 'a'],
        ['c', 'b'],
      ]);
    });

    it('makes a deployment counted as the first one count again once an earlier success arrives', () => {
      // Prepare
      const ledger = ledgerOf(
        entry('a', '2026-11-26T09:00:00.000Z'),
        entry('b', '2026-11-26T10:00:00.000Z', { leadTime: 'first-deployment' }),
      );

      // Act
      const work = leadTimeWork(ledger);

      // Assess: a was counted against nothing, b as first although a precedes it
      expect(work.map((item) => item.entry.id)).toEqual(['a', 'b']);
    });

    it('retries an unresolved lead time only when a push for its sha arrives', () => {
      // Prepare
      const ledger = ledgerOf(
        entry('a', '2026-11-26T09:00:00.000Z', { leadTime: 'first-deployment' }),
        entry('b', '2026-11-26T10:00:00.000Z', { leadTime: 'unresolved', previousSha: 'sha-a' }),
      );

      // Act
      const withoutPush = leadTimeWork(ledger);
      const otherPush = leadTimeWork(ledger, 'sha-x');
      const itsPush = leadTimeWork(ledger, 'sha-b');

      // Assess
      expect(withoutPush).toEqual([]);
      expect(otherPush).toEqual([]);
      expect(itsPush.map((item) => item.entry.id)).toEqual(['b']);
    });
  });
});
