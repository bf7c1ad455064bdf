/**
 * Turning what a scenario observed into checked expectations: pure, so the rules of held / failed /
 * not applicable are tested without a platform.
 */
import type { Expectation, ExpectationOutcome } from './result.js';
import type { WaitOutcome } from './waits.js';

/** A wait's outcome as an expectation: held when seen (at that time), failed with what was seen. */
export function expectationFromWait<T>(
  id: string,
  description: string,
  outcome: WaitOutcome<T>,
  detail?: (value: T) => string,
): Expectation {
  return { id, description, outcome: outcomeOfWait(outcome, detail) };
}

export function outcomeOfWait<T>(outcome: WaitOutcome<T>, detail?: (value: T) => string): ExpectationOutcome {
  switch (outcome.kind) {
    case 'seen': {
      const text = detail?.(outcome.value);
      return {
        status: 'held',
        at: outcome.at.toISOString(),
        ...(text === undefined ? {} : { detail: text }),
      };
    }
    case 'timed-out':
      return {
        status: 'failed',
        seen: `not within ${formatSeconds(outcome.after)}; last seen: ${outcome.lastSeen}`,
      };
    case 'aborted':
      return {
        status: 'failed',
        seen: `the run was stopped before it was seen; last seen: ${outcome.lastSeen}`,
      };
  }
}

/** An expectation that was never waited for, because an earlier step it depends on failed. */
export function skippedAfterFailure(id: string, description: string, because: string): Expectation {
  return { id, description, outcome: { status: 'failed', seen: `not checked: ${because}` } };
}

export function notApplicable(id: string, description: string, why: string): Expectation {
  return { id, description, outcome: { status: 'not-applicable', why } };
}

export function held(id: string, description: string, at: Date, detail?: string): Expectation {
  return {
    id,
    description,
    outcome: { status: 'held', at: at.toISOString(), ...(detail === undefined ? {} : { detail }) },
  };
}

export function failed(id: string, description: string, seen: string): Expectation {
  return { id, description, outcome: { status: 'failed', seen } };
}

/** "95 s", "4 min 10 s": the report's relative times. */
export function formatSeconds(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (Math.abs(seconds) < 120) return `${seconds} s`;
  const minutes = Math.trunc(seconds / 60);
  const rest = Math.abs(seconds % 60);
  return rest === 0 ? `${minutes} min` : `${minutes} min ${rest} s`;
}
