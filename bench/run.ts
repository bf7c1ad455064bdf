/**
 * `npm run bench [name...]`: runs the benchmarks and prints their figures against the targets.
 * Figures depend on the machine; each benchmark says what it measured and on how many cores.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { coldStartBenchmark } from './cold-start.js';
import { doraRecomputeBenchmark } from './dora-recompute.js';
import { doraWebhookBenchmark } from './dora-webhook.js';
import { intakeBenchmark } from './intake.js';
import { remoteWriteBenchmark } from './remote-write.js';
import { reportBenchmark } from './report.js';
import { reportGrafanaBenchmark } from './report-grafana.js';
import { soakBenchmark } from './soak.js';
import { timelineBenchmark } from './timeline.js';

export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** Human-readable target, e.g. ">= 2000". */
  readonly target?: string;
  readonly met?: boolean;
}

export interface Benchmark {
  readonly name: string;
  readonly description: string;
  run(): Promise<readonly Figure[]>;
}

const benchmarks: readonly Benchmark[] = [
  intakeBenchmark,
  doraRecomputeBenchmark,
  doraWebhookBenchmark,
  remoteWriteBenchmark,
  timelineBenchmark,
  coldStartBenchmark,
  reportBenchmark,
];

/**
 * Run only when asked for by name (`npm run bench soak`): the soak takes SOAK_DURATION (10 minutes by default);
 * report-grafana starts Chromium.
 */
const onRequest: readonly Benchmark[] = [soakBenchmark, reportGrafanaBenchmark];

const wanted = process.argv.slice(2);
const selected =
  wanted.length === 0 ? benchmarks : [...benchmarks, ...onRequest].filter((b) => wanted.includes(b.name));
if (selected.length === 0) {
  console.error(
    `unknown benchmark: ${wanted.join(', ')}; available: ${[...benchmarks, ...onRequest].map((b) => b.name).join(', ')}`,
  );
  process.exit(2);
}

console.log(`node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'})`);
const results: Record<string, readonly Figure[]> = {};
let missed = 0;
for (const benchmark of selected) {
  console.log(`\n## ${benchmark.name}: ${benchmark.description}`);
  const figures = await benchmark.run();
  results[benchmark.name] = figures;
  for (const figure of figures) {
    const verdict = figure.met === undefined ? '' : figure.met ? '  ok' : '  MISSED';
    if (figure.met === false) missed += 1;
    console.log(
      `${figure.name.padEnd(36)} ${String(figure.value).padStart(12)} ${figure.unit.padEnd(8)} ${figure.target ? `target ${figure.target}` : ''}${verdict}`,
    );
  }
}
// Merge with earlier runs so that running one benchmark keeps the others' last figures.
await mkdir('.bench', { recursive: true });
const previous = await readFile('.bench/results.json', 'utf8').then(
  (text) => (JSON.parse(text) as { results?: Record<string, unknown> }).results ?? {},
  () => ({}),
);
const at = new Date().toISOString();
const fresh = Object.fromEntries(Object.entries(results).map(([name, figures]) => [name, { at, figures }]));
await writeFile(
  '.bench/results.json',
  `${JSON.stringify({ results: { ...previous, ...fresh } }, null, 2)}\n`,
);
console.log(
  `\n${missed === 0 ? 'all targets met' : `${missed} target(s) missed`}; figures in .bench/results.json`,
);
process.exitCode = missed === 0 ? 0 : 1;
