import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type InstantSample, type RunningPrometheus, startPrometheus } from '../../support/prometheus.js';
import { waitFor } from '../../support/wait.js';

const shippedRules = readFileSync(
  join(import.meta.dirname, '..', '..', '..', 'stack-config', 'prometheus', 'rules', 'slo-sample-app.yml'),
  'utf8',
);

/** Requests served between two scrapes; errors undefined means no 5xx series is exposed at all. */
interface Traffic {
  ok: number;
  errors: number | undefined;
}

/** sample-app's request counter on /metrics, advanced by `traffic` at every scrape. */
interface SampleApp {
  readonly target: string;
  readonly traffic: Traffic;
  close(): Promise<void>;
}

async function startSampleApp(traffic: Traffic): Promise<SampleApp> {
  let ok = 0;
  let errors: number | undefined;
  const server: Server = createServer((request, response) => {
    if (request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    ok += traffic.ok;
    if (traffic.errors !== undefined) errors = (errors ?? 0) + traffic.errors;
    const lines = [
      '# HELP http_requests_total Requests served, by status code.',
      '# TYPE http_requests_total counter',
      `http_requests_total{service="sample-app",status_code="200"} ${ok}`,
      ...(errors === undefined
        ? []
        : [`http_requests_total{service="sample-app",status_code="500"} ${errors}`]),
    ];
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(`${lines.join('\n')}\n`);
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as AddressInfo;
  return {
    target: `127.0.0.1:${port}`,
    traffic,
    close: () =>
      new Promise((resolveClose, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolveClose()));
      }),
  };
}

/** Scraped and evaluated every second so a test sees rule results within seconds. */
function prometheusConfig(target: string): string {
  return [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    'rule_files: [slo-sample-app.yml]',
    'scrape_configs:',
    '  - job_name: sample-app',
    '    static_configs:',
    `      - targets: ['${target}']`,
    '',
  ].join('\n');
}

interface Running {
  readonly app: SampleApp;
  readonly prometheus: RunningPrometheus;
}

const running: Running[] = [];

afterEach(async () => {
  for (const { app, prometheus } of running.splice(0)) {
    await prometheus.stop();
    await app.close();
  }
});

async function startWith(traffic: Traffic): Promise<Running> {
  const app = await startSampleApp(traffic);
  try {
    const prometheus = await startPrometheus({
      config: prometheusConfig(app.target),
      ruleFiles: { 'slo-sample-app.yml': shippedRules },
    });
    const both = { app, prometheus };
    running.push(both);
    return both;
  } catch (error) {
    await app.close();
    throw error;
  }
}

async function vector(prometheus: RunningPrometheus, expr: string): Promise<readonly InstantSample[]> {
  const data = await prometheus.query(expr);
  if (data.resultType !== 'vector') throw new Error(`${expr} gave a ${data.resultType}, not a vector`);
  return data.result;
}

/** Waits for the expression to return at least one sample. */
function samplesOf(
  prometheus: RunningPrometheus,
  expr: string,
  what: string,
): Promise<readonly InstantSample[]> {
  return waitFor(
    async () => {
      const result = await vector(prometheus, expr);
      return result.length > 0 ? result : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250, description: what },
  );
}

const availability = '{service="sample-app",slo="availability"}';

describe('Generated SLO rules in a real Prometheus', () => {
  it('records no error ratio, and no NaN, while there is no traffic', async () => {
    // Prepare: the counters exist but never move.
    const { prometheus } = await startWith({ ok: 0, errors: 0 });

    // Act: once the 5m event rate is recorded, the rules have seen at least two scrapes.
    const events = await samplesOf(prometheus, `slo:sli_events:rate5m${availability}`, 'the 5m event rate');
    const ratios = await vector(prometheus, 'slo:sli_error:ratio_rate5m');
    const budget = await vector(prometheus, 'slo:error_budget_remaining:ratio');
    const notANumber = await vector(
      prometheus,
      '{__name__=~"slo:.+"} != on(__name__, service, slo) {__name__=~"slo:.+"}',
    );
    // Both groups (availability, latency) evaluate on their own: wait for both constants.
    await samplesOf(prometheus, 'count(slo:objective:ratio) == 2', 'the objectives of both SLOs');
    const objectives = await vector(prometheus, 'slo:objective:ratio');

    // Assess
    expect(events.map((sample) => sample.value[1])).toEqual(['0']);
    expect(ratios).toEqual([]);
    expect(budget).toEqual([]);
    expect(notANumber).toEqual([]);
    expect(objectives.map((sample) => [sample.metric['slo'], sample.value[1]]).sort()).toEqual([
      ['availability', '0.99'],
      ['latency', '0.95'],
    ]);
  });

  it('records a zero error ratio while requests succeed and no 5xx series exists', async () => {
    // Prepare
    const { prometheus } = await startWith({ ok: 10, errors: undefined });

    // Act
    const ratio = await samplesOf(
      prometheus,
      `slo:sli_error:ratio_rate5m${availability}`,
      'the 5m error ratio',
    );
    const ratio1h = await samplesOf(
      prometheus,
      `slo:sli_error:ratio_rate1h${availability}`,
      'the 1h error ratio',
    );
    const remaining = await samplesOf(
      prometheus,
      `slo:error_budget_remaining:ratio${availability}`,
      'the error budget remaining',
    );
    const series500 = await vector(prometheus, 'http_requests_total{status_code="500"}');

    // Assess
    expect(series500).toEqual([]);
    expect(ratio.map((sample) => sample.value[1])).toEqual(['0']);
    expect(ratio1h.map((sample) => sample.value[1])).toEqual(['0']);
    expect(remaining.map((sample) => sample.value[1])).toEqual(['1']);
  });

  it('raises FastBurnRate for a total outage', async () => {
    // Prepare: healthy traffic first, then every request fails.
    const { app, prometheus } = await startWith({ ok: 10, errors: undefined });
    await samplesOf(prometheus, `slo:sli_error:ratio_rate5m${availability} == 0`, 'a healthy error ratio');
    app.traffic.ok = 0;
    app.traffic.errors = 10;

    // Act: the shipped rule has for: 2m, so within seconds the alert is pending; firing after the
    // `for` is covered by the promtool tests (stack-config/prometheus/tests/slo-sample-app.test.yml).
    const alerts = await samplesOf(
      prometheus,
      'ALERTS{alertname="FastBurnRate"}',
      'FastBurnRate to become pending',
    );
    const ratio = await vector(prometheus, `slo:sli_error:ratio_rate5m${availability}`);
    const active = await prometheus.api<{
      alerts: { labels: Record<string, string>; annotations: Record<string, string>; state: string }[];
    }>('/api/v1/alerts');

    // Assess
    expect(alerts.map((sample) => sample.metric)).toEqual([
      {
        __name__: 'ALERTS',
        alertname: 'FastBurnRate',
        alertstate: 'pending',
        severity: 'critical',
        service: 'sample-app',
        slo: 'availability',
      },
    ]);
    expect(Number(ratio[0]?.value[1])).toBeGreaterThan(0.144);
    const fast = active.alerts.find((alert) => alert.labels['alertname'] === 'FastBurnRate');
    expect(fast?.annotations['summary']).toMatch(
      /^sample-app availability: burning the error budget \d+\.\dx too fast \(1h error ratio [\d.]+%\)$/,
    );
    expect(fast?.annotations['runbook_url']).toBe('runbooks/fast-burn-rate.md');
  });
});
