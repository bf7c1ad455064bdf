import { describe, expect, it } from 'vitest';
import { LokiClient } from '../../../functions/shared/clients/loki.js';
import { PrometheusClient } from '../../../functions/shared/clients/prometheus.js';
import {
  authorizationHeader,
  authorizedFetch,
  serviceAuthorizations,
} from '../../../functions/shared/clients/service-auth.js';
import { TempoClient } from '../../../functions/shared/clients/tempo.js';
import { StaticSecretSource } from '../../../functions/shared/ports/secrets.js';

interface SeenRequest {
  readonly url: string;
  readonly authorization: string | null;
}

/** A fetch that records each request's URL and Authorization header and answers `body`. */
function recordingFetch(body: unknown): { fetch: typeof fetch; seen: SeenRequest[] } {
  const seen: SeenRequest[] = [];
  const fake = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = input instanceof Request ? input.url : String(input);
    seen.push({ url, authorization: new Headers(init?.headers).get('authorization') });
    return Promise.resolve(Response.json(body));
  };
  return { fetch: fake as typeof fetch, seen };
}

const EMPTY_MATRIX = { status: 'success', data: { resultType: 'matrix', result: [] } };
const EMPTY_VECTOR = { status: 'success', data: { resultType: 'vector', result: [] } };

describe('service credentials', () => {
  it('reads user:password as basic auth and anything else as a bearer token', () => {
    // Act & Assess
    expect(authorizationHeader('123456:glc_secret')).toBe(
      `Basic ${Buffer.from('123456:glc_secret').toString('base64')}`,
    );
    expect(authorizationHeader('glc_token\n')).toBe('Bearer glc_token');
    expect(authorizationHeader('Bearer already')).toBe('Bearer already');
    expect(authorizationHeader('  ')).toBeUndefined();
  });

  it('takes each service its own secret, leaving out those not set', async () => {
    // Prepare
    const secrets = new StaticSecretSource({ PROMETHEUS_AUTH: 'user:pass', TEMPO_AUTH: 'tok' });

    // Act
    const authorizations = await serviceAuthorizations(secrets);

    // Assess
    expect(authorizations).toEqual({
      prometheus: `Basic ${Buffer.from('user:pass').toString('base64')}`,
      tempo: 'Bearer tok',
    });
  });

  it('takes a secret without a value as not set, and lets other failures through', async () => {
    // Prepare
    const failing = (name: string) => ({
      get: () => Promise.reject(Object.assign(new Error(`${name} happened`), { name })),
    });

    // Act & Assess
    await expect(serviceAuthorizations(failing('ResourceNotFoundException'))).resolves.toEqual({});
    await expect(serviceAuthorizations(failing('AccessDeniedException'))).rejects.toThrow(
      'AccessDeniedException happened',
    );
  });

  it('the Prometheus client sends its Authorization header to its own origin', async () => {
    // Prepare
    const { fetch, seen } = recordingFetch(EMPTY_VECTOR);
    const client = new PrometheusClient({
      baseUrl: 'https://prom.example.net/api/prom',
      authorization: 'Bearer p',
      fetch,
    });

    // Act
    await client.query('up');

    // Assess
    expect(seen).toEqual([
      { url: expect.stringMatching(/^https:\/\/prom\.example\.net\//), authorization: 'Bearer p' },
    ]);
  });

  it('the Loki client sends its Authorization header to its own origin', async () => {
    // Prepare
    const { fetch, seen } = recordingFetch(EMPTY_MATRIX);
    const client = new LokiClient({ baseUrl: 'https://logs.example.net', authorization: 'Bearer l', fetch });

    // Act
    await client.queryRangeMatrix('sum(count_over_time({job="x"}[1m]))', {
      start: new Date('2026-12-01T00:00:00Z'),
      end: new Date('2026-12-01T01:00:00Z'),
      stepSeconds: 60,
    });

    // Assess
    expect(seen.map((request) => request.authorization)).toEqual(['Bearer l']);
  });

  it('the Tempo client sends its Authorization header to its own origin', async () => {
    // Prepare
    const { fetch, seen } = recordingFetch({ traces: [] });
    const client = new TempoClient({
      baseUrl: 'https://traces.example.net',
      authorization: 'Bearer t',
      fetch,
    });

    // Act
    await client.trace('0123456789abcdef0123456789abcdef').catch(() => undefined);

    // Assess
    expect(seen.length).toBeGreaterThan(0);
    for (const request of seen) {
      expect(new URL(request.url).origin).toBe('https://traces.example.net');
      expect(request.authorization).toBe('Bearer t');
    }
  });

  it('never sends the header to another origin, and sends none without credentials', async () => {
    // Prepare
    const { fetch, seen } = recordingFetch({});
    const authorized = authorizedFetch('https://prom.example.net', 'Bearer p', fetch) as typeof fetch;
    const plain = authorizedFetch('https://prom.example.net', undefined, fetch) as typeof fetch;

    // Act
    await authorized('https://prom.example.net:8443/api/v1/query');
    await authorized('http://prom.example.net/api/v1/query');
    await authorized('https://elsewhere.example.org/api/v1/query');
    await plain('https://prom.example.net/api/v1/query');

    // Assess
    expect(seen.map((request) => request.authorization)).toEqual([null, null, null, null]);
  });
});
