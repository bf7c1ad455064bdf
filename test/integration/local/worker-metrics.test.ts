import { readFile, rm } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LocalServer, startLocalServer } from '../../../functions/local/local-server.js';
import { silentLogger } from '../../../functions/shared/log.js';
import { generatedSecret } from '../../support/local-server.js';
import { freePort } from '../../support/ports.js';
import { createTempDir } from '../../support/process.js';
import { waitFor } from '../../support/wait.js';

const fixture = async (name: string) =>
  JSON.parse(await readFile(new URL(`../../fixtures/alertmanager/${name}`, import.meta.url), 'utf8')).body;

/** The value of one series in a Prometheus text exposition, or undefined when it is not there. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('Local server /metrics of workers', () => {
  let dataDir: string;
  let server: LocalServer;

  beforeEach(async () => {
    dataDir = await createTempDir('worker-metrics');
    // Prometheus, Loki and Tempo on closed ports: every incident timeline finds them unavailable.
    const down = `http://127.0.0.1:${await freePort()}`;
    server = await startLocalServer({
      port: 0,
      dataDir,
      logger: silentLogger,
      env: { PROMETHEUS_URL: down, LOKI_URL: down, TEMPO_URL: down },
      processMetrics: false,
      // Retries without waiting: the dead letter comes after 5 attempts at once.
      clock: { now: () => new Date(), sleep: async () => {} },
    });
  });

  afterEach(async () => {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const scrape = async () => (await fetch(`${server.url}/metrics`)).text();

  it('declares every series at 0 before anything happened', async () => {
    // Act
    const text = await scrape();

    // Assess
    for (const series of [
      'toilless_worker_failures_total{subscriber="incident-timeline"}',
      'toilless_dead_letters_total{subscriber="dora-metrics"}',
      'toilless_evidence_sources_unavailable_total{source="loki"}',
      'toilless_report_runs_total{outcome="success"}',
      'toilless_report_runs_total{outcome="failure"}',
    ]) {
      expect(sample(text, series), series).toBe(0);
    }
  });

  it('counts failed attempts, dead letters and unavailable evidence sources', async () => {
    // Prepare: a subscriber whose handler always throws, next to the real ones.
    server.runtime.bus.subscribe({
      name: 'always-failing',
      types: ['AlertNotification'],
      handler: async () => {
        throw new Error('boom');
      },
    });
    const token = await generatedSecret(dataDir, 'alertmanager-webhook-token');

    // Act: one alert notification, delivered to the failing subscriber and to the incident timeline.
    const response = await fetch(`${server.url}/webhooks/alertmanager`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(await fixture('firing-fastburnrate.json')),
    });
    expect(response.status).toBe(200);
    await server.runtime.bus.idle();

    // Assess
    const text = await waitFor(
      async () => {
        const scraped = await scrape();
        return sample(scraped, 'toilless_dead_letters_total{subscriber="always-failing"}') === 1
          ? scraped
          : undefined;
      },
      { timeoutMs: 10_000, description: 'the dead letter to be counted' },
    );
    expect(sample(text, 'toilless_worker_failures_total{subscriber="always-failing"}')).toBe(5);
    expect(sample(text, 'toilless_worker_failures_total{subscriber="incident-timeline"}')).toBe(0);
    expect(sample(text, 'toilless_dead_letters_total{subscriber="incident-timeline"}')).toBe(0);
    for (const source of ['prometheus', 'loki', 'tempo']) {
      expect(sample(text, `toilless_evidence_sources_unavailable_total{source="${source}"}`), source).toBe(1);
    }
    expect(sample(text, 'toilless_evidence_sources_unavailable_total{source="deployments"}')).toBe(0);
    expect(text).toContain('# TYPE toilless_worker_failures_total counter');
  });
});
