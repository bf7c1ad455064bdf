/**
 * Cold start: each worker's Lambda asset, built with esbuild exactly as WorkerFunction has the CDK build
 * it (the same esbuild arguments: ESM for node22, minified, code splitting, the AWS SDK bundled), then
 * imported in a fresh `node` with the NODE_OPTIONS the function has on Lambda. The import is what every
 * cold start pays before the first request is handled; chunks that the handler imports dynamically are
 * read only when a path first needs them.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { PROCESSOR_MANIFESTS, WEBHOOK_MANIFESTS } from '../functions/manifests.js';
import { REPOSITORY_ROOT, WORKER_NODE_OPTIONS, workerBundleArgs } from '../lib/workers/worker-function.js';
import type { Benchmark, Figure } from './run.js';

const RUNS = Number(process.env.BENCH_COLD_START_RUNS ?? 5);
const WEBHOOK_TARGET = { kilobytes: 400, importMs: 80 };
const PROCESSOR_TARGET = { importMs: 150 };

const run = promisify(execFile);

interface Metafile {
  readonly outputs: Record<
    string,
    {
      readonly bytes: number;
      readonly imports: readonly { path: string; kind: string; external?: boolean }[];
      readonly inputs: Record<string, unknown>;
    }
  >;
}

interface WorkerAsset {
  /** index.mjs, the handler's module. */
  readonly entry: string;
  /** Every JavaScript file of the asset (index.mjs and its chunks). */
  readonly files: readonly string[];
  /** Bytes of all JavaScript files. */
  readonly bytes: number;
  /** Bytes of index.mjs and the chunks it imports statically: what an import reads and compiles. */
  readonly importedBytes: number;
  /** The chunk of a processor's metrics push, which its first invocation loads when a receiver is set. */
  readonly metricsPushChunk?: string;
}

/** The worker's asset, built by the esbuild that WorkerFunction runs, with the arguments it gives it. */
async function bundleWorker(worker: string, outDir: string): Promise<WorkerAsset> {
  const dir = join(outDir, worker);
  const metafile = join(outDir, `${worker}.meta.json`);
  const entry = join(REPOSITORY_ROOT, 'functions', worker, 'handler.ts');
  await run(join(REPOSITORY_ROOT, 'node_modules', '.bin', 'esbuild'), [
    ...workerBundleArgs(entry, dir),
    `--metafile=${metafile}`,
    '--log-level=error',
  ]);
  // Output paths in the metafile are relative to the working directory.
  const { outputs } = JSON.parse(await readFile(metafile, 'utf8')) as Metafile;
  const javascript = Object.keys(outputs).filter((path) => path.endsWith('.mjs'));
  const index = javascript.find((path) => path.endsWith('/index.mjs'));
  if (!index) throw new Error(`esbuild wrote no index.mjs for ${worker}`);
  const imported = new Set<string>();
  const pending = [index];
  while (pending.length > 0) {
    const path = pending.pop() as string;
    if (imported.has(path)) continue;
    imported.add(path);
    for (const dependency of outputs[path]?.imports ?? []) {
      if (dependency.kind === 'import-statement' && !dependency.external) pending.push(dependency.path);
    }
  }
  const bytesOf = (paths: Iterable<string>) =>
    [...paths].reduce((sum, path) => sum + (outputs[path]?.bytes ?? 0), 0);
  const metricsPush = javascript.find((path) =>
    Object.keys(outputs[path]?.inputs ?? {}).some((input) =>
      input.endsWith('adapters/aws/lambda-metrics.ts'),
    ),
  );
  return {
    entry: join(process.cwd(), index),
    files: javascript.map((path) => join(process.cwd(), path)),
    bytes: bytesOf(javascript),
    importedBytes: bytesOf(imported),
    ...(metricsPush === undefined ? {} : { metricsPushChunk: join(process.cwd(), metricsPush) }),
  };
}

/**
 * Milliseconds from `import()` of the files to their modules being evaluated, in a fresh process: wall
 * clock, and the process's CPU time over the same span (steadier than the wall clock on a machine shared
 * with other work).
 */
async function importMs(files: readonly string[]): Promise<{ readonly wall: number; readonly cpu: number }> {
  const imports = files.map((file) => `await import(${JSON.stringify(pathToFileURL(file).href)});`).join('');
  const script =
    'const c=process.cpuUsage();const t=performance.now();' +
    imports +
    'const u=process.cpuUsage(c);process.stdout.write(JSON.stringify({wall:performance.now()-t,cpu:(u.user+u.system)/1000}));';
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: WORKER_NODE_OPTIONS },
  });
  return JSON.parse(stdout) as { wall: number; cpu: number };
}

async function medianImportMs(
  files: readonly string[],
): Promise<{ readonly wall: number; readonly cpu: number }> {
  const times: { wall: number; cpu: number }[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await importMs(files));
  return {
    wall: Math.round(median(times.map((time) => time.wall))),
    cpu: Math.round(median(times.map((time) => time.cpu))),
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export const coldStartBenchmark: Benchmark = {
  name: 'cold-start',
  description: `each worker's Lambda asset: what its import reads (bundle) and all of it (asset), minified; import time in a fresh node process (median of ${RUNS})`,
  async run(): Promise<readonly Figure[]> {
    const outDir = await mkdtemp(join(tmpdir(), 'toilless-cold-start-'));
    const figures: Figure[] = [];
    try {
      const workers = [
        ...WEBHOOK_MANIFESTS.map((manifest) => ({ name: manifest.name, webhook: true })),
        ...PROCESSOR_MANIFESTS.map((manifest) => ({ name: manifest.name, webhook: false })),
      ];
      // What node itself takes to import nothing, on this machine now: the floor under every figure below.
      const empty = join(outDir, 'empty.mjs');
      await writeFile(empty, 'export {};\n');
      const floor = await medianImportMs([empty]);
      figures.push({ name: 'empty module import', value: floor.wall, unit: 'ms' });
      figures.push({ name: 'empty module import cpu', value: floor.cpu, unit: 'ms' });
      for (const worker of workers) {
        const asset = await bundleWorker(worker.name, outDir);
        const kilobytes = Math.round(asset.importedBytes / 1024);
        const handler = await medianImportMs([asset.entry]);
        // Every chunk too: a cold start whose first request takes every path (the old single file's cost).
        const everything = await medianImportMs([
          asset.entry,
          ...asset.files.filter((file) => file !== asset.entry),
        ]);
        const importTarget = worker.webhook ? WEBHOOK_TARGET.importMs : PROCESSOR_TARGET.importMs;
        figures.push({
          name: `${worker.name} bundle`,
          value: kilobytes,
          unit: 'KB',
          ...(worker.webhook
            ? { target: `<= ${WEBHOOK_TARGET.kilobytes}`, met: kilobytes <= WEBHOOK_TARGET.kilobytes }
            : {}),
        });
        figures.push({ name: `${worker.name} asset`, value: Math.round(asset.bytes / 1024), unit: 'KB' });
        figures.push({
          name: `${worker.name} import`,
          value: handler.wall,
          unit: 'ms',
          target: `<= ${importTarget}`,
          met: handler.wall <= importTarget,
        });
        figures.push({ name: `${worker.name} import cpu`, value: handler.cpu, unit: 'ms' });
        if (asset.metricsPushChunk) {
          // What the first invocation adds when a remote-write receiver is configured.
          const withPush = await medianImportMs([asset.entry, asset.metricsPushChunk]);
          figures.push({ name: `${worker.name} + metrics push`, value: withPush.wall, unit: 'ms' });
          figures.push({ name: `${worker.name} + metrics push cpu`, value: withPush.cpu, unit: 'ms' });
        }
        figures.push({ name: `${worker.name} import + chunks`, value: everything.wall, unit: 'ms' });
      }
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
    return figures;
  },
};
