import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { type InstantSample, type RunningPrometheus, startPrometheus } from '../../support/prometheus.js';
import { getJson, type RunningSampleApp, startSampleApp } from '../../support/sample-app.js';
import { waitFor } from '../../support/wait.js';

const STACK_CONFIG = join(import.meta.dirname, '..', '..', '..', 'stack-config');
const RULE_FILES = ['slo-sample-app.yml', 'latency.yml'];

/** The shipped Prometheus config's sample-app job, pointed at the app under test and scraped every second. */
function sampleAppScrapeConfig(port: number): string {
  const shipped = parseYaml(readFileSync(join(STACK_CONFIG, 'prometheus', 'prometheus.yml'), 'utf8')) as {
    scrape_configs: { job_name: string; static_configs: { targets: string[]; labels?: object }[] }[];
  };
  const job = shipped.scrape_configs.find((config) => config.job_name === 'sample-app');
  if (job === undefined) throw new Error('stack-config/prometheus/prometheus.yml has no sample-app job');
  return stringifyYaml({
    global: { scrape_interval: '1s', evaluation_interval: '1s' },
    rule_files: RULE_FILES,
    scrape_configs: [
      {
        ...job,
        scrape_interval: '1s',
        static_configs: job.static_configs.map((target) => ({ ...target, targets: [`127.0.0.1:${port}`] })),
      },
    ],
  });
}

/** Sends `count` GETs of `path`, at most 10 at a time; returns the statuses. */
async function send(app: RunningSampleApp, path: string, count: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let sent = 0; sent < count; sent += 10) {
    const batch = Array.from({ length: Math.min(10, count - sent) }, () => getJson(app, path));
    statuses.push(...(await Promise.all(batch)).map((answer) => answer.status));
  }
  return statuses;
}

/** 100 requests: 20 server errors, 20 slower than the latency threshold, 60 fast. */
async function sendTraffic(app: RunningSampleApp): Promise<void> {
  expect(await send(app, '/error?ratio=1', 20)).toEqual(Array(20).fill(500));
  expect(await send(app, '/slow?delay_ms=600', 20)).toEqual(Array(20).fill(200));
  expect(await send(app, '/products', 60)).toEqual(Array(60).fill(200));
}

describe('sample app metrics in Prometheus, with the shipped scrape job and SLO rules', () => {
  let app: RunningSampleApp;
  let prometheus: RunningPrometheus;

  const vectorOf = async (expr: string): Promise<InstantSample[]> => {
    const data = await prometheus.query(expr);
    if (data.resultType !== 'vector') throw new Error(`${expr} gave a ${data.resultType}`);
    return [...data.result];
  };
  const scraped = (expr: string, count: number) =>
    waitFor(async () => ((await vectorOf(expr)).length === count ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 500,
      description: `${count} series of ${expr} in Prometheus`,
    });

  /** When the last scrape of the traffic was taken, in unix seconds. */
  let trafficScrapedAt = 0;
  /** The value of a recorded series from an evaluation that saw the whole traffic. */
  const recordedAfterTraffic = (series: string): Promise<number> =>
    waitFor(
      async () => {
        const [sample] = await vectorOf(`timestamp(${series}) > ${trafficScrapedAt + 1}`);
        if (sample === undefined) return undefined;
        const [value] = await vectorOf(series);
        return value === undefined ? undefined : Number(value.value[1]);
      },
      {
        timeoutMs: 60_000,
        intervalMs: 500,
        description: `${series} evaluated after the traffic was scraped`,
      },
    );

  beforeAll(async () => {
    app = await startSampleApp();
    // The same requests before the first scrape as after it: every series starts in the same scrape
    // with a value as large as its increase, so Prometheus extrapolates all their rates alike (a
    // counter that starts near zero is extrapolated less) and the ratios below are exact.
    await sendTraffic(app);
    prometheus = await startPrometheus({
      config: sampleAppScrapeConfig(app.port),
      // As the stack runs it: exemplars link a latency point to its trace.
      extraArgs: ['--enable-feature=exemplar-storage'],
      ruleFiles: Object.fromEntries(
        RULE_FILES.map((file) => [
          file,
          readFileSync(join(STACK_CONFIG, 'prometheus', 'rules', file), 'utf8'),
        ]),
      ),
    });
    await scraped('http_requests_total{service="sample-app"}', 3);

    await sendTraffic(app);
    await scraped(
      'http_requests_total{route=~"/error|/slow"} == 40 or http_requests_total{route="/products"} == 120',
      3,
    );
    const [scrape] = await vectorOf('max(timestamp(http_requests_total{service="sample-app"}))');
    trafficScrapedAt = Number(scrape?.value[1]);
  });

  afterAll(async () => {
    await prometheus?.stop();
    await app?.stop();
  });

  it('labels requests with service (from the scrape job), method, route and status_code, and no exported_service', async () => {
    // Act
    const series = await vectorOf('http_requests_total');

    // Assess
    expect(
      series
        .map((sample) => sample.metric)
        .sort((a, b) => String(a['route']).localeCompare(String(b['route']))),
    ).toEqual([
      expect.objectContaining({ service: 'sample-app', method: 'GET', route: '/error', status_code: '500' }),
      expect.objectContaining({
        service: 'sample-app',
        method: 'GET',
        route: '/products',
        status_code: '200',
      }),
      expect.objectContaining({ service: 'sample-app', method: 'GET', route: '/slow', status_code: '200' }),
    ]);
    expect(
      series.flatMap((sample) => Object.keys(sample.metric)).filter((label) => label.startsWith('exported_')),
    ).toEqual([]);
  });

  it('records the availability SLI of slos.yaml: 20 server errors in 100 requests are an error ratio of 0.2', async () => {
    // Act
    const ratio = await recordedAfterTraffic(
      'slo:sli_error:ratio_rate5m{service="sample-app",slo="availability"}',
    );

    // Assess
    expect(ratio).toBeCloseTo(0.2, 6);
  });

  it('records the latency SLI of slos.yaml from the le="0.5" bucket: 20 of 80 successful requests were slow', async () => {
    // Act
    const ratio = await recordedAfterTraffic(
      'slo:sli_error:ratio_rate5m{service="sample-app",slo="latency"}',
    );

    // Assess: on a busy machine a fast request may take more than 500 ms, a /slow one never less.
    expect(ratio).toBeGreaterThanOrEqual(0.25 - 1e-9);
    expect(ratio).toBeLessThan(0.3);
  });

  it('puts the p95 of successful requests above 500 ms, as HighLatencyP95 sees it, when a quarter are /slow', async () => {
    // Prepare: the alert's expression without its `for`.
    const latency = parseYaml(
      readFileSync(join(STACK_CONFIG, 'prometheus', 'rules', 'latency.yml'), 'utf8'),
    ) as {
      groups: { rules: { alert: string; expr: string }[] }[];
    };
    const expr = latency.groups[0]?.rules.find((rule) => rule.alert === 'HighLatencyP95')?.expr ?? '';

    // Act
    const samples = await vectorOf(expr);

    // Assess
    expect(samples).toEqual([expect.objectContaining({ metric: { service: 'sample-app' } })]);
    expect(Number(samples[0]?.value[1])).toBeGreaterThan(0.5);
  });

  it('stores trace ids as exemplars of the duration histogram, for the dashboard to open the trace', async () => {
    // Act
    const now = Date.now() / 1000;
    const exemplars = await prometheus.api<{ exemplars: { labels: Record<string, string> }[] }[]>(
      '/api/v1/query_exemplars',
      {
        query: 'http_request_duration_seconds_bucket{service="sample-app", route="/slow"}',
        start: String(now - 600),
        end: String(now + 60),
      },
    );

    // Assess
    const traceIds = exemplars.flatMap((series) =>
      series.exemplars.map((exemplar) => exemplar.labels['trace_id']),
    );
    expect(traceIds.length).toBeGreaterThan(0);
    for (const traceId of traceIds) expect(traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('exposes the process metrics the dashboards read', async () => {
    // Act
    const cpu = await vectorOf('process_cpu_seconds_total{service="sample-app"}');
    const memory = await vectorOf('process_resident_memory_bytes{service="sample-app"}');

    // Assess
    expect(cpu).toHaveLength(1);
    expect(Number(memory[0]?.value[1])).toBeGreaterThan(0);
  });
});
