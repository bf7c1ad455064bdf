/**
 * What the local runtime exposes on GET /metrics, so Prometheus scrapes toilless like any other service.
 * One registry per server: two servers in one process (tests) never share counters.
 */
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { ToillessEvent } from '../shared/events/types.js';
import type { EventBus } from '../shared/ports/event-bus.js';

export class WorkerMetrics {
  readonly registry = new Registry();

  readonly webhookRequests = new Counter({
    name: 'toilless_webhook_requests_total',
    help: 'Webhook and API requests answered by the local server, by route and HTTP status.',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });

  readonly webhookDuration = new Histogram({
    name: 'toilless_webhook_request_duration_seconds',
    help: 'Time from the first byte of a request to its answer, by route.',
    labelNames: ['route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly eventsPublished = new Counter({
    name: 'toilless_events_published_total',
    help: 'Events accepted by the bus, by event type.',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  constructor(options: { readonly processMetrics?: boolean } = {}) {
    if (options.processMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, prefix: 'toilless_' });
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
