/**
 * Every client reads a bounded answer: a service (or whatever answers in its place) that sends more
 * than the client's cap gets an upstream error, and the client stops reading instead of buffering it.
 */
import { createServer, type Server } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGitHubClient } from '../../../functions/shared/clients/github.js';
import { GrafanaClient } from '../../../functions/shared/clients/grafana.js';
import { LokiClient } from '../../../functions/shared/clients/loki.js';
import { PrometheusClient } from '../../../functions/shared/clients/prometheus.js';
import { TempoClient } from '../../../functions/shared/clients/tempo.js';
import { UpstreamError } from '../../../functions/shared/errors.js';
import { silentLogger } from '../../../functions/shared/log.js';
import { closeServer, listenOnLoopback } from '../../support/http-test-server.js';

const CAP = 256 * 1024;
/** What the server would send if nobody stopped reading: far more than the cap. */
const ENDLESS = 64 * 1024 * 1024;
const CHUNK = Buffer.alloc(16 * 1024, 0x20);

/** Answers every request 200 with a JSON array that goes on and on, counting what it managed to write. */
class StreamingServer {
  private server: Server | undefined;
  url = '';
  written = 0;
  finished = false;

  async start(options: { readonly declareLength?: boolean } = {}): Promise<void> {
    this.server = createServer((_request, response) => {
      response.writeHead(200, {
        'content-type': 'application/json',
        ...(options.declareLength ? { 'content-length': String(ENDLESS) } : {}),
      });
      const pump = () => {
        while (this.written < ENDLESS) {
          this.written += CHUNK.length;
          if (!response.write(CHUNK)) {
            response.once('drain', pump);
            return;
          }
        }
        this.finished = true;
        response.end();
      };
      response.on('close', () => response.removeAllListeners('drain'));
      pump();
    });
    this.url = await listenOnLoopback(this.server);
  }

  async close(): Promise<void> {
    if (this.server) await closeServer(this.server);
  }
}

describe('Response size caps', () => {
  let server: StreamingServer;

  beforeEach(async () => {
    server = new StreamingServer();
    await server.start();
  });

  afterEach(async () => {
    await server.close();
  });

  async function expectRefused(call: Promise<unknown>, service: string): Promise<void> {
    const error = await call.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).service).toBe(service);
    expect((error as Error).message).toMatch(
      /answered with more than 256 KiB: the answer was refused unread/,
    );
    // The client stopped reading: the server never got far beyond the cap (socket buffers aside).
    expect(server.finished).toBe(false);
    expect(server.written).toBeLessThan(ENDLESS / 4);
  }

  it('Prometheus: an oversized query answer is an upstream error', async () => {
    const client = new PrometheusClient({ baseUrl: server.url, maxResponseBytes: CAP });

    await expectRefused(client.query('up'), 'prometheus');
  });

  it('Prometheus: an oversized rules list is an upstream error', async () => {
    const client = new PrometheusClient({ baseUrl: server.url, maxResponseBytes: CAP });

    await expectRefused(client.alertingRules(), 'prometheus');
  });

  it('Loki: an oversized answer is an upstream error', async () => {
    const client = new LokiClient({ baseUrl: server.url, maxResponseBytes: CAP });

    await expectRefused(
      client.queryRangeMatrix('count_over_time({job="a"}[1m])', {
        start: new Date('2026-11-28T08:00:00Z'),
        end: new Date('2026-11-28T09:00:00Z'),
        stepSeconds: 60,
      }),
      'loki',
    );
  });

  it('Tempo: an oversized trace is an upstream error', async () => {
    const client = new TempoClient({ baseUrl: server.url, maxResponseBytes: CAP });

    await expectRefused(client.trace('4bf92f3577b34da6a3ce929d0e0e4736'), 'tempo');
  });

  it('Grafana: an oversized answer is an upstream error', async () => {
    const client = new GrafanaClient({ baseUrl: server.url, token: 'glsa_test', maxResponseBytes: CAP });

    await expectRefused(client.searchDashboards(), 'grafana');
  });

  it('GitHub: an oversized answer is an upstream error, through Octokit', async () => {
    const client = createGitHubClient({
      baseUrl: server.url,
      logger: silentLogger,
      serverErrorRetries: 0,
      maxResponseBytes: CAP,
    });

    await expectRefused(client.getPullRequest('acme/shop', 1), 'github');
  });

  it('refuses at once an answer that declares a length over the cap', async () => {
    await server.close();
    server = new StreamingServer();
    await server.start({ declareLength: true });
    const client = new PrometheusClient({ baseUrl: server.url, maxResponseBytes: CAP });

    await expectRefused(client.query('up'), 'prometheus');
  });

  it('reads answers up to the cap as before', async () => {
    const small = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }));
    });
    const url = await listenOnLoopback(small);
    try {
      const client = new PrometheusClient({ baseUrl: url, maxResponseBytes: 100 });
      await expect(client.query('up')).resolves.toEqual([]);
    } finally {
      await closeServer(small);
    }
  });
});
