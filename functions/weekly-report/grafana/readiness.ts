/**
 * When a Grafana page has finished drawing, decided from what the page shows (pure: tests call it directly).
 *
 * Grafana's own signal comes first, as grafana-image-renderer reads it: a Scenes dashboard sets
 * `window.__grafanaSceneContext` and keeps `window.__grafanaRunningQueryCount` at the number of queries in
 * flight. Ready means the count is 0 and has stayed 0 for the settle period (a panel can start a second query
 * right after the first one ends). A page without the counter (an older Grafana, or a panel without queries)
 * falls back to: loaded, no request in flight and the same DOM for the settle period. Never a fixed sleep: a panel captured while "Loading" is the failure to
 * avoid.
 */

/** One look at the page. */
export interface PageObservation {
  /** `window.__grafanaSceneContext` is set. */
  readonly scenes: boolean;
  /** `window.__grafanaRunningQueryCount`, when the page has set it. */
  readonly runningQueries: number | undefined;
  /** Requests the page has started and not yet finished. */
  readonly requestsInFlight: number;
  /** A hash of the DOM, to tell whether it still changes. */
  readonly domHash: number;
  /** The document has loaded (`document.readyState === 'complete'`). */
  readonly loaded: boolean;
}

export interface ReadinessState {
  /** Since when (epoch ms) the page has looked idle, and what the DOM was then. */
  readonly idleSince: number | null;
  readonly domHash: number | null;
}

export const INITIAL_READINESS: ReadinessState = { idleSince: null, domHash: null };

export type ReadinessVerdict =
  | { readonly ready: true; readonly signal: 'scenes' | 'network-idle' }
  | { readonly ready: false; readonly state: ReadinessState };

/** Folds one observation into the state; ready once the page has looked idle for `settleMs`. */
export function observeReadiness(
  state: ReadinessState,
  observation: PageObservation,
  now: number,
  settleMs: number,
): ReadinessVerdict {
  // Scenes sets the counter when its first query starts: a panel without queries (text) never does.
  const counted = observation.scenes && observation.runningQueries !== undefined;
  const idle = counted
    ? observation.runningQueries === 0
    : observation.loaded && observation.requestsInFlight === 0;
  // The counter is the signal; the DOM only has to hold still when there is no counter to read.
  const sameDom = counted || state.domHash === observation.domHash;
  if (!idle) return { ready: false, state: INITIAL_READINESS };
  if (state.idleSince === null || !sameDom) {
    return { ready: false, state: { idleSince: now, domHash: observation.domHash } };
  }
  if (now - state.idleSince >= settleMs) {
    return { ready: true, signal: counted ? 'scenes' : 'network-idle' };
  }
  return { ready: false, state };
}

/** What {@link observeReadiness} last saw, for a timeout message that says what the page was waiting on. */
export function describeWaiting(observation: PageObservation | undefined): string {
  if (observation === undefined) return 'the page did not load';
  if (observation.scenes && observation.runningQueries !== undefined) {
    return `Grafana still had ${observation.runningQueries} queries running`;
  }
  if (!observation.loaded) return 'the page had not finished loading';
  if (observation.requestsInFlight > 0)
    return `${observation.requestsInFlight} requests were still in flight`;
  return 'the page was still changing';
}
