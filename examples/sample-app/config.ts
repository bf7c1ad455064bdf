/**
 * The sample app's settings, read from the environment once at start. Every knob has a default and a
 * bound; a value out of bounds stops the start with a sentence that names the variable.
 */

/** Bounds shared by the environment and the query parameters, so neither can ask for more. */
export const LIMITS = {
  /** Longest latency /slow and /checkout may inject: a minute would outlive most client timeouts. */
  maxDelayMs: 30_000,
  /** Longest CPU burn /stress may run for one request. */
  maxStressMs: 10_000,
  /** Concurrent /stress requests at most; more answer 429 rather than pile up. */
  maxConcurrentStress: 4,
} as const;

export interface SampleAppConfig {
  /** TCP port of the HTTP server (PORT). The shipped Prometheus scrapes sample-app:8000. */
  readonly port: number;
  /** Address to listen on (HOST); docker compose sets 0.0.0.0. */
  readonly host: string;
  /** service.name of traces and logs (OTEL_SERVICE_NAME). */
  readonly serviceName: string;
  /** OTLP/HTTP base URL (OTEL_EXPORTER_OTLP_ENDPOINT); traces and logs are exported only when set. */
  readonly otlpEndpoint: string | undefined;
  /** pino level (LOG_LEVEL). */
  readonly logLevel: string;
  /** /slow's delay when the request names none (SAMPLE_APP_SLOW_DELAY_MS). */
  readonly slowDelayMs: number;
  /** /error's failure ratio when the request names none (SAMPLE_APP_ERROR_RATIO). */
  readonly errorRatio: number;
  /** Latency of /checkout's downstream call (SAMPLE_APP_CHECKOUT_DELAY_MS). */
  readonly checkoutDelayMs: number;
  /** Share of /checkout's downstream calls that fail (SAMPLE_APP_CHECKOUT_FAILURE_RATIO). */
  readonly checkoutFailureRatio: number;
  /** /stress's CPU burn when the request names none (SAMPLE_APP_STRESS_MS). */
  readonly stressMs: number;
}

/** A setting that cannot be used; the message says which and what is allowed. */
export class SampleAppConfigError extends Error {
  override readonly name = 'SampleAppConfigError';
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** The settings from `env`; throws SampleAppConfigError on a value it cannot use. */
export function loadSampleAppConfig(env: NodeJS.ProcessEnv): SampleAppConfig {
  const endpoint = env['OTEL_EXPORTER_OTLP_ENDPOINT']?.trim();
  if (endpoint !== undefined && endpoint !== '' && !/^https?:\/\/[^\s]+$/.test(endpoint)) {
    throw new SampleAppConfigError(
      `OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL such as http://localhost:4318, not "${endpoint}"`,
    );
  }
  const logLevel = env['LOG_LEVEL']?.trim() || 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new SampleAppConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, not "${logLevel}"`);
  }
  return {
    port: envNumber(env, 'PORT', { min: 0, max: 65_535, integer: true, fallback: 8000 }),
    host: env['HOST']?.trim() || '127.0.0.1',
    serviceName: env['OTEL_SERVICE_NAME']?.trim() || 'sample-app',
    otlpEndpoint: endpoint === '' ? undefined : endpoint?.replace(/\/+$/, ''),
    logLevel,
    slowDelayMs: envNumber(env, 'SAMPLE_APP_SLOW_DELAY_MS', {
      min: 0,
      max: LIMITS.maxDelayMs,
      integer: true,
      fallback: 1_000,
    }),
    errorRatio: envNumber(env, 'SAMPLE_APP_ERROR_RATIO', { min: 0, max: 1, integer: false, fallback: 0.5 }),
    checkoutDelayMs: envNumber(env, 'SAMPLE_APP_CHECKOUT_DELAY_MS', {
      min: 0,
      max: LIMITS.maxDelayMs,
      integer: true,
      fallback: 150,
    }),
    checkoutFailureRatio: envNumber(env, 'SAMPLE_APP_CHECKOUT_FAILURE_RATIO', {
      min: 0,
      max: 1,
      integer: false,
      fallback: 0.05,
    }),
    stressMs: envNumber(env, 'SAMPLE_APP_STRESS_MS', {
      min: 1,
      max: LIMITS.maxStressMs,
      integer: true,
      fallback: 1_000,
    }),
  };
}

interface NumberBounds {
  readonly min: number;
  readonly max: number;
  readonly integer: boolean;
  readonly fallback: number;
}

function envNumber(env: NodeJS.ProcessEnv, name: string, bounds: NumberBounds): number {
  const text = env[name]?.trim();
  if (text === undefined || text === '') return bounds.fallback;
  const value = Number(text);
  const kind = bounds.integer ? 'an integer' : 'a number';
  if (
    !Number.isFinite(value) ||
    (bounds.integer && !Number.isInteger(value)) ||
    value < bounds.min ||
    value > bounds.max
  ) {
    throw new SampleAppConfigError(
      `${name} must be ${kind} from ${bounds.min} to ${bounds.max}, not "${text}"`,
    );
  }
  return value;
}
