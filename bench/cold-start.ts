/**
 * Cold start: each worker's Lambda bundle, built with esbuild exactly as WorkerFunction has the CDK build
 * it (ESM, node22, minified, source map without sources, the AWS SDK bundled), then imported in a fresh
 * `node` process. The import is what every cold start pays before the first request is handled.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { PROCESSOR_MANIFESTS, WEBHOOK_MANIFESTS } from '../functions/manifests.js';
import { REPOSITORY_ROOT, REQUIRE_BANNER } from '../lib/workers/worker-function.js';
import type { Benchmark, Figure } from './run.js';

const RUNS = Number(process.env.BENCH_COLD_START_RUNS ?? 5);
const WEBHOOK_TARGET = { kilobytes: 400, importMs: 80 };
const PROCESSOR_TARGET = { importMs: 150 };

const run = promisify(execFile);

/** The same options WorkerFunction gives NodejsFunction's bundling. */
async function bundleWorker(worker: string, outDir: string): Promise<string> {
  const outfile = join(outDir, worker, 'index.mjs');
  await build({
    entryPoints: [join(REPOSITORY_ROOT, 'functions', worker, 'handler.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    outfile,
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    banner: { js: REQUIRE_BANNER },
    logLevel: 'error',
  });
  return outfile;
}

/**
 * Milliseconds from `import()` to the module being evaluated, in a fresh process: wall clock, and the
 * process's CPU time over the same span (steadier than the wall clock on a machine shared with other work).
 */
async function importMs(file: string): Promise<{ readonly wall: number; readonly cpu: number }> {
  const script =
    'const c=process.cpuUsage();const t=performance.now();' +
    `await import(${JSON.stringify(pathToFileURL(file).href)});` +
    'const u=process.cpuUsage(c);process.stdout.write(JSON.stringify({wall:performance.now()-t,cpu:(u.user+u.system)/1000}));';
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH ?? '' },
  });
  return JSON.parse(stdout) as { wall: number; cpu: number };
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
  description: `each worker's Lambda bundle: minified size and import time in a fresh node process (median of ${RUNS})`,
  async run(): Promise<readonly Figure[]> {
    const outDir = await mkdtemp(join(tmpdir(), 'toilless-cold-start-'));
    const figures: Figure[] = [];
    try {
      const workers = [
        ...WEBHOOK_MANIFESTS.map((manifest) => ({ name: manifest.name, webhook: true })),
        ...PROCESSOR_MANIFESTS.map((manifest) => ({ name: manifest.name, webhook: false })),
      ];
      for (const worker of workers) {
        const file = await bundleWorker(worker.name, outDir);
        const kilobytes = Math.round((await stat(file)).size / 1024);
        const times: { wall: number; cpu: number }[] = [];
        for (let i = 0; i < RUNS; i++) times.push(await importMs(file));
        const ms = Math.round(median(times.map((time) => time.wall)));
        const cpuMs = Math.round(median(times.map((time) => time.cpu)));
        const importTarget = worker.webhook ? WEBHOOK_TARGET.importMs : PROCESSOR_TARGET.importMs;
        figures.push({
          name: `${worker.name} bundle`,
          value: kilobytes,
          unit: 'KB',
          ...(worker.webhook
            ? { target: `<= ${WEBHOOK_TARGET.kilobytes}`, met: kilobytes <= WEBHOOK_TARGET.kilobytes }
            : {}),
        });
        figures.push({
          name: `${worker.name} import`,
          value: ms,
          unit: 'ms',
          target: `<= ${importTarget}`,
          met: ms <= importTarget,
        });
        figures.push({ name: `${worker.name} import cpu`, value: cpuMs, unit: 'ms' });
      }
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
    return figures;
  },
};
