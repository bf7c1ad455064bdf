import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { changeOfDeploymentStatus } from '../../../../functions/dora-metrics/metrics/deployment-record.js';
import { ledgerEntries } from '../../../../functions/dora-metrics/metrics/ledger.js';
import { pushRecordOf } from '../../../../functions/dora-metrics/store/change-records.js';
import { StoredPushCommitSource } from '../../../../functions/dora-metrics/store/commit-source.js';
import { DoraHistory } from '../../../../functions/dora-metrics/store/dora-history.js';
import { deploymentKey, ledgerKey } from '../../../../functions/dora-metrics/store/store-keys.js';
import { FsObjectStore } from '../../../../functions/shared/adapters/local/fs-object-store.js';
import { silentLogger } from '../../../../functions/shared/log.js';
import { parseToillessConfig } from '../../../../functions/shared/stack-config.js';
import { type DeploymentFacts, deploymentStatus, pushed, REPOSITORY, sha } from '../events.js';

const config = parseToillessConfig('');
const TARGET = { repository: REPOSITORY, environment: 'production' };

function succeeded(facts: DeploymentFacts, at: string, statusId = facts.id * 10) {
  return changeOfDeploymentStatus(deploymentStatus(facts, { statusId, state: 'success', at }).detail);
}

function failed(facts: DeploymentFacts, at: string, statusId = facts.id * 10 + 1) {
  return changeOfDeploymentStatus(deploymentStatus(facts, { statusId, state: 'failure', at }).detail);
}

const FIRST: DeploymentFacts = { id: 1, sha: sha('a'), createdAt: '2026-11-26T09:00:00Z' };
const SECOND: DeploymentFacts = { id: 2, sha: sha('b'), createdAt: '2026-11-26T10:00:00Z' };

describe('DORA history in the store', () => {
  let dataDir: string;
  let store: FsObjectStore;
  let history: DoraHistory;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'toilless-dora-history-'));
    store = new FsObjectStore(dataDir);
    history = new DoraHistory({
      store,
      config,
      commits: new StoredPushCommitSource(store),
      logger: silentLogger,
    });
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  async function bytes(key: string): Promise<string | undefined> {
    return (await store.get(key))?.body.toString('utf8');
  }

  describe('deployments', () => {
    it('stores the record and its ledger row, and reports a repeated change as no change', async () => {
      // Act
      const first = await history.recordDeploymentChange(succeeded(FIRST, '2026-11-26T09:05:00Z'));
      const again = await history.recordDeploymentChange(succeeded(FIRST, '2026-11-26T09:05:00Z'));

      // Assess
      expect(first).toMatchObject({ changed: true, ledgerChanged: true });
      expect(first.record).toMatchObject({ outcome: 'success', production: true });
      expect(first.record.leadTime).toMatchObject({ firstDeployment: true, commits: [] });
      expect(again).toMatchObject({ changed: false, ledgerChanged: false });
      expect(ledgerEntries(await history.ledger(TARGET)).map((row) => row.id)).toEqual(['1']);
    });

    it('resolves a lead time left unresolved once the push of its sha arrives', async () => {
      // Prepare: the second deployment's commits are unknown when it finishes
      await history.recordDeploymentChange(succeeded(FIRST, '2026-11-26T09:05:00Z'));
      const update = await history.recordDeploymentChange(succeeded(SECOND, '2026-11-26T10:05:00Z'));
      expect(update.record.leadTime?.unresolved).toBe(true);
      const push = pushed({
        before: sha('a'),
        after: sha('b'),
        commits: [{ sha: sha('b'), authoredAt: '2026-11-26T09:35:00Z' }],
      });
      await history.recordPush(pushRecordOf(push.detail));

      // Act
      const unrelated = await history.reconcileLeadTimes(TARGET, sha('c'));
      const resolved = await history.reconcileLeadTimes(TARGET, sha('b'));

      // Assess
      expect(unrelated).toBe(false);
      expect(resolved).toBe(true);
      const [, row] = ledgerEntries(await history.ledger(TARGET));
      expect(row).toMatchObject({ id: '2', leadTime: 'counted', leadTimeSeconds: [1_800] });
    });
  });

  describe('announcements', () => {
    it('lets one of several concurrent claims of an outcome win', async () => {
      // Prepare
      const { record } = await history.recordDeploymentChange(succeeded(FIRST, '2026-11-26T09:05:00Z'));

      // Act
      const claims = await Promise.all([1, 2, 3].map(() => history.claimAnnouncement(record, 'success')));

      // Assess
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect((await history.deployment(TARGET, '1'))?.announced).toEqual(['success']);
    });

    it('refuses to claim an outcome the deployment no longer has', async () => {
      // Prepare: a success read by one caller, then a later failure stored by another
      const { record } = await history.recordDeploymentChange(succeeded(FIRST, '2026-11-26T09:05:00Z'));
      await history.recordDeploymentChange(failed(FIRST, '2026-11-26T09:10:00Z'));

      // Act
      const claimed = await history.claimAnnouncement(record, 'success');

      // Assess
      expect(claimed).toBe(false);
      expect((await history.deployment(TARGET, '1'))?.announced).toEqual([]);
    });

    it('gives a released claim to the next caller, so that a failed publication is retried', async () => {
      // Prepare
      const { record } = await history.recordDeploymentChange(succeeded(FIRST, '2026-11-26T09:05:00Z'));
      await history.claimAnnouncement(record, 'success');

      // Act
      await history.releaseAnnouncement(record, 'success');
      const retried = await history.claimAnnouncement(record, 'success');

      // Assess
      expect(retried).toBe(true);
    });
  });

  describe('ledgers', () => {
    it('rebuilds a missing ledger from the deployment records, byte for byte', async () => {
      // Prepare
      await history.recordDeploymentChange(succeeded(FIRST, '2026-11-26T09:05:00Z'));
      await history.recordDeploymentChange(failed(SECOND, '2026-11-26T10:05:00Z'));
      const kept = await bytes(ledgerKey(REPOSITORY, 'production'));
      await store.delete(ledgerKey(REPOSITORY, 'production'));

      // Act
      const ledger = await history.ledger(TARGET);

      // Assess
      expect(ledgerEntries(ledger).map((row) => [row.id, row.outcome])).toEqual([
        ['1', 'success'],
        ['2', 'failure'],
      ]);
      expect(await bytes(ledgerKey(REPOSITORY, 'production'))).toBe(kept);
    });

    it('rebuilds a ledger of another schema version instead of reading it', async () => {
      // Prepare
      await history.recordDeploymentChange(succeeded(FIRST, '2026-11-26T09:05:00Z'));
      await store.put(
        ledgerKey(REPOSITORY, 'production'),
        JSON.stringify({ schemaVersion: 99, deployments: {} }),
      );

      // Act
      const ledger = await history.ledger(TARGET);

      // Assess
      expect(ledgerEntries(ledger).map((row) => row.id)).toEqual(['1']);
    });

    it('refuses a ledger that is not JSON, saying it is rebuilt when deleted', async () => {
      // Prepare
      await store.put(ledgerKey(REPOSITORY, 'production'), '{"schemaVersion": 1, "deploy');

      // Act
      const reading = history.ledger(TARGET);

      // Assess
      await expect(reading).rejects.toThrow(
        `${ledgerKey(REPOSITORY, 'production')} is not valid JSON: restore it from a backup or delete it (a ledger is rebuilt from the records)`,
      );
    });

    it('keeps rows other writers added while a rebuild read the records', async () => {
      // Prepare: the ledger knows a deployment whose record this rebuild does not see
      await history.recordDeploymentChange(succeeded(FIRST, '2026-11-26T09:05:00Z'));
      await history.recordDeploymentChange(succeeded(SECOND, '2026-11-26T10:05:00Z'));
      await store.delete(deploymentKey(REPOSITORY, 'production', '2'));

      // Act
      const ledger = await history.rebuildLedger(TARGET);

      // Assess
      expect(ledgerEntries(ledger).map((row) => row.id)).toEqual(['1', '2']);
    });

    it('lists the targets that have a ledger, of one repository in any letter case', async () => {
      // Prepare
      await history.recordDeploymentChange(succeeded(FIRST, '2026-11-26T09:05:00Z'));
      await history.recordDeploymentChange(
        succeeded({ ...SECOND, environment: 'staging' }, '2026-11-26T10:05:00Z'),
      );
      await history.recordDeploymentChange(
        succeeded(
          { id: 3, sha: sha('c'), createdAt: '2026-11-26T11:00:00Z', repository: 'acme/other' },
          '2026-11-26T11:05:00Z',
        ),
      );

      // Act
      const all = await history.targets();
      const one = await history.targets(REPOSITORY.toUpperCase());

      // Assess
      expect(all).toHaveLength(3);
      expect(one).toEqual(
        expect.arrayContaining([
          { repository: REPOSITORY, environment: 'production' },
          { repository: REPOSITORY, environment: 'staging' },
        ]),
      );
      expect(one).toHaveLength(2);
    });
  });
});
