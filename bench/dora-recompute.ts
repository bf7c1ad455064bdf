/**
 * DORA recomputation at scale: one repository/environment with 100,000 deployments shipping 1,000,000
 * commits in the last 30 days (plus critical incidents to attribute), stored as the worker stores it.
 * A child process reads it back through the worker's own path (store -> ledger -> attribution ->
 * metrics -> series) and reports its CPU time and peak RSS, so the generation does not count.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ledgerOfEntries } from '../functions/dora-metrics/metrics/ledger.js';
import { doraTimeSeries } from '../functions/dora-metrics/metrics/metrics.js';
import type { LedgerEntry } from '../functions/dora-metrics/model.js';
import { readCurrentMetrics } from '../functions/dora-metrics/recompute.js';
import { DoraHistory } from '../functions/dora-metrics/store/dora-history.js';
import { storeIncident } from '../functions/dora-metrics/store/incident-records.js';
import { ledgerKey } from '../functions/dora-metrics/store/store-keys.js';
import { FsObjectStore } from '../functions/shared/adapters/local/fs-object-store.js';
import { silentLogger } from '../functions/shared/log.js';
import { parseToillessConfig } from '../functions/shared/stack-config.js';
import { serializeCompact } from '../functions/shared/versioned-json.js';
import type { Benchmark, Figure } from './run.js';

const DEPLOYMENTS = Number(process.env.BENCH_DORA_DEPLOYMENTS ?? 100_000);
const COMMITS_PER_DEPLOYMENT = 10;
const INCIDENTS = 2_000;
const CPU_TARGET_MS = 1_000;
const RSS_TARGET_MB = 512;
const NOW = new Date('2026-11-28T12:00:00Z');
const REPOSITORY = 'acme/shop';
const CHILD_FLAG = 'BENCH_DORA_DATA_DIR';

const CONFIG = parseToillessConfig(`services:\n  shop:\n    repositories: [${REPOSITORY}]\n`);

interface Measurement {
  readonly cpuMs: number;
  readonly wallMs: number;
  readonly maxRssMb: number;
  readonly series: number;
  readonly commitsCounted: number;
}

export const doraRecomputeBenchmark: Benchmark = {
  name: 'dora-recompute',
  description: `recompute one repository/environment: ${DEPLOYMENTS} deployments, ${DEPLOYMENTS * COMMITS_PER_DEPLOYMENT} commits, ${INCIDENTS} incidents`,
  async run(): Promise<readonly Figure[]> {
    const dataDir = await mkdtemp(join(tmpdir(), 'toilless-bench-dora-'));
    try {
      await seed(new FsObjectStore(dataDir));
      const measured = await measureInChild(dataDir);
      return [
        {
          name: 'recompute CPU time',
          value: Math.round(measured.cpuMs),
          unit: 'ms',
          target: `<= ${CPU_TARGET_MS}`,
          met: measured.cpuMs <= CPU_TARGET_MS,
        },
        {
          name: 'recompute peak RSS',
          value: Math.round(measured.maxRssMb),
          unit: 'MB',
          target: `<= ${RSS_TARGET_MB}`,
          met: measured.maxRssMb <= RSS_TARGET_MB,
        },
        { name: 'recompute wall time', value: Math.round(measured.wallMs), unit: 'ms' },
        { name: 'series written', value: measured.series, unit: 'series' },
        { name: 'commits in the 30d lead time', value: measured.commitsCounted, unit: 'commits' },
      ];
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  },
};

/** Deployments every ~26 s over 30 days, one in ten failed, lead times from minutes to weeks. */
async function seed(store: FsObjectStore): Promise<void> {
  const spanMs = 30 * 86_400_000 - 60_000;
  const startMs = NOW.getTime() - spanMs;
  let random = 42;
  const next = () => {
    random = (random * 1_103_515_245 + 12_345) % 2_147_483_648;
    return random / 2_147_483_648;
  };
  const deployments: LedgerEntry[] = [];
  for (let index = 0; index < DEPLOYMENTS; index++) {
    const finishedMs = startMs + Math.floor((spanMs * index) / DEPLOYMENTS);
    const failed = index % 10 === 5;
    const sha = index.toString(16).padStart(40, '0');
    deployments.push({
      id: String(1_000_000 + index),
      sha,
      outcome: failed ? 'failure' : 'success',
      finishedAt: new Date(finishedMs).toISOString(),
      leadTime: index === 0 ? 'first-deployment' : 'counted',
      ...(index === 0 ? {} : { previousSha: (index - 1).toString(16).padStart(40, '0') }),
      leadTimeSeconds:
        failed || index === 0
          ? []
          : Array.from({ length: COMMITS_PER_DEPLOYMENT }, () => Math.floor(next() ** 3 * 2_000_000)),
      attributedIncidents: [],
    });
  }
  const ledger = ledgerOfEntries({ repository: REPOSITORY, environment: 'production' }, true, deployments);
  await store.put(ledgerKey(REPOSITORY, 'production'), serializeCompact(ledger));
  // Stored as the worker stores them (a record and a fact per day), 16 at a time.
  const incidents = Array.from({ length: INCIDENTS }, (_, index) => {
    const startedMs = startMs + Math.floor((spanMs * (index + 0.5)) / INCIDENTS);
    return {
      incidentId: `incident-${index}`,
      title: `incident ${index}`,
      services: ['shop'],
      severity: 'critical',
      startedAt: new Date(startedMs).toISOString(),
      resolvedAt: new Date(startedMs + 1_800_000).toISOString(),
      durationSeconds: 1_800,
    };
  });
  for (let from = 0; from < incidents.length; from += 16) {
    await Promise.all(incidents.slice(from, from + 16).map((incident) => storeIncident(store, incident)));
  }
}

function measureInChild(dataDir: string): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/dora-recompute.ts'], {
      env: { ...process.env, [CHILD_FLAG]: dataDir },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`the measuring process exited with ${code}`));
      else resolve(JSON.parse(output.trim().split('\n').at(-1) as string) as Measurement);
    });
  });
}

/** The child: one recomputation as the worker does it, measured from the first read to the last series. */
async function measure(dataDir: string): Promise<void> {
  const store = new FsObjectStore(dataDir);
  const history = new DoraHistory({
    store,
    config: CONFIG,
    commits: { commitsBetween: async () => undefined },
    logger: silentLogger,
  });
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  const metrics = await readCurrentMetrics(history, CONFIG, NOW);
  const series = doraTimeSeries(metrics, NOW.getTime());
  const wallMs = performance.now() - wallBefore;
  const cpu = process.cpuUsage(cpuBefore);
  const measurement: Measurement = {
    cpuMs: (cpu.user + cpu.system) / 1000,
    wallMs,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    series: series.length,
    commitsCounted:
      metrics[0]?.windows.find((window) => window.window === '30d')?.leadTimeSeconds?.count ?? 0,
  };
  console.log(JSON.stringify(measurement));
}

const childDataDir = process.env[CHILD_FLAG];
if (childDataDir !== undefined) await measure(childDataDir);
