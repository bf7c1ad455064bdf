/**
 * The DORA history in the store: deployment records, their ledgers, changes and incidents, each written
 * with compare-and-swap so that concurrent, repeated and reordered events give the same result. The
 * worker calls this for webhooks; a backfill calls the same methods with records read from the GitHub API.
 */
import type {
  GitHubPullRequestDetail,
  IncidentOpenedDetail,
  IncidentResolvedDetail,
} from '../../shared/events/types.js';
import type { Logger } from '../../shared/log.js';
import type { ObjectStore, StoredObject } from '../../shared/ports/object-store.js';
import type { ToillessConfig } from '../../shared/stack-config.js';
import {
  parseJson,
  readJson,
  serializeCompact,
  serializeRecord,
  updateJson,
} from '../../shared/versioned-json.js';
import {
  applyDeploymentChange,
  canonicalDeploymentRecord,
  type DeploymentChange,
} from '../metrics/deployment-record.js';
import { computeLeadTimeFacts } from '../metrics/lead-time.js';
import {
  leadTimeWork,
  ledgerEntries,
  ledgerEntryOf,
  ledgerOfEntries,
  withLedgerEntry,
} from '../metrics/ledger.js';
import { isProductionEnvironment } from '../metrics/mapping.js';
import {
  type DeploymentLedger,
  type DeploymentRecord,
  type DeploymentTarget,
  type IncidentFact,
  LEDGER_SCHEMA_VERSION,
  type LedgerEntry,
  type PushRecord,
  type TerminalOutcome,
} from '../model.js';
import { storePullRequest, storePush } from './change-records.js';
import type { CommitSource } from './commit-source.js';
import {
  type IncidentWindow,
  migrateIncidentLedger,
  readCriticalIncidents,
  type StoredIncident,
  storeIncident,
} from './incident-records.js';
import { deploymentKey, deploymentPrefix, ledgerKey, ledgerPrefix, targetOfLedgerKey } from './store-keys.js';

export interface DoraHistoryDependencies {
  readonly store: ObjectStore;
  /** stack-config/toilless.yaml: `dora` (production environments) and `services`. */
  readonly config: ToillessConfig;
  /** Which commits a deployment shipped, for lead time. */
  readonly commits: CommitSource;
  readonly logger: Logger;
}

export interface DeploymentUpdate {
  /** The record as stored after the update (lead time included when it was computed). */
  readonly record: DeploymentRecord;
  /** Whether the record, the ledger or any lead time changed. */
  readonly changed: boolean;
  /** Whether the ledger changed, and so the metrics may have. */
  readonly ledgerChanged: boolean;
}

/** Rounds of lead-time reconciliation per call; each round normally finds nothing left after the first. */
const MAX_RECONCILE_ROUNDS = 3;

const serializeDeployment = (record: DeploymentRecord) => serializeRecord(canonicalDeploymentRecord(record));

export class DoraHistory {
  private readonly store: ObjectStore;
  private readonly config: ToillessConfig;
  private readonly commits: CommitSource;
  private readonly logger: Logger;
  /** The move of an earlier version's incident ledger, done once before the first incident read. */
  private ledgerMigration: Promise<unknown> | undefined;

  constructor(deps: DoraHistoryDependencies) {
    this.store = deps.store;
    this.config = deps.config;
    this.commits = deps.commits;
    this.logger = deps.logger;
  }

  /**
   * Stores what an event says about a deployment, updates its ledger entry, and computes the lead time
   * of every successful deployment of that repository/environment whose predecessor it does not match.
   */
  async recordDeploymentChange(change: DeploymentChange): Promise<DeploymentUpdate> {
    const key = deploymentKey(change.repository, change.environment, change.deploymentId);
    const stored = await updateJson<DeploymentRecord>(
      this.store,
      key,
      (current) => applyDeploymentChange(this.config, current, change),
      { serialize: serializeDeployment },
    );
    const target = { repository: change.repository, environment: change.environment };
    const ledgerChanged = await this.syncLedgerEntry(target, change.deploymentId);
    const leadTimesChanged = await this.reconcileLeadTimes(target);
    const record = leadTimesChanged ? await this.deployment(target, change.deploymentId) : stored.value;
    return {
      record: record as DeploymentRecord,
      changed: stored.changed || ledgerChanged || leadTimesChanged,
      ledgerChanged: ledgerChanged || leadTimesChanged,
    };
  }

  /** The stored record of one deployment. */
  async deployment(target: DeploymentTarget, deploymentId: string): Promise<DeploymentRecord | undefined> {
    const key = deploymentKey(target.repository, target.environment, deploymentId);
    return (await readJson<DeploymentRecord>(this.store, key))?.value;
  }

  /**
   * Makes the ledger entry match the stored record. The record is read inside the compare-and-swap loop,
   * after the ledger, so a slower writer holding an older record can never overwrite a newer entry.
   */
  async syncLedgerEntry(target: DeploymentTarget, deploymentId: string): Promise<boolean> {
    const production = isProductionEnvironment(this.config, target.environment);
    const result = await updateJson<DeploymentLedger | undefined>(
      this.store,
      ledgerKey(target.repository, target.environment),
      async (current) => {
        const ledger = current ?? (await this.ledgerFromRecords(target));
        const record = await this.deployment(target, deploymentId);
        const entry = record === undefined ? undefined : ledgerEntryOf(record);
        return withLedgerEntry(ledger, deploymentId, entry, production);
      },
      { serialize: serializeCompact, parse: parseLedger },
    );
    return result.changed;
  }

  /**
   * Computes lead-time facts for the successful deployments that lack them or whose previous successful
   * deployment changed (a late arrival, a changed outcome). `retrySha`: also retry unresolved deployments
   * of that sha (a push for it just arrived). True when any record changed.
   */
  async reconcileLeadTimes(target: DeploymentTarget, retrySha?: string): Promise<boolean> {
    let changed = false;
    for (let round = 0; round < MAX_RECONCILE_ROUNDS; round++) {
      const work = leadTimeWork(await this.ledger(target), round === 0 ? retrySha : undefined);
      if (work.length === 0) break;
      for (const { entry, previous } of work) {
        const facts = await computeLeadTimeFacts(
          { store: this.store, commits: this.commits },
          target.repository,
          entry.sha,
          previous?.sha,
        );
        if (facts.unresolved) {
          this.logger.info(
            { ...target, deploymentId: entry.id, previousSha: previous?.sha, sha: entry.sha },
            'lead time unresolved: the commit source does not know the commits between the two deployments',
          );
        }
        if (facts.omittedCommits) {
          this.logger.info(
            {
              ...target,
              deploymentId: entry.id,
              previousSha: previous?.sha,
              sha: entry.sha,
              omittedCommits: facts.omittedCommits,
            },
            'lead time counts the oldest commits only: the range is longer than the commit source reads',
          );
        }
        const key = deploymentKey(target.repository, target.environment, entry.id);
        const stored = await updateJson<DeploymentRecord>(
          this.store,
          key,
          (current) => (current === undefined ? undefined : { ...current, leadTime: facts }),
          { serialize: serializeDeployment },
        );
        const synced = await this.syncLedgerEntry(target, entry.id);
        changed = changed || stored.changed || synced;
      }
    }
    return changed;
  }

  /** The ledger of a repository/environment, rebuilt from the records when it is missing or outdated. */
  async ledger(target: DeploymentTarget): Promise<DeploymentLedger> {
    const object = await this.store.get(ledgerKey(target.repository, target.environment));
    const ledger = object === undefined ? undefined : parseLedger(object);
    return ledger ?? (await this.rebuildLedger(target));
  }

  /**
   * Rebuilds a ledger from the deployment records (reads every record of the repository/environment:
   * for a missing or outdated ledger, or after records were written some other way). Entries added
   * meanwhile by other writers are kept.
   */
  async rebuildLedger(target: DeploymentTarget): Promise<DeploymentLedger> {
    const rebuilt = await this.ledgerFromRecords(target);
    const ids = new Set(rebuilt.deployments.id);
    const result = await updateJson<DeploymentLedger | undefined>(
      this.store,
      ledgerKey(target.repository, target.environment),
      (current) => {
        const added =
          current === undefined ? [] : ledgerEntries(current).filter((entry) => !ids.has(entry.id));
        if (added.length === 0) return rebuilt;
        return ledgerOfEntries(target, rebuilt.production, [...ledgerEntries(rebuilt), ...added]);
      },
      { serialize: serializeCompact, parse: parseLedger },
    );
    return result.value ?? rebuilt;
  }

  private async ledgerFromRecords(target: DeploymentTarget): Promise<DeploymentLedger> {
    const entries: LedgerEntry[] = [];
    for await (const key of this.store.list(deploymentPrefix(target.repository, target.environment))) {
      const record = (await readJson<DeploymentRecord>(this.store, key))?.value;
      const entry = record === undefined ? undefined : ledgerEntryOf(record);
      if (entry !== undefined) entries.push(entry);
    }
    return ledgerOfEntries(target, isProductionEnvironment(this.config, target.environment), entries);
  }

  /** The repositories/environments that have a ledger, optionally of one repository (any letter case). */
  async targets(repository?: string): Promise<DeploymentTarget[]> {
    const targets: DeploymentTarget[] = [];
    for await (const key of this.store.list(ledgerPrefix())) {
      const target = targetOfLedgerKey(key);
      if (target === undefined) continue;
      if (repository !== undefined && target.repository.toLowerCase() !== repository.toLowerCase()) continue;
      targets.push(target);
    }
    return targets;
  }

  /** Stores a push; true when it was new. */
  async recordPush(push: PushRecord): Promise<boolean> {
    return storePush(this.store, push);
  }

  /** Stores a merged pull request (closed unmerged ones are ignored); true when the store changed. */
  async recordPullRequest(detail: GitHubPullRequestDetail, firstCommitAt?: string): Promise<boolean> {
    return storePullRequest(this.store, detail, firstCommitAt);
  }

  async recordIncident(detail: IncidentOpenedDetail | IncidentResolvedDetail): Promise<StoredIncident> {
    return storeIncident(this.store, detail);
  }

  /** The critical incidents of any of `services` that started or were resolved in the window, by start. */
  async incidents(window: IncidentWindow, services: readonly string[]): Promise<IncidentFact[]> {
    this.ledgerMigration ??= migrateIncidentLedger(this.store, this.logger).catch((error: unknown) => {
      this.ledgerMigration = undefined; // the next read tries again
      throw error;
    });
    await this.ledgerMigration;
    return readCriticalIncidents(this.store, window, services);
  }

  /**
   * Stores the incidents attributed to a deployment (a copy for readers: the metrics recompute it).
   * True when the record changed.
   */
  async setAttributedIncidents(
    target: DeploymentTarget,
    deploymentId: string,
    incidentIds: readonly string[],
  ): Promise<boolean> {
    const wanted = [...incidentIds].sort();
    const key = deploymentKey(target.repository, target.environment, deploymentId);
    const stored = await updateJson<DeploymentRecord>(
      this.store,
      key,
      (current) => (current === undefined ? undefined : { ...current, attributedIncidents: wanted }),
      { serialize: serializeDeployment },
    );
    const synced = await this.syncLedgerEntry(target, deploymentId);
    return stored.changed || synced;
  }

  /**
   * Marks an outcome as announced, if the record still has it and no one announced it yet: true means this
   * caller publishes it. Concurrent callers race on compare-and-swap, so only one wins.
   */
  async claimAnnouncement(record: DeploymentRecord, outcome: TerminalOutcome): Promise<boolean> {
    const result = await updateJson<DeploymentRecord>(
      this.store,
      deploymentKey(record.repository, record.environment, record.deploymentId),
      (current) =>
        current === undefined || current.outcome !== outcome || current.announced.includes(outcome)
          ? undefined
          : { ...current, announced: [...current.announced, outcome] },
      { serialize: serializeDeployment },
    );
    return result.changed;
  }

  /** Undoes a claim whose publication failed, so that a retry of the event publishes it. */
  async releaseAnnouncement(record: DeploymentRecord, outcome: TerminalOutcome): Promise<void> {
    await updateJson<DeploymentRecord>(
      this.store,
      deploymentKey(record.repository, record.environment, record.deploymentId),
      (current) =>
        current === undefined || !current.announced.includes(outcome)
          ? undefined
          : { ...current, announced: current.announced.filter((announced) => announced !== outcome) },
      { serialize: serializeDeployment },
    );
  }
}

/** A ledger of this schema version, or undefined (outdated or foreign: rebuilt from the records). */
function parseLedger(object: StoredObject): DeploymentLedger | undefined {
  const ledger = parseJson<DeploymentLedger>(object, 'a ledger is rebuilt from the records');
  return ledger?.schemaVersion === LEDGER_SCHEMA_VERSION && Array.isArray(ledger.deployments?.id)
    ? ledger
    : undefined;
}
