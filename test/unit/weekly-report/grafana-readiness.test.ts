import { describe, expect, it } from 'vitest';
import {
  describeWaiting,
  INITIAL_READINESS,
  observeReadiness,
  type PageObservation,
  type ReadinessState,
} from '../../../functions/weekly-report/grafana/readiness.js';

const SETTLE_MS = 500;
const scenes = (runningQueries: number | undefined, domHash = 1): PageObservation => ({
  scenes: true,
  runningQueries,
  requestsInFlight: 0,
  domHash,
  loaded: true,
});
const legacy = (requestsInFlight: number, domHash: number, loaded = true): PageObservation => ({
  scenes: false,
  runningQueries: undefined,
  requestsInFlight,
  domHash,
  loaded,
});

/** Feeds observations at the given times; returns the time it became ready, or null. */
function readyAt(observations: readonly [number, PageObservation][]): number | null {
  let state: ReadinessState = INITIAL_READINESS;
  for (const [at, observation] of observations) {
    const verdict = observeReadiness(state, observation, at, SETTLE_MS);
    if (verdict.ready) return at;
    state = verdict.state;
  }
  return null;
}

describe('Grafana render readiness', () => {
  it('is ready once the Scenes query count has stayed 0 for the settle period', () => {
    expect(
      readyAt([
        [0, scenes(2)],
        [100, scenes(1)],
        [200, scenes(0)],
        [600, scenes(0)],
        [700, scenes(0)],
        [800, scenes(0)],
      ]),
    ).toBe(700);
  });

  it('starts the settle period again when a second query starts right after the first', () => {
    expect(
      readyAt([
        [0, scenes(0)],
        [300, scenes(1)],
        [400, scenes(0)],
        [800, scenes(0)],
        [900, scenes(0)],
      ]),
    ).toBe(900);
  });

  it('does not wait for the DOM to hold still while Scenes says all queries are done (animations)', () => {
    expect(
      readyAt([
        [0, scenes(0, 1)],
        [300, scenes(0, 2)],
        [500, scenes(0, 3)],
      ]),
    ).toBe(500);
  });

  it('is not ready on a counter of 0 while it keeps going up again', () => {
    expect(readyAt([0, 1, 0, 1, 0, 1].map((count, i) => [i * 400, scenes(count)]))).toBeNull();
  });

  it('falls back to a quiet page where Scenes has not counted any query (a text panel)', () => {
    const textPanel = (requestsInFlight: number, domHash: number): PageObservation => ({
      ...scenes(undefined, domHash),
      requestsInFlight,
    });
    expect(
      readyAt([
        [0, textPanel(1, 1)],
        [100, textPanel(0, 2)],
        [400, textPanel(0, 2)],
        [600, textPanel(0, 2)],
      ]),
    ).toBe(600);
  });

  it('without Scenes, waits for the page to load, no requests in flight and the same DOM', () => {
    expect(
      readyAt([
        [0, legacy(0, 1, false)],
        [100, legacy(2, 1)],
        [200, legacy(0, 2)],
        [500, legacy(0, 3)],
        [900, legacy(0, 3)],
        [1000, legacy(0, 3)],
      ]),
    ).toBe(1000);
  });

  it('says what it was still waiting for', () => {
    expect(describeWaiting(scenes(3))).toBe('Grafana still had 3 queries running');
    expect(describeWaiting(legacy(2, 1))).toBe('2 requests were still in flight');
    expect(describeWaiting(legacy(0, 1, false))).toBe('the page had not finished loading');
    expect(describeWaiting(undefined)).toBe('the page did not load');
  });
});
