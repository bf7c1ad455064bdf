import { trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { LIMITS, loadSampleAppConfig, SampleAppConfigError } from '../../../examples/sample-app/config.js';
import { DURATION_BUCKETS_SECONDS } from '../../../examples/sample-app/metrics.js';
import { ROUTES, type RouteEffects } from '../../../examples/sample-app/routes.js';
import { routeLabel } from '../../../examples/sample-app/server.js';

function effects(overrides: Partial<RouteEffects> = {}): RouteEffects {
  return {
    config: loadSampleAppConfig({}),
    tracer: trace.getTracer('test'),
    random: () => 0.5,
    sleep: async () => {},
    burnCpu: async () => {},
    ...overrides,
  };
}

describe('sample app settings', () => {
  it('takes defaults that match the shipped scrape target when the environment sets nothing', () => {
    // Act
    const config = loadSampleAppConfig({});

    // Assess
    expect(config).toMatchObject({ port: 8000, serviceName: 'sample-app', otlpEndpoint: undefined });
  });

  it.each([
    [{ PORT: '70000' }, 'PORT must be an integer from 0 to 65535, not "70000"'],
    [{ SAMPLE_APP_ERROR_RATIO: '1.2' }, 'SAMPLE_APP_ERROR_RATIO must be a number from 0 to 1, not "1.2"'],
    [
      { SAMPLE_APP_STRESS_MS: '600000' },
      'SAMPLE_APP_STRESS_MS must be an integer from 1 to 10000, not "600000"',
    ],
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'otel-collector:4318' },
      'OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL such as http://localhost:4318, not "otel-collector:4318"',
    ],
    [
      { LOG_LEVEL: 'loud' },
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, not "loud"',
    ],
  ])('refuses %o with a sentence that names the variable', (env, message) => {
    // Act and assess
    expect(() => loadSampleAppConfig(env)).toThrow(new SampleAppConfigError(message));
  });

  it('drops a trailing slash of the OTLP endpoint, as the signal paths are appended to it', () => {
    // Act
    const config = loadSampleAppConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318/' });

    // Assess
    expect(config.otlpEndpoint).toBe('http://otel-collector:4318');
  });
});

describe('sample app routes', () => {
  it('keeps 0.5 s, the latency SLO threshold of slos.yaml, as a bucket boundary', () => {
    // Assess
    expect(DURATION_BUCKETS_SECONDS).toContain(0.5);
  });

  it('labels an unknown path as unmatched, so a scan cannot grow the series', () => {
    // Assess
    expect(routeLabel('/checkout')).toBe('/checkout');
    expect(routeLabel('/../etc/passwd')).toBe('unmatched');
    expect(routeLabel('/constructor')).toBe('unmatched');
  });

  it('fails /checkout with 502 when the downstream call fails, after its delay', async () => {
    // Prepare
    const slept: number[] = [];
    const route = ROUTES['/checkout']!;

    // Act
    const result = await route(
      new URLSearchParams('delay_ms=250&failure_ratio=0.6'),
      effects({ random: () => 0.59, sleep: async (ms) => void slept.push(ms) }),
    );

    // Assess
    expect(result.status).toBe(502);
    expect(slept).toEqual([250]);
  });

  it('refuses a /stress beyond the concurrent limit with 429, and accepts one again when a burn ends', async () => {
    // Prepare: burns that last until released.
    const releases: (() => void)[] = [];
    const holding = effects({
      burnCpu: () => new Promise<void>((resolveBurn) => releases.push(resolveBurn)),
    });
    const route = ROUTES['/stress']!;
    const running = Array.from({ length: LIMITS.maxConcurrentStress }, () =>
      route(new URLSearchParams('duration_ms=10'), holding),
    );

    // Act
    const refused = await route(new URLSearchParams('duration_ms=10'), holding);
    releases[0]?.();
    await running[0];
    const acceptedAgain = route(new URLSearchParams('duration_ms=10'), holding);
    for (const release of releases.slice(1)) release();
    await Promise.all(running);
    releases.at(-1)?.();

    // Assess
    expect(refused.status).toBe(429);
    expect((await acceptedAgain).status).toBe(200);
  });
});
