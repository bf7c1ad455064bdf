/**
 * Pushes an intake execution environment's counters to Prometheus's remote-write receiver: one attempt
 * with a short timeout, never retried within the invocation (the next due push carries the same counts,
 * since they are cumulative). Loaded on the first push only (metered-webhook-lambda.ts), so neither
 * the remote-write client nor Snappy is part of the intake's import.
 */
import { UpstreamError } from '../../errors.js';
import { RemoteWriteClient } from '../../prometheus/remote-write.js';
import type { TimeSeries } from '../../prometheus/write-request.js';
import type { IntakeCounters } from '../../webhook-metrics.js';
import { PUSHED_JOB_LABELS } from './pushed-job-labels.js';

export interface IntakeMetricsPushOptions {
  /** The remote-write receiver. */
  readonly url: string;
  /** The Authorization header of a hosted receiver (PROMETHEUS_AUTH). @default none */
  readonly authorization?: string | undefined;
  /** This execution environment's `instance` label. */
  readonly instance: string;
  /** One request's time limit. */
  readonly timeoutMs: number;
  /** When the environment started counting (Unix ms): its series were 0 then. */
  readonly startedAtMs: number;
}

/** How far back a series' first zero may go: older samples fall out of Prometheus's head block. */
const ZERO_LOOKBACK_MS = 5 * 60_000;

export class IntakeMetricsPush {
  readonly #client: RemoteWriteClient;
  /** Series Prometheus has answered for once: they need no zero before their value any more. */
  readonly #known = new Set<string>();
  #lastAnsweredAtMs: number;

  constructor(private readonly options: IntakeMetricsPushOptions) {
    this.#client = new RemoteWriteClient({
      url: options.url,
      authorization: options.authorization,
      maxAttempts: 1,
      timeoutMs: options.timeoutMs,
      deadlineMs: options.timeoutMs,
    });
    this.#lastAnsweredAtMs = options.startedAtMs;
  }

  /** Writes the counters' current values; throws UpstreamError when the receiver refuses or is not reached. */
  async push(counters: IntakeCounters, nowMs: number): Promise<void> {
    const labels = { ...PUSHED_JOB_LABELS, instance: this.options.instance };
    const series = withFirstZeros(
      counters.series(labels, nowMs),
      this.#known,
      Math.max(this.#lastAnsweredAtMs, nowMs - ZERO_LOOKBACK_MS),
    );
    try {
      await this.#client.write(series);
      this.#answered(series, nowMs);
    } catch (error) {
      // A refusal is an answer: a zero it refused (already written by an attempt that timed out) is not
      // sent again. Without an answer the next push tries the same again.
      if (error instanceof UpstreamError && error.status !== undefined) this.#answered(series, nowMs);
      throw error;
    }
  }

  #answered(series: readonly TimeSeries[], nowMs: number): void {
    for (const one of series) this.#known.add(seriesKey(one));
    this.#lastAnsweredAtMs = nowMs;
  }
}

/**
 * Each series not yet known to Prometheus gets a 0 before its value, at `zeroAtMs` (when it was last
 * known to be absent): increase() and rate() then count an environment's first requests too, which they
 * would not if a series appeared at its first value (most environments of a quiet intake see a few).
 */
export function withFirstZeros(
  series: readonly TimeSeries[],
  known: ReadonlySet<string>,
  zeroAtMs: number,
): TimeSeries[] {
  return series.map((one) => {
    const [first] = one.samples;
    if (known.has(seriesKey(one)) || first === undefined || zeroAtMs >= first.timestampMs) return one;
    return { labels: one.labels, samples: [{ value: 0, timestampMs: zeroAtMs }, ...one.samples] };
  });
}

function seriesKey(series: TimeSeries): string {
  return JSON.stringify(Object.entries(series.labels).sort(([a], [b]) => (a < b ? -1 : 1)));
}
