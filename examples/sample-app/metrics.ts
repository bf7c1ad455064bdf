/**
 * The Prometheus metrics the shipped SLOs, alerts and dashboards read (stack-config/slos.yaml,
 * stack-config/prometheus/rules/). The `service` label is not set here: the scrape job attaches it
 * (service="sample-app"), as for every target, and a second one would come out as exported_service.
 */
import {
  Counter,
  collectDefaultMetrics,
  Histogram,
  type OpenMetricsContentType,
  Registry,
} from 'prom-client';

/**
 * Request duration buckets in seconds. 0.5 must stay a boundary: the latency SLO counts the requests in
 * the bucket le="0.5", and a threshold that is not a boundary gives no data.
 */
export const DURATION_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

const LABELS = ['method', 'route', 'status_code'] as const;
type RequestLabel = (typeof LABELS)[number];

export interface RequestMetrics {
  readonly registry: Registry<OpenMetricsContentType>;
  /** Counts one answered request and its duration; the trace id becomes the duration's exemplar. */
  observe(labels: Readonly<Record<RequestLabel, string>>, durationSeconds: number, traceId?: string): void;
}

/**
 * A registry of its own with the request metrics and the process / Node.js default metrics, exposed in
 * OpenMetrics: the text format Prometheus reads exemplars from (a latency point that opens its trace).
 */
export function createRequestMetrics(): RequestMetrics {
  const registry = new Registry<OpenMetricsContentType>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route and status code.',
    labelNames: LABELS,
    registers: [registry],
  });
  // prom-client types exemplar labels as metric labels: trace_id is declared here, never set as one.
  const duration = new Histogram<RequestLabel | 'trace_id'>({
    name: 'http_request_duration_seconds',
    help: 'Time from the request arriving to the response being sent, in seconds.',
    labelNames: LABELS,
    buckets: [...DURATION_BUCKETS_SECONDS],
    registers: [registry],
    enableExemplars: true,
  });
  return {
    registry,
    observe(labels, durationSeconds, traceId) {
      requests.inc(labels);
      duration.observe({
        labels,
        value: durationSeconds,
        ...(traceId === undefined ? {} : { exemplarLabels: { trace_id: traceId } }),
      });
    },
  };
}
