/**
 * The weekly report in native mode over every shipped dashboard with 7 days of data in the real
 * Prometheus (remote-written at a 60 s resolution, recorded SLO series included so the SLO panels have
 * data): wall time (rendering + PDF), time per panel, peak RSS of the reporting process, PDF size.
 * Targets from the issue: at most 60 s and 1.5 GB peak RSS on a 2-core machine.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { RemoteWriteClient, type TimeSeries } from '../functions/shared/prometheus/remote-write.js';
import { startPrometheus } from '../test/support/prometheus.js';
import { historyPrometheusConfig, reportSeries } from '../test/support/report-data.js';
import type { Benchmark, Figure } from './run.js';

const DAY_MS = 86_400_000;
const STEP_MS = 60_000;

/** The series the SLO rules record, written directly: rules only evaluate at the present. */
function recordedSloSeries(fromMs: number, toMs: number): TimeSeries[] {
  const series: TimeSeries[] = [];
  for (const [slo, objective] of [
    ['availability', 0.99],
    ['latency', 0.95],
  ] as const) {
    const labels = { service: 'sample-app', slo };
    const gauge = (name: string, value: (t: number) => number): TimeSeries => {
      const samples = [];
      for (let t = fromMs; t <= toMs; t += STEP_MS) samples.push({ value: value(t), timestampMs: t });
      return { labels: { __name__: name, ...labels }, samples };
    };
    const error = (t: number) => (1 - objective) * (0.5 + 0.4 * Math.sin(t / 3_600_000));
    series.push(
      gauge('slo:objective:ratio', () => objective),
      gauge('slo:error_budget:ratio', () => 1 - objective),
      gauge('slo:time_period:days', () => 30),
      gauge('slo:sli_error:ratio_rate5m', error),
      gauge('slo:sli_error:ratio_rate1h', error),
      gauge('slo:sli_error:ratio_rate6h', error),
      gauge('slo:sli_error:ratio_period', error),
      gauge('slo:burn_rate:ratio_rate1h', (t) => error(t) / (1 - objective)),
      gauge('slo:burn_rate:ratio_period', (t) => error(t) / (1 - objective)),
      gauge('slo:error_budget_remaining:ratio', (t) => 1 - (t - fromMs) / (14 * DAY_MS)),
      gauge('slo:sli_events:rate5m', () => 10),
      gauge('slo:sli_bad_events:rate5m', (t) => 10 * error(t)),
    );
  }
  return series;
}

export const reportBenchmark: Benchmark = {
  name: 'report',
  description:
    'weekly report, native mode: all shipped dashboards over 7 days of data in the real Prometheus',
  async run(): Promise<readonly Figure[]> {
    const toMs = Math.floor(Date.now() / STEP_MS) * STEP_MS;
    const fromMs = toMs - 7 * DAY_MS;
    const prometheus = await startPrometheus({ config: historyPrometheusConfig([], 8) });
    try {
      const data = [
        ...reportSeries({ fromMs: fromMs - 3_600_000, toMs, stepMs: STEP_MS, doraEveryMs: 3_600_000 }),
        ...recordedSloSeries(fromMs - 3_600_000, toMs),
      ];
      const writeStarted = performance.now();
      await new RemoteWriteClient({ url: prometheus.remoteWriteUrl, timeoutMs: 60_000 }).write(data);
      const samples = data.reduce((sum, series) => sum + series.samples.length, 0);
      console.log(
        `wrote ${data.length} series, ${samples} samples in ${((performance.now() - writeStarted) / 1000).toFixed(1)} s`,
      );
      // Kept for a person to look at: .bench/ is not committed.
      await mkdir('.bench', { recursive: true });
      const result = await renderInChild(prometheus.url, fromMs, toMs, join('.bench', 'report.pdf'));
      console.log('the report is in .bench/report.pdf');
      if (result.failed.length > 0) console.log(`failed panels:\n  ${result.failed.join('\n  ')}`);
      const seconds = result.totalMs / 1000;
      return [
        { name: 'panels', value: result.panels, unit: 'panels' },
        {
          name: 'panels failed',
          value: result.failed.length,
          unit: 'panels',
          target: '0',
          met: result.failed.length === 0,
        },
        { name: 'points drawn', value: result.points, unit: 'points' },
        {
          name: 'wall time (render + PDF)',
          value: round(seconds, 2),
          unit: 's',
          target: '<= 60',
          met: seconds <= 60,
        },
        { name: 'rendering (queries)', value: round(result.renderMs / 1000, 2), unit: 's' },
        { name: 'PDF assembly', value: round(result.assembleMs / 1000, 2), unit: 's' },
        { name: 'time per panel', value: round(result.totalMs / Math.max(1, result.panels), 1), unit: 'ms' },
        {
          name: 'peak RSS',
          value: round(result.maxRssMiB, 0),
          unit: 'MiB',
          target: '<= 1536',
          met: result.maxRssMiB <= 1536,
        },
        { name: 'PDF size', value: round(result.pdfBytes / 1024, 0), unit: 'KiB' },
      ];
    } finally {
      await prometheus.stop();
    }
  },
};

function round(value: number, decimals: number): number {
  return Number(value.toFixed(decimals));
}

interface RenderFigures {
  readonly panels: number;
  readonly failed: readonly string[];
  readonly points: number;
  readonly renderMs: number;
  readonly assembleMs: number;
  readonly totalMs: number;
  readonly pdfBytes: number;
  readonly maxRssMiB: number;
}

function renderInChild(
  prometheusUrl: string,
  fromMs: number,
  toMs: number,
  out: string,
): Promise<RenderFigures> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(import.meta.dirname, 'report-render.ts'),
        prometheusUrl,
        String(fromMs),
        String(toMs),
        out,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`report-render.ts exited with ${code}: ${output}`));
      else resolve(JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as RenderFigures);
    });
  });
}
