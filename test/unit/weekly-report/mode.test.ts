import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { chooseRenderMode, grafanaAnswers } from '../../../functions/weekly-report/mode.js';
import { closeServer, listenOnLoopback } from '../../support/http-test-server.js';

const healthy = async () => true;
const down = async () => false;

describe('Rendering mode', () => {
  it('takes --mode over toilless.yaml, and toilless.yaml over the automatic choice', async () => {
    const probe = async () => {
      throw new Error('Grafana must not be asked when the mode is given');
    };
    expect(
      await chooseRenderMode({
        requested: 'native',
        configured: 'grafana',
        grafanaTokenSet: true,
        grafanaHealthy: probe,
      }),
    ).toEqual({ mode: 'native', reason: '--mode native' });
    expect(
      (await chooseRenderMode({ configured: 'grafana', grafanaTokenSet: false, grafanaHealthy: probe })).mode,
    ).toBe('grafana');
  });

  it('picks grafana automatically only with a token and a Grafana that answers', async () => {
    expect(
      await chooseRenderMode({ configured: 'auto', grafanaTokenSet: true, grafanaHealthy: healthy }),
    ).toEqual({
      mode: 'grafana',
      reason: 'GRAFANA_TOKEN is set and Grafana answers',
    });
    expect(
      await chooseRenderMode({ configured: 'auto', grafanaTokenSet: false, grafanaHealthy: healthy }),
    ).toEqual({
      mode: 'native',
      reason: 'GRAFANA_TOKEN is not set',
    });
    expect(
      (await chooseRenderMode({ configured: 'auto', grafanaTokenSet: true, grafanaHealthy: down })).mode,
    ).toBe('native');
  });

  it('counts Grafana as answering only when /api/health says its database is ok', async () => {
    // Prepare: a server answering as Grafana does, then as a Grafana whose database is failing
    let answer = { status: 200, body: { database: 'ok', version: '12.1.0' } };
    const server = createServer((req, res) => {
      res.writeHead(req.url === '/api/health' ? answer.status : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
    const url = await listenOnLoopback(server);
    try {
      // Act / Assess
      expect(await grafanaAnswers(url)).toBe(true);
      answer = { status: 503, body: { database: 'failing', version: '12.1.0' } };
      expect(await grafanaAnswers(url)).toBe(false);
      expect(await grafanaAnswers('http://127.0.0.1:9', { timeoutMs: 500 })).toBe(false);
    } finally {
      await closeServer(server);
    }
  });
});
