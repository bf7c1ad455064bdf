import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEvidenceGatherer } from '../../../../functions/incident-timeline/evidence.js';
import type { TimelineEvent } from '../../../../functions/incident-timeline/model.js';
import { EvidenceLimits } from '../../../../functions/incident-timeline/source-limits.js';
import { FsObjectStore } from '../../../../functions/shared/adapters/local/fs-object-store.js';
import { silentLogger } from '../../../../functions/shared/log.js';
import {
  evidenceConcurrency,
  timelineReservedConcurrency,
} from '../../../../functions/shared/stack-config.js';
import { STACK_CONFIG_DIR } from '../../../support/stack-config-copy.js';
import { evidenceRequest, toillessConfig } from './incident-data.js';

const ENDPOINTS = {
  prometheusUrl: 'http://prometheus:9090',
  lokiUrl: 'http://loki:3100',
  tempoUrl: 'http://tempo:3200',
};
const SOURCE_OF_HOST: Record<string, string> = { prometheus: 'prometheus', loki: 'loki', tempo: 'tempo' };

/** Answers every source with empty results after `delayMs`, counting requests in flight per source. */
function countingFetch(delayMs: number) {
  const inFlight: Record<string, number> = { prometheus: 0, loki: 0, tempo: 0 };
  const peak: Record<string, number> = { prometheus: 0, loki: 0, tempo: 0 };
  const requests: Record<string, number> = { prometheus: 0, loki: 0, tempo: 0 };
  const fetchImpl: typeof fetch = async (input, init) => {
    const url = new URL(String(input instanceof Request ? input.url : input));
    const source = SOURCE_OF_HOST[url.hostname] as string;
    inFlight[source] = (inFlight[source] ?? 0) + 1;
    requests[source] = (requests[source] ?? 0) + 1;
    peak[source] = Math.max(peak[source] ?? 0, inFlight[source] ?? 0);
    try {
      await new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, delayMs);
        init?.signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(init.signal?.reason);
        });
      });
    } finally {
      inFlight[source] = (inFlight[source] ?? 0) - 1;
    }
    const query = url.searchParams.get('query') ?? '';
    const logQuery = source === 'loki' && !query.includes('_over_time') && !query.includes('rate(');
    const resultType = logQuery ? 'streams' : url.pathname.endsWith('query_range') ? 'matrix' : 'vector';
    const body =
      source === 'tempo' ? { traces: [] } : { status: 'success', data: { resultType, result: [] } };
    return new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } });
  };
  return { fetchImpl, inFlight, peak, requests };
}

type GathererOptions = Parameters<typeof createEvidenceGatherer>[0];

/** The toilless config with these per-source bounds under incidents.concurrency. */
function withConcurrency(bounds: string) {
  return toillessConfig(`incidents:\n  concurrency: { ${bounds} }\n`);
}

/** One request slot per source. */
function oneSlotEach(): EvidenceLimits {
  return new EvidenceLimits({ prometheus: 1, loki: 1, tempo: 1, deployments: 1 });
}

const unavailable = (events: readonly TimelineEvent[]) =>
  events.filter((event) => event.kind === 'source.unavailable');

describe('Evidence source limits', () => {
  let dir: string;
  let store: FsObjectStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'toilless-limits-'));
    store = new FsObjectStore(dir);
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A gatherer of the test's store that fetches through `fetchImpl`, with the given bounds. */
  function gathererOf(
    fetchImpl: typeof fetch,
    toilless: GathererOptions['toilless'],
    options: Partial<GathererOptions> = {},
  ) {
    return createEvidenceGatherer({
      config: ENDPOINTS,
      toilless,
      stackConfigDir: STACK_CONFIG_DIR,
      store,
      logger: silentLogger,
      slos: [],
      fetch: fetchImpl,
      ...options,
    });
  }

  /** Evidence requests for `count` incidents inc-0, inc-1, …, gathered at once. */
  function gatherAll(gather: ReturnType<typeof createEvidenceGatherer>, count: number) {
    return Promise.all(
      Array.from({ length: count }, (_, index) => gather(evidenceRequest({ incidentId: `inc-${index}` }))),
    );
  }

  it('keeps every source within its bound across many incidents gathered at once', async () => {
    const counting = countingFetch(5);
    const gather = gathererOf(
      counting.fetchImpl,
      withConcurrency('prometheus: 3, loki: 2, tempo: 2, deployments: 1'),
    );

    const results = await gatherAll(gather, 40);

    expect(results.flatMap(unavailable)).toEqual([]);
    expect(counting.peak).toEqual({ prometheus: 3, loki: 2, tempo: 2 });
    expect(counting.requests.loki).toBeGreaterThanOrEqual(40);
  });

  it('shares one set of limits between gatherers given the same EvidenceLimits', async () => {
    const counting = countingFetch(5);
    const toilless = withConcurrency('prometheus: 2, loki: 1, tempo: 1');
    const limits = new EvidenceLimits(evidenceConcurrency(toilless));
    const gatherers = [0, 1].map(() => gathererOf(counting.fetchImpl, toilless, { limits }));

    await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        gatherers[index % 2]?.(evidenceRequest({ incidentId: `inc-${index}` })),
      ),
    );

    expect(counting.peak).toEqual({ prometheus: 2, loki: 1, tempo: 1 });
  });

  it('serves the incident that started first first, so early incidents finish whole', async () => {
    const counting = countingFetch(10);
    const gather = gathererOf(counting.fetchImpl, withConcurrency('prometheus: 1, loki: 1, tempo: 1'));
    const finished: number[] = [];

    await Promise.all(
      Array.from({ length: 6 }, (_, index) =>
        gather(evidenceRequest({ incidentId: `inc-${index}` })).then(() => finished.push(index)),
      ),
    );

    expect(finished).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('says a source was still waiting for its slots when the budget ran out', async () => {
    const counting = countingFetch(300);
    const gather = gathererOf(counting.fetchImpl, withConcurrency('prometheus: 1, loki: 1, tempo: 1'));

    const [, second] = await Promise.all([
      gather(evidenceRequest({ incidentId: 'inc-first' })),
      gather(evidenceRequest({ incidentId: 'inc-second', signal: AbortSignal.timeout(100) })),
    ]);

    const loki = unavailable(second ?? []).find((event) => event.source === 'loki');
    expect(loki?.summary).toContain(
      'stopped when the evidence budget ran out, still waiting for one of the 1 Loki request slots',
    );
    expect(counting.peak.loki).toBe(1);
  });

  it("starts a source's time limit when its first request gets a slot, not while it waits", async () => {
    const counting = countingFetch(60);
    const gather = gathererOf(counting.fetchImpl, withConcurrency('prometheus: 1, loki: 1, tempo: 1'), {
      sourceTimeoutMs: 400,
    });

    // Each incident's Loki needs two requests of 60 ms: the fifth waits ~500 ms before its first.
    const results = await gatherAll(gather, 5);

    expect(results.flatMap(unavailable)).toEqual([]);
  });

  it('holds a slot until the response body is read, and frees it when the request is aborted', async () => {
    const limits = oneSlotEach();
    const limited = limits.fetchFor('loki', async () => new Response('{"ok":true}'));

    const first = await limited('http://loki:3100/a');
    expect(limits.limits.loki.inFlight).toBe(1);
    await first.text();
    expect(limits.limits.loki.inFlight).toBe(0);

    const controller = new AbortController();
    await limited('http://loki:3100/b', { signal: controller.signal });
    expect(limits.limits.loki.inFlight).toBe(1);
    controller.abort();
    expect(limits.limits.loki.inFlight).toBe(0);
  });

  it('frees the slot when the request fails', async () => {
    const limits = oneSlotEach();
    const limited = limits.fetchFor('tempo', async () => {
      throw new TypeError('fetch failed');
    });

    await expect(limited('http://tempo:3200/api/search')).rejects.toThrow('fetch failed');
    expect(limits.limits.tempo.inFlight).toBe(0);
  });
});

describe('incidents.concurrency', () => {
  it('defaults to 8 Prometheus, 4 Loki, 4 Tempo and 16 deploy index requests', () => {
    expect(toillessConfig().incidents.concurrency).toEqual({
      prometheus: 8,
      loki: 4,
      tempo: 4,
      deployments: 16,
    });
  });

  it('reserves the smallest bound as the function concurrency, and gives each instance its share', () => {
    const toilless = withConcurrency('prometheus: 9, loki: 3, tempo: 6, deployments: 12');

    expect(timelineReservedConcurrency(toilless)).toBe(3);
    expect(evidenceConcurrency(toilless, 3)).toEqual({ prometheus: 3, loki: 1, tempo: 2, deployments: 4 });
    expect(evidenceConcurrency(toilless)).toEqual({ prometheus: 9, loki: 3, tempo: 6, deployments: 12 });
  });

  it('refuses a bound of 0 naming the key', () => {
    expect(() => withConcurrency('loki: 0')).toThrow(/concurrency\.loki/);
  });
});
