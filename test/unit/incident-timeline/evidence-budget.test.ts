import { describe, expect, it } from 'vitest';
import { BUDGET_GRACE_MS, gatherWithinBudget } from '../../../functions/incident-timeline/evidence-budget.js';
import type {
  EvidenceGatherer,
  EvidenceRequest,
  TimelineEvent,
} from '../../../functions/incident-timeline/model.js';
import { silentLogger } from '../../../functions/shared/log.js';
import { parseToillessConfig } from '../../../functions/shared/stack-config.js';
import { capturedPayload, resolvedAll } from './payloads.js';
import { DECIDED_AT, openedTimeline } from './timelines.js';

const NOW = new Date('2026-11-28T08:50:00Z');

function configWithBudget(sourceBudget = '20s') {
  return parseToillessConfig(`incidents:\n  sourceBudget: ${sourceBudget}\n`);
}

const DEPLOY: TimelineEvent = {
  at: '2026-11-28T08:35:12Z',
  kind: 'deployment',
  source: 'deployments',
  summary: 'acme/sample-app 4f2c9e1 deployed to production',
  relevance: 'high',
  links: [],
  details: {},
};

describe('Evidence within the source budget', () => {
  it('asks for the window from 30 minutes before onset to now while the incident is open', async () => {
    // Prepare
    const timeline = await openedTimeline();
    const requests: EvidenceRequest[] = [];
    const gatherEvidence: EvidenceGatherer = async (request) => {
      requests.push(request);
      return [DEPLOY];
    };

    // Act
    const events = await gatherWithinBudget(
      { config: configWithBudget(), gatherEvidence },
      timeline,
      NOW,
      silentLogger,
    );

    // Assess
    expect(events).toEqual([DEPLOY]);
    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request?.incidentId).toBe(timeline.id);
    expect(request?.onset.toISOString()).toBe(timeline.onset);
    expect(request?.from.getTime()).toBe(Date.parse(timeline.onset) - 30 * 60_000);
    expect(request?.to).toEqual(NOW);
    expect(request?.signal.aborted).toBe(false);
  });

  it('ends the window at the resolution of a resolved incident', async () => {
    // Prepare
    const payload = resolvedAll(await capturedPayload('firing-fastburnrate.json'), '2026-11-28T08:44:00Z');
    const timeline = await openedTimeline(payload);
    let to: Date | undefined;

    // Act
    await gatherWithinBudget(
      {
        config: configWithBudget(),
        gatherEvidence: async (request) => {
          to = request.to;
          return [];
        },
      },
      timeline,
      NOW,
      silentLogger,
    );

    // Assess
    expect(timeline.resolvedAt).toBeDefined();
    expect(to?.toISOString()).toBe(new Date(timeline.resolvedAt as string).toISOString());
  });

  it('turns a gatherer that throws, even before returning a promise, into one source.unavailable event', async () => {
    // Prepare
    const timeline = await openedTimeline();
    const throwing: EvidenceGatherer = () => {
      throw new Error('LOKI_URL is not a URL');
    };

    // Act
    const events = await gatherWithinBudget(
      { config: configWithBudget(), gatherEvidence: throwing },
      timeline,
      NOW,
      silentLogger,
    );

    // Assess
    expect(events).toEqual([
      {
        at: NOW.toISOString(),
        kind: 'source.unavailable',
        source: 'toilless',
        summary: 'evidence gathering failed: LOKI_URL is not a URL',
        relevance: 'normal',
        links: [],
        details: {},
      },
    ]);
  });

  it('aborts the signal at the budget and abandons a gatherer that ignores it after the grace period', async () => {
    // Prepare
    const timeline = await openedTimeline();
    let signal: AbortSignal | undefined;
    let abortedAfterMs: number | undefined;
    const started = Date.now();
    const hanging: EvidenceGatherer = (request) => {
      signal = request.signal;
      request.signal.addEventListener('abort', () => {
        abortedAfterMs = Date.now() - started;
      });
      return new Promise(() => {});
    };

    // Act
    const events = await gatherWithinBudget(
      { config: configWithBudget('100ms'), gatherEvidence: hanging },
      timeline,
      NOW,
      silentLogger,
    );
    const abandonedAfterMs = Date.now() - started;

    // Assess
    expect(signal?.aborted).toBe(true);
    expect(abortedAfterMs).toBeLessThanOrEqual(abandonedAfterMs);
    expect(abandonedAfterMs).toBeGreaterThanOrEqual(100 + BUDGET_GRACE_MS - 5);
    expect(events).toEqual([
      expect.objectContaining({
        kind: 'source.unavailable',
        summary: 'evidence gathering did not finish within the 100ms budget',
      }),
    ]);
  });

  it('keeps what a gatherer returns that is an event and drops the rest', async () => {
    // Prepare
    const timeline = await openedTimeline();
    const sloppy = (async () => [
      DEPLOY,
      null,
      'a log line',
      { ...DEPLOY, at: 'yesterday' },
      { ...DEPLOY, relevance: 'urgent' },
      { ...DEPLOY, links: undefined },
      { ...DEPLOY, details: null },
      { ...DEPLOY, summary: 42 },
      { ...DEPLOY, kind: 'log.error', relevance: 'low' },
    ]) as unknown as EvidenceGatherer;

    // Act
    const events = await gatherWithinBudget(
      { config: configWithBudget(), gatherEvidence: sloppy },
      timeline,
      DECIDED_AT,
      silentLogger,
    );

    // Assess
    expect(events).toEqual([DEPLOY, { ...DEPLOY, kind: 'log.error', relevance: 'low' }]);
  });

  it('takes an answer that is not a list as no evidence', async () => {
    // Prepare
    const timeline = await openedTimeline();
    const odd = (async () => ({ events: [DEPLOY] })) as unknown as EvidenceGatherer;

    // Act
    const events = await gatherWithinBudget(
      { config: configWithBudget(), gatherEvidence: odd },
      timeline,
      NOW,
      silentLogger,
    );

    // Assess
    expect(events).toEqual([]);
  });
});
