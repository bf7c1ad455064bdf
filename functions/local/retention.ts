/**
 * Local data retention: prunes the data directory by toilless.yaml `retention`, on start and every hour,
 * as the bucket's lifecycle rules do on AWS. Nothing is pruned by default (every period is "forever").
 *
 * - incidents/<id>/: a resolved incident, counted from its resolvedAt; an open incident is never pruned.
 *   incidents/groups/: a group pointer whose incident is gone, once its file is older than the period.
 *   incidents/deploys/: a deploy index entry, counted from the finish time in its key.
 * - deployments/, reports/, dead-letter/: by the file's modification time (its last write).
 */
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { finishedAtOfKey } from '../incident-timeline/deploy-index.js';
import type { FsObjectStore } from '../shared/adapters/local/fs-object-store.js';
import type { Logger } from '../shared/log.js';
import { type Clock, systemClock } from '../shared/ports/clock.js';
import { type RetainedRecords, retentionMs, type ToillessConfig } from '../shared/stack-config.js';

/** How often the local runtime prunes after the prune at start. */
export const PRUNE_INTERVAL_MS = 3_600_000;

/** Keys deleted by one prune, by kind of record. */
export type PruneCounts = Record<RetainedRecords, number>;

/** The part of a stored timeline that decides whether it may go. */
export interface RetainedIncident {
  readonly status?: unknown;
  readonly resolvedAt?: unknown;
}

/** True when the incident was resolved before `cutoff`; open incidents and unreadable times stay. */
export function incidentExpired(timeline: RetainedIncident, cutoff: number): boolean {
  if (timeline.status !== 'resolved' || typeof timeline.resolvedAt !== 'string') return false;
  const resolvedAt = Date.parse(timeline.resolvedAt);
  return Number.isFinite(resolvedAt) && resolvedAt < cutoff;
}

export interface LocalRetentionProps {
  readonly store: FsObjectStore;
  readonly config: ToillessConfig;
  readonly logger: Logger;
  /** @default systemClock */
  readonly clock?: Clock;
  /** @default PRUNE_INTERVAL_MS */
  readonly intervalMs?: number;
}

export class LocalRetention {
  private readonly store: FsObjectStore;
  private readonly config: ToillessConfig;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<PruneCounts> | undefined;

  constructor(props: LocalRetentionProps) {
    this.store = props.store;
    this.config = props.config;
    this.logger = props.logger;
    this.clock = props.clock ?? systemClock;
    this.intervalMs = props.intervalMs ?? PRUNE_INTERVAL_MS;
  }

  /** True when some kind of record has a period other than "forever". */
  get enabled(): boolean {
    return KINDS.some((kind) => retentionMs(this.config, kind) !== undefined);
  }

  /** Prunes now and then every interval, in the background; a failed prune is logged and tried again. */
  start(): void {
    if (!this.enabled || this.timer !== undefined) return;
    const background = () => {
      this.prune().catch((error: unknown) =>
        this.logger.error({ err: error }, 'pruning the data directory failed: trying again next time'),
      );
    };
    background();
    this.timer = setInterval(background, this.intervalMs);
    this.timer.unref();
  }

  /** Stops the schedule and waits for a prune under way. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** Deletes what is past its period; one prune at a time (a second call joins the running one). */
  prune(): Promise<PruneCounts> {
    this.running ??= this.pruneAll().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pruneAll(): Promise<PruneCounts> {
    const now = this.clock.now().getTime();
    const cutoff = (kind: RetainedRecords) => {
      const ms = retentionMs(this.config, kind);
      return ms === undefined ? undefined : now - ms;
    };
    const counts: PruneCounts = { incidents: 0, deployments: 0, reports: 0, deadLetters: 0 };
    const incidents = cutoff('incidents');
    if (incidents !== undefined) counts.incidents = await this.pruneIncidents(incidents);
    for (const [kind, prefix] of [
      ['deployments', 'deployments/'],
      ['reports', 'reports/'],
      ['deadLetters', 'dead-letter/'],
    ] as const) {
      const before = cutoff(kind);
      if (before !== undefined) counts[kind] = await this.pruneByModification(prefix, before);
    }
    const total = Object.values(counts).reduce((sum, count) => sum + count, 0);
    if (total > 0)
      this.logger.info({ deleted: counts }, 'pruned the data directory by toilless.yaml retention');
    return counts;
  }

  private async pruneIncidents(cutoff: number): Promise<number> {
    let deleted = 0;
    const gone = new Set<string>();
    for (const id of await this.childNames('incidents')) {
      if (id === 'groups' || id === 'deploys') continue;
      const stored = await this.store.get(`incidents/${id}/timeline.json`);
      if (!stored || !incidentExpired(parseOrEmpty(stored.body), cutoff)) continue;
      for await (const key of this.store.list(`incidents/${id}/`)) {
        await this.store.delete(key);
        deleted += 1;
      }
      gone.add(id);
    }
    for await (const key of this.store.list('incidents/groups/')) {
      const stored = await this.store.get(key);
      if (!stored) continue;
      const { incidentId } = parseOrEmpty(stored.body) as { incidentId?: unknown };
      if (typeof incidentId !== 'string') continue;
      const missing =
        gone.has(incidentId) || (await this.store.get(`incidents/${incidentId}/timeline.json`)) === undefined;
      if (missing && (await this.modifiedAt(key)) < cutoff) {
        await this.store.delete(key);
        deleted += 1;
      }
    }
    for await (const key of this.store.list('incidents/deploys/')) {
      const finishedAt = finishedAtOfKey(key);
      if (finishedAt !== undefined && finishedAt.getTime() < cutoff) {
        await this.store.delete(key);
        deleted += 1;
      }
    }
    return deleted;
  }

  private async pruneByModification(prefix: string, cutoff: number): Promise<number> {
    let deleted = 0;
    for await (const key of this.store.list(prefix)) {
      if ((await this.modifiedAt(key)) < cutoff) {
        await this.store.delete(key);
        deleted += 1;
      }
    }
    return deleted;
  }

  private async childNames(dirKey: string): Promise<string[]> {
    let entries: Dirent[];
    try {
      entries = await readdir(join(this.store.rootDir, dirKey), { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  }

  /** The key's last write, or +Infinity when it is gone (so it is not deleted). */
  private async modifiedAt(key: string): Promise<number> {
    const info = await stat(join(this.store.rootDir, ...key.split('/'))).catch(() => undefined);
    return info?.mtimeMs ?? Number.POSITIVE_INFINITY;
  }
}

const KINDS: readonly RetainedRecords[] = ['incidents', 'deployments', 'reports', 'deadLetters'];

function parseOrEmpty(body: Buffer): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    // An unreadable record is kept: pruning must never be the reason something is lost by mistake.
    return {};
  }
}
