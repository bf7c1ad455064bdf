import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrometheusClient } from '../../../functions/shared/clients/prometheus.js';
import { UpstreamError } from '../../../functions/shared/errors.js';
import { type RunningPrometheus, startPrometheus } from '../../support/prometheus.js';

describe('Prometheus query client against the real Prometheus', () => {
  let prometheus: RunningPrometheus;
  let client: PrometheusClient;

  beforeAll(async () => {
    prometheus = await startPrometheus();
    client = new PrometheusClient({ baseUrl: prometheus.url });
  });

  afterAll(async () => {
    await prometheus?.stop();
  });

  it('reads an instant vector with its labels', async () => {
    const result = await client.query('label_replace(vector(42), "service", "checkout", "", "")');

    expect(result).toHaveLength(1);
    expect(result[0]?.metric).toEqual({ service: 'checkout' });
    expect(result[0]?.points[0]?.value).toBe(42);
  });

  it('reads a scalar as one unlabelled series', async () => {
    const result = await client.query('scalar(vector(0.5))');

    expect(result).toEqual([{ metric: {}, points: [{ at: expect.any(Date), value: 0.5 }] }]);
  });

  it('reads a range with one point per step', async () => {
    const end = new Date();
    const start = new Date(end.getTime() - 60_000);

    const result = await client.queryRange('vector(1)', { start, end, stepSeconds: 15 });

    expect(result[0]?.points.length).toBeGreaterThanOrEqual(4);
    expect(result[0]?.points.every((p) => p.value === 1)).toBe(true);
  });

  it("surfaces a bad query as an UpstreamError with Prometheus' own explanation", async () => {
    const error = await client.query('sum(rate(http_requests_total[5m])').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).status).toBe(400);
    expect((error as Error).message).toMatch(/^prometheus: bad_data: .*parse error/);
  });

  it('refuses a range that Prometheus would reject for too many points, before sending it', async () => {
    const end = new Date();

    await expect(
      client.queryRange('vector(1)', { start: new Date(end.getTime() - 86_400_000), end, stepSeconds: 1 }),
    ).rejects.toThrow(/at most 11000 points/);
  });

  it('names the service when nothing listens', async () => {
    const down = new PrometheusClient({ baseUrl: 'http://127.0.0.1:9', timeoutMs: 2_000 });

    await expect(down.query('vector(1)')).rejects.toThrow(/^prometheus: /);
  });
});
