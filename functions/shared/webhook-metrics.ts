/**
 * The intake's toilless_* metrics: their definitions, shared by the local server's prom-client registry
 * (functions/local/worker-metrics.ts) and the intakes on Lambda, and the plain counters an intake's
 * execution environment keeps for the push (no prom-client: it stays out of the intake's cold start).
 */
import type { TimeSeries } from './prometheus/write-request.js';

export const WEBHOOK_REQUESTS = {
  name: 'toilless_webhook_requests_total',
  help: 'Webhook and API requests answered, by route and HTTP status.',
  labelNames: ['route', 'status'] as const,
};

export const WEBHOOK_DURATION = {
  name: 'toilless_webhook_request_duration_seconds',
  help: 'Time from the first byte of a request to its answer, by route.',
  labelNames: ['route'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
};

export const EVENTS_PUBLISHED = {
  name: 'toilless_events_published_total',
  help: 'Events accepted by the bus, by event type.',
  labelNames: ['type'] as const,
};

interface Histogram {
  /** Observations at or below each bucket bound, not cumulative: one per WEBHOOK_DURATION bucket. */
  readonly perBucket: number[];
  count: number;
  sum: number;
}

/**
 * What one intake execution environment answered and published since it started: cumulative counts, as
 * a scraped registry holds them, turned into remote-write series by `series`.
 */
export class IntakeCounters {
  readonly #requests = new Map<string, { route: string; status: string; count: number }>();
  readonly #durations = new Map<string, Histogram>();
  readonly #published = new Map<string, number>();

  /** One answered request: its route, its HTTP status and how long the answer took. */
  answered(route: string, status: number, seconds: number): void {
    const key = `${route} ${status}`;
    const entry = this.#requests.get(key) ?? { route, status: String(status), count: 0 };
    entry.count += 1;
    this.#requests.set(key, entry);
    const histogram = this.#durations.get(route) ?? {
      perBucket: WEBHOOK_DURATION.buckets.map(() => 0),
      count: 0,
      sum: 0,
    };
    const bucket = WEBHOOK_DURATION.buckets.findIndex((bound) => seconds <= bound);
    if (bucket >= 0) histogram.perBucket[bucket] = (histogram.perBucket[bucket] ?? 0) + 1;
    histogram.count += 1;
    histogram.sum += Math.max(0, seconds);
    this.#durations.set(route, histogram);
  }

  /** Events the bus accepted. */
  published(types: readonly string[]): void {
    for (const type of types) this.#published.set(type, (this.#published.get(type) ?? 0) + 1);
  }

  /** True before the first request is counted. */
  get empty(): boolean {
    return this.#requests.size === 0 && this.#published.size === 0;
  }

  /** The current values as series at `timestampMs`, each with `labels` (job, instance...) added. */
  series(labels: Readonly<Record<string, string>>, timestampMs: number): TimeSeries[] {
    const sample = (value: number) => [{ value, timestampMs }];
    const out: TimeSeries[] = [];
    for (const { route, status, count } of this.#requests.values()) {
      out.push({
        labels: { route, status, ...labels, __name__: WEBHOOK_REQUESTS.name },
        samples: sample(count),
      });
    }
    for (const [route, histogram] of this.#durations) {
      let cumulative = 0;
      WEBHOOK_DURATION.buckets.forEach((bound, index) => {
        cumulative += histogram.perBucket[index] ?? 0;
        out.push({
          labels: { route, le: String(bound), ...labels, __name__: `${WEBHOOK_DURATION.name}_bucket` },
          samples: sample(cumulative),
        });
      });
      out.push(
        {
          labels: { route, le: '+Inf', ...labels, __name__: `${WEBHOOK_DURATION.name}_bucket` },
          samples: sample(histogram.count),
        },
        {
          labels: { route, ...labels, __name__: `${WEBHOOK_DURATION.name}_sum` },
          samples: sample(histogram.sum),
        },
        {
          labels: { route, ...labels, __name__: `${WEBHOOK_DURATION.name}_count` },
          samples: sample(histogram.count),
        },
      );
    }
    for (const [type, count] of this.#published) {
      out.push({ labels: { type, ...labels, __name__: EVENTS_PUBLISHED.name }, samples: sample(count) });
    }
    return out;
  }
}
