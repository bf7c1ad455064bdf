import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, type RunningSampleApp, startSampleApp } from '../../support/sample-app.js';

/** The sample of a metric line such as `name{a="b",...} 3` in the OpenMetrics exposition. */
function sampleValue(exposition: string, name: string, labels: string): number | undefined {
  const line = exposition.split('\n').find((entry) => entry.startsWith(`${name}{`) && entry.includes(labels));
  // OpenMetrics: `name{labels} value # {trace_id="..."} exemplar-value timestamp`.
  const sample = line?.split(' # ')[0];
  return sample === undefined ? undefined : Number(sample.slice(sample.lastIndexOf(' ') + 1));
}

describe('sample app fault injection', () => {
  let app: RunningSampleApp;

  beforeAll(async () => {
    app = await startSampleApp();
  });

  afterAll(async () => {
    await app?.stop();
  });

  it.each([
    ['/slow?delay_ms=-1', 'delay_ms must be from 0 to 30000, not -1'],
    ['/slow?delay_ms=30001', 'delay_ms must be from 0 to 30000, not 30001'],
    ['/slow?delay_ms=abc', 'delay_ms must be an integer from 0 to 30000, not "abc"'],
    ['/slow?delay_ms=1.5', 'delay_ms must be an integer from 0 to 30000, not "1.5"'],
    ['/slow?delay_ms=1&delay_ms=2', 'query parameter delay_ms is given 2 times'],
    ['/error?ratio=1.5', 'ratio must be from 0 to 1, not 1.5'],
    ['/error?ratio=', 'ratio must be a number from 0 to 1, not ""'],
    ['/error?ratio=NaN', 'ratio must be a number from 0 to 1, not "NaN"'],
    ['/stress?duration_ms=0', 'duration_ms must be from 1 to 10000, not 0'],
    ['/stress?duration_ms=10001', 'duration_ms must be from 1 to 10000, not 10001'],
    ['/checkout?failure_ratio=2', 'failure_ratio must be from 0 to 1, not 2'],
    ['/products?limit=5', 'unknown query parameter "limit": this route accepts no parameters'],
    ['/slow?dealy_ms=5', 'unknown query parameter "dealy_ms": this route accepts delay_ms'],
  ])('answers %s with 400 and says what is wrong', async (path, message) => {
    // Act
    const answer = await getJson(app, path);

    // Assess
    expect(answer).toEqual({ status: 400, body: { error: message } });
  });

  it('fails /error at the requested ratio, within statistical bounds over 400 requests', async () => {
    // Act
    const statuses: number[] = [];
    for (let batch = 0; batch < 40; batch++) {
      const answers = await Promise.all(Array.from({ length: 10 }, () => getJson(app, '/error?ratio=0.25')));
      statuses.push(...answers.map((answer) => answer.status));
    }

    // Assess: 100 failures expected, standard deviation 8.7; 5 deviations is a one-in-a-million miss.
    const failures = statuses.filter((status) => status === 500).length;
    expect(statuses.filter((status) => status !== 500 && status !== 200)).toEqual([]);
    expect(failures).toBeGreaterThanOrEqual(100 - 43);
    expect(failures).toBeLessThanOrEqual(100 + 43);
  });

  it('never fails /error at ratio 0 and always fails it at ratio 1', async () => {
    // Act
    const never = await Promise.all(Array.from({ length: 20 }, () => getJson(app, '/error?ratio=0')));
    const always = await Promise.all(Array.from({ length: 20 }, () => getJson(app, '/error?ratio=1')));

    // Assess
    expect(never.map((answer) => answer.status)).toEqual(Array(20).fill(200));
    expect(always.map((answer) => answer.status)).toEqual(Array(20).fill(500));
  });

  it("shows /slow's delay in the duration histogram: above the 0.5 s bucket, in the sum", async () => {
    // Act
    const answer = await getJson(app, '/slow?delay_ms=700');
    const exposition = await (await fetch(`${app.url}/metrics`)).text();

    // Assess
    expect(answer).toEqual({ status: 200, body: { delayedMs: 700 } });
    const labels = 'method="GET",route="/slow",status_code="200"';
    expect(sampleValue(exposition, 'http_request_duration_seconds_bucket', `le="0.5",${labels}`)).toBe(0);
    expect(sampleValue(exposition, 'http_request_duration_seconds_bucket', `le="+Inf",${labels}`)).toBe(1);
    expect(sampleValue(exposition, 'http_request_duration_seconds_sum', labels)).toBeGreaterThanOrEqual(0.7);
  });

  it('burns CPU for the requested time on /stress and still answers /healthz meanwhile', async () => {
    // Act
    const stress = getJson(app, '/stress?duration_ms=1500');
    const health = await fetch(`${app.url}/healthz`, { signal: AbortSignal.timeout(30_000) });
    const answer = await stress;
    const exposition = await (await fetch(`${app.url}/metrics`)).text();

    // Assess
    expect(health.status).toBe(200);
    expect(answer).toEqual({ status: 200, body: { burnedMs: 1500 } });
    expect(
      sampleValue(exposition, 'http_request_duration_seconds_sum', 'route="/stress",status_code="200"'),
    ).toBeGreaterThanOrEqual(1.5);
  });

  it('counts an unknown path under one route label, unmatched, with 404', async () => {
    // Act
    const first = await getJson(app, '/wp-admin/setup.php');
    await getJson(app, '/another/unknown');
    const exposition = await (await fetch(`${app.url}/metrics`)).text();

    // Assess
    expect(first.status).toBe(404);
    expect(sampleValue(exposition, 'http_requests_total', 'route="unmatched",status_code="404"')).toBe(2);
    expect(exposition).not.toContain('wp-admin');
  });
});
