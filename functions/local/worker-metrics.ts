/**
 * What the local runtime exposes on GET /metrics, so Prometheus scrapes toilless like any other service.
 * One registry per server: two servers in one process (tests) never share counters.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { DeliveryObserver } from '../shared/adapters/local/in-process-bus.js';
import type { ToillessEvent } from '../shared/events/types.js';
import type { EventBus } from '../shared/ports/event-bus.js';
import { EVENTS_PUBLISHED, WEBHOOK_DURATION, WEBHOOK_REQUESTS } from '../shared/webhook-metrics.js';
import type { WorkerSignals } from '../shared/workers/composition.js';

/** The outcomes of toilless_report_runs_total. */
export const REPORT_OUTCOMES = ['success', 'failure'] as const;

/** The evidence sources an incident timeline queries: their series start at 0. */
const EVIDENCE_SOURCES = ['prometheus', 'loki', 'tempo', 'deployments'] as const;

export class WorkerMetrics {
  readonly registry = new Registry();

  readonly webhookRequests = new Counter({
    ...WEBHOOK_REQUESTS,
    labelNames: [...WEBHOOK_REQUESTS.labelNames],
    registers: [this.registry],
  });

  readonly webhookDuration = new Histogram({
    ...WEBHOOK_DURATION,
    labelNames: [...WEBHOOK_DURATION.labelNames],
    buckets: [...WEBHOOK_DURATION.buckets],
    registers: [this.registry],
  });

  readonly eventsPublished = new Counter({
    ...EVENTS_PUBLISHED,
    labelNames: [...EVENTS_PUBLISHED.labelNames],
    registers: [this.registry],
  });

  readonly workerFailures = new Counter({
    name: 'toilless_worker_failures_total',
    help: 'Handler attempts that threw, by subscriber (each retry counts).',
    labelNames: ['subscriber'] as const,
    registers: [this.registry],
  });

  readonly deadLetters = new Counter({
    name: 'toilless_dead_letters_total',
    help: 'Events stored under dead-letter/<subscriber>/ after their last attempt failed, by subscriber.',
    labelNames: ['subscriber'] as const,
    registers: [this.registry],
  });

  readonly evidenceSourcesUnavailable = new Counter({
    name: 'toilless_evidence_sources_unavailable_total',
    help: 'source.unavailable events added to incident timelines, by evidence source.',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });

  /** Incremented by the weekly report worker, once per run; declared here so both outcomes exist at 0. */
  readonly reportRuns = new Counter({
    name: 'toilless_report_runs_total',
    help: 'Weekly report runs, by outcome (success or failure).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  /** With the processors in a process of their own; toilless_process_* and toilless_nodejs_* are the server's. */
  readonly processorsResidentMemory = new Gauge({
    name: 'toilless_processors_resident_memory_bytes',
    help: "Resident memory of the processors' process.",
    registers: [this.registry],
  });

  readonly processorsHeapUsed = new Gauge({
    name: 'toilless_processors_heap_used_bytes',
    help: "V8 heap in use in the processors' process.",
    registers: [this.registry],
  });

  readonly processorsHeapTotal = new Gauge({
    name: 'toilless_processors_heap_total_bytes',
    help: "V8 heap reserved by the processors' process.",
    registers: [this.registry],
  });

  /** Pass as the in-process bus's `observer`. */
  readonly deliveries: DeliveryObserver = {
    subscribed: (subscriber) => {
      this.workerFailures.inc({ subscriber }, 0);
      this.deadLetters.inc({ subscriber }, 0);
    },
    attemptFailed: (subscriber) => this.workerFailures.inc({ subscriber }),
    deadLettered: (subscriber) => this.deadLetters.inc({ subscriber }),
  };

  /** Pass as a processor's `signals` port. */
  readonly signals: WorkerSignals = {
    sourceUnavailable: (source) => this.evidenceSourcesUnavailable.inc({ source }),
  };

  constructor(options: { readonly processMetrics?: boolean } = {}) {
    if (options.processMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, prefix: 'toilless_' });
    // A series that exists at 0 lets `increase()` and the alerts see its first increment.
    for (const outcome of REPORT_OUTCOMES) this.reportRuns.inc({ outcome }, 0);
    for (const source of EVIDENCE_SOURCES) this.evidenceSourcesUnavailable.inc({ source }, 0);
  }

  /** The processors' process's latest memory report. */
  processorsMemory(memory: {
    readonly rss: number;
    readonly heapUsed: number;
    readonly heapTotal: number;
  }): void {
    this.processorsResidentMemory.set(memory.rss);
    this.processorsHeapUsed.set(memory.heapUsed);
    this.processorsHeapTotal.set(memory.heapTotal);
  }

  /** Wraps a bus so that every accepted event is counted; events the bus refuses are not. */
  countPublished(bus: EventBus): EventBus {
    return {
      publish: async (events: readonly ToillessEvent[]) => {
        await bus.publish(events);
        for (const event of events) this.eventsPublished.inc({ type: event.type });
      },
    };
  }
}
