/**
 * What each route does, as plain functions of the query and a few effects (sleep, randomness, a
 * tracer), so a test can call them without a server. The fault-injection routes take their knobs from
 * the query, bounded, or from the environment's defaults.
 */
import { type Span, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { LIMITS, type SampleAppConfig } from './config.js';
import { parseQuery } from './parameters.js';

/** What a route answers: a status and a JSON body. */
export interface RouteResult {
  readonly status: number;
  readonly body: unknown;
}

/** The effects a route may use; tests replace them. */
export interface RouteEffects {
  readonly config: SampleAppConfig;
  readonly tracer: Tracer;
  /** A number in [0, 1). */
  readonly random: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Keeps a CPU busy for about `ms`; resolves when done. */
  readonly burnCpu: (ms: number) => Promise<void>;
}

export type Route = (query: URLSearchParams, effects: RouteEffects) => Promise<RouteResult>;

const DELAY_MS = { min: 0, max: LIMITS.maxDelayMs, integer: true } as const;
const RATIO = { min: 0, max: 1, integer: false } as const;

const PRODUCTS = [
  { id: 'p-100', name: 'Pager', price: 49 },
  { id: 'p-200', name: 'Dashboard', price: 99 },
  { id: 'p-300', name: 'Error budget', price: 0 },
];

let stressRunning = 0;

/** The routes by path. GET /metrics and GET /healthz are served by the server itself. */
export const ROUTES: Readonly<Record<string, Route>> = {
  '/': async (query) => {
    parseQuery(query, {});
    return {
      status: 200,
      body: { service: 'sample-app', routes: [...Object.keys(ROUTES), '/healthz', '/metrics'] },
    };
  },

  '/products': async (query) => {
    parseQuery(query, {});
    return { status: 200, body: { products: PRODUCTS } };
  },

  // A downstream call (payment) as a child span: slow by delay_ms, failing at failure_ratio.
  '/checkout': async (query, effects) => {
    const params = parseQuery(query, { delay_ms: DELAY_MS, failure_ratio: RATIO });
    const delayMs = params.delay_ms ?? effects.config.checkoutDelayMs;
    const failureRatio = params.failure_ratio ?? effects.config.checkoutFailureRatio;
    return effects.tracer.startActiveSpan('payment.authorize', async (span: Span) => {
      span.setAttributes({ 'peer.service': 'payment', 'sample_app.injected_delay_ms': delayMs });
      try {
        await effects.sleep(delayMs);
        if (effects.random() < failureRatio) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: 'payment service unavailable' });
          return { status: 502, body: { error: 'the payment service did not answer; try again' } };
        }
        return { status: 200, body: { order: 'accepted', paymentMs: delayMs } };
      } finally {
        span.end();
      }
    });
  },

  '/slow': async (query, effects) => {
    const params = parseQuery(query, { delay_ms: DELAY_MS });
    const delayMs = params.delay_ms ?? effects.config.slowDelayMs;
    await effects.sleep(delayMs);
    return { status: 200, body: { delayedMs: delayMs } };
  },

  '/error': async (query, effects) => {
    const params = parseQuery(query, { ratio: RATIO });
    const ratio = params.ratio ?? effects.config.errorRatio;
    // random() < 1 always holds, so ratio=1 always fails and ratio=0 never does.
    if (effects.random() < ratio) {
      return { status: 500, body: { error: `injected failure (ratio ${ratio})` } };
    }
    return { status: 200, body: { ok: true, ratio } };
  },

  '/stress': async (query, effects) => {
    const params = parseQuery(query, { duration_ms: { min: 1, max: LIMITS.maxStressMs, integer: true } });
    const durationMs = params.duration_ms ?? effects.config.stressMs;
    if (stressRunning >= LIMITS.maxConcurrentStress) {
      return {
        status: 429,
        body: { error: `${stressRunning} CPU burns are running, the most at once; retry when one ends` },
      };
    }
    stressRunning++;
    try {
      await effects.burnCpu(durationMs);
    } finally {
      stressRunning--;
    }
    return { status: 200, body: { burnedMs: durationMs } };
  },
};

/**
 * Burns CPU in 20 ms slices, yielding between them: the core is busy, but /metrics and /healthz still
 * answer, so a CPU alert is not hidden behind a failed scrape.
 */
export async function burnCpu(ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const sliceEnd = Math.min(end, performance.now() + 20);
    let x = 0;
    while (performance.now() < sliceEnd) x += Math.sqrt(x + 1);
    await new Promise<void>((resolveSlice) => setImmediate(resolveSlice));
  }
}
