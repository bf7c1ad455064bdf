/**
 * Remote-write encoding throughput: 5,000 DORA-like series x 100 samples (500,000 samples) validated and
 * encoded as WriteRequests, then Snappy-compressed, each step timed on its own. Median of several runs
 * after a warm-up, in this process (one core).
 */
import { compress } from 'snappyjs';
import {
  encodeSlices,
  encodeWriteRequest,
  prepareSeries,
  splitIntoRequests,
  type TimeSeries,
} from '../functions/shared/prometheus/write-request.js';
import type { Benchmark, Figure } from './run.js';

const SERIES = 5_000;
const SAMPLES_PER_SERIES = 100;
const SAMPLES = SERIES * SAMPLES_PER_SERIES;
/** The client's default request size. */
const SAMPLES_PER_REQUEST = 5_000;
const WARMUP_RUNS = 2;
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const TARGET_SAMPLES_PER_SECOND = 500_000;

const METRICS = [
  'toilless_deployments_total',
  'toilless_lead_time_seconds',
  'toilless_change_failure_ratio',
  'toilless_time_to_restore_seconds',
  'toilless_deployment_frequency_per_day',
];

/** Series shaped like the DORA worker's: a metric per repository, environment and team, 15 s apart. */
function doraSeries(): TimeSeries[] {
  const end = Math.floor(Date.now() / 15_000) * 15_000;
  return Array.from({ length: SERIES }, (_, s) => ({
    labels: {
      __name__: METRICS[s % METRICS.length]!,
      repository: `acme/service-${Math.floor(s / METRICS.length) % 500}`,
      environment: s % 2 === 0 ? 'production' : 'staging',
      team: `team-${s % 23}`,
      job: 'toilless-dora',
    },
    samples: Array.from({ length: SAMPLES_PER_SERIES }, (_, i) => ({
      value: s % METRICS.length === 0 ? s * 10 + i : Math.round(Math.random() * 86_400_000) / 1000,
      timestampMs: end - (SAMPLES_PER_SERIES - 1 - i) * 15_000,
    })),
  }));
}

/** Median duration of `run` in milliseconds, after warm-up runs; answers the last result too. */
function time<T>(run: () => T): { ms: number; result: T } {
  let result = run();
  for (let i = 1; i < WARMUP_RUNS; i++) result = run();
  const durations: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    result = run();
    durations.push(performance.now() - start);
  }
  durations.sort((a, b) => a - b);
  return { ms: durations[Math.floor(durations.length / 2)]!, result };
}

const perSecond = (count: number, ms: number) => Math.round(count / (ms / 1000));
const megabytesPerSecond = (bytes: number, ms: number) => Math.round((bytes / 1e6 / (ms / 1000)) * 10) / 10;

export const remoteWriteBenchmark: Benchmark = {
  name: 'remote-write',
  description: `encode + compress ${SERIES.toLocaleString('en')} series x ${SAMPLES_PER_SERIES} samples, median of ${RUNS}`,
  async run(): Promise<readonly Figure[]> {
    const series = doraSeries();

    const whole = time(() => encodeWriteRequest(series));
    const split = time(() =>
      splitIntoRequests(prepareSeries(series), SAMPLES_PER_REQUEST).map((request) => encodeSlices(request)),
    );
    const splitBytes = split.result.reduce((total, body) => total + body.length, 0);
    const compressed = time(() => split.result.map((body) => compress(body)));
    const compressedBytes = compressed.result.reduce((total, body) => total + body.length, 0);

    return [
      {
        name: 'encode, one request',
        value: perSecond(SAMPLES, whole.ms),
        unit: 'samples/s',
        target: `>= ${TARGET_SAMPLES_PER_SECOND}`,
        met: perSecond(SAMPLES, whole.ms) >= TARGET_SAMPLES_PER_SECOND,
      },
      { name: 'encode, one request', value: megabytesPerSecond(whole.result.length, whole.ms), unit: 'MB/s' },
      {
        name: `encode, ${SAMPLES_PER_REQUEST}-sample requests`,
        value: perSecond(SAMPLES, split.ms),
        unit: 'samples/s',
        target: `>= ${TARGET_SAMPLES_PER_SECOND}`,
        met: perSecond(SAMPLES, split.ms) >= TARGET_SAMPLES_PER_SECOND,
      },
      {
        name: `encode, ${SAMPLES_PER_REQUEST}-sample requests`,
        value: megabytesPerSecond(splitBytes, split.ms),
        unit: 'MB/s',
      },
      { name: 'snappy compress', value: perSecond(SAMPLES, compressed.ms), unit: 'samples/s' },
      { name: 'snappy compress (input)', value: megabytesPerSecond(splitBytes, compressed.ms), unit: 'MB/s' },
      { name: 'encoded size', value: Math.round((splitBytes / SAMPLES) * 10) / 10, unit: 'B/sample' },
      {
        name: 'compressed size',
        value: Math.round((compressedBytes / SAMPLES) * 10) / 10,
        unit: 'B/sample',
      },
    ];
  },
};
