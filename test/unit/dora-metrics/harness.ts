/** The DORA worker wired to real local parts: a data directory store, a recording bus and metrics writer. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { MetricsWriter } from '../../../functions/dora-metrics/metrics-writer.js';
import type { DeploymentRecord } from '../../../functions/dora-metrics/model.js';
import {
  type CommitSource,
  StoredPushCommitSource,
} from '../../../functions/dora-metrics/store/commit-source.js';
import { DoraHistory } from '../../../functions/dora-metrics/store/dora-history.js';
import { deploymentKey } from '../../../functions/dora-metrics/store/store-keys.js';
import { createDoraMetricsWorker, type DoraMetricsWorker } from '../../../functions/dora-metrics/worker.js';
import { FsObjectStore } from '../../../functions/shared/adapters/local/fs-object-store.js';
import { UpstreamError } from '../../../functions/shared/errors.js';
import type { ToillessEvent } from '../../../functions/shared/events/types.js';
import { createLogger } from '../../../functions/shared/log.js';
import type { Clock } from '../../../functions/shared/ports/clock.js';
import type { TimeSeries } from '../../../functions/shared/prometheus/remote-write.js';
import { parseToillessConfig, type ToillessConfig } from '../../../functions/shared/stack-config.js';
import { RecordingBus } from '../../support/recording-bus.js';
import { REPOSITORY } from './events.js';

/** shop is deployed from the examples' repository, payments from another; `legacy` is not configured. */
export const CONFIG = parseToillessConfig(
  [
    'services:',
    '  shop:',
    `    repositories: [${REPOSITORY}]`,
    '  payments:',
    '    repositories: [Codertocat/payments]',
  ].join('\n'),
);

/** A remote-write receiver stand-in: keeps every write, and refuses the next ones when told to. */
export class RecordingWriter implements MetricsWriter {
  readonly writes: TimeSeries[][] = [];
  private failuresLeft = 0;

  failNext(times = 1): this {
    this.failuresLeft = times;
    return this;
  }

  async write(series: readonly TimeSeries[]): Promise<void> {
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      throw new UpstreamError('prometheus remote-write', '503 Service Unavailable (5 attempts)', 503);
    }
    this.writes.push([...series]);
  }

  /** The value of the newest sample written for the series with exactly these labels (besides the name). */
  latest(name: string, labels: Record<string, string>): number | undefined {
    for (let index = this.writes.length - 1; index >= 0; index--) {
      const found = (this.writes[index] as TimeSeries[]).find((series) => matches(series, name, labels));
      if (found) return found.samples.at(-1)?.value;
    }
    return undefined;
  }

  /** Every series name and label set of the last write, as `name{k=v,...}` strings. */
  lastWriteKeys(): string[] {
    return (this.writes.at(-1) ?? []).map(({ labels }) => {
      const { __name__, ...rest } = labels;
      const pairs = Object.entries(rest)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([key, value]) => `${key}=${value}`);
      return `${__name__}{${pairs.join(',')}}`;
    });
  }
}

function matches(series: TimeSeries, name: string, labels: Record<string, string>): boolean {
  const { __name__, ...rest } = series.labels;
  if (__name__ !== name) return false;
  const keys = Object.keys(rest);
  return keys.length === Object.keys(labels).length && keys.every((key) => rest[key] === labels[key]);
}

export interface HarnessOptions {
  readonly now: Date;
  readonly config?: ToillessConfig;
  readonly annotate?: (deployment: DeploymentRecord) => Promise<void>;
  /** Where the shipped commits come from. @default the pushes in the harness's store */
  readonly commits?: (store: FsObjectStore) => CommitSource;
}

export interface DoraHarness {
  readonly dataDir: string;
  readonly store: FsObjectStore;
  readonly bus: RecordingBus;
  readonly writer: RecordingWriter;
  readonly worker: DoraMetricsWorker;
  /** The same store read through the history API (as a backfill or `dora show` would). */
  readonly history: DoraHistory;
  /** Log lines the worker wrote, parsed. */
  readonly logs: Record<string, unknown>[];
  /** Moves the clock. */
  setNow(now: Date): void;
  /** Handles the events one after another. */
  handleAll(events: readonly ToillessEvent[]): Promise<void>;
  record(environment: string, deploymentId: string): Promise<DeploymentRecord>;
  close(): Promise<void>;
}

export async function startDoraHarness(options: HarnessOptions): Promise<DoraHarness> {
  const dataDir = await mkdtemp(join(tmpdir(), 'toilless-dora-'));
  const store = new FsObjectStore(dataDir);
  const bus = new RecordingBus();
  const writer = new RecordingWriter();
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({
    name: 'dora-metrics',
    level: 'debug',
    destination: new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) logs.push(JSON.parse(line));
        done();
      },
    }),
  });
  let now = options.now;
  const clock: Clock = { now: () => now, sleep: async () => {} };
  const config = options.config ?? CONFIG;
  const commits = options.commits?.(store) ?? new StoredPushCommitSource(store);
  const worker = createDoraMetricsWorker({
    store,
    bus,
    clock,
    logger,
    config,
    writer,
    commits,
    annotate: options.annotate,
  });
  const history = new DoraHistory({ store, config, commits, logger });
  return {
    dataDir,
    store,
    bus,
    writer,
    worker,
    history,
    logs,
    setNow(next) {
      now = next;
    },
    async handleAll(events) {
      for (const event of events) await worker.handle(event);
    },
    async record(environment, deploymentId) {
      const stored = await store.get(deploymentKey(REPOSITORY, environment, deploymentId));
      if (!stored) throw new Error(`no record of deployment ${deploymentId} in ${environment}`);
      return JSON.parse(stored.body.toString('utf8')) as DeploymentRecord;
    },
    async close() {
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
