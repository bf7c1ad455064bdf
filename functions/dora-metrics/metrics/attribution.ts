/**
 * Which critical incidents count against which deployments. Pure and recomputed from the ledgers each
 * time, so a deployment that arrives late still takes the incidents it caused.
 */
import { parseDurationMs } from '../../shared/duration.js';
import type { ToillessConfig } from '../../shared/stack-config.js';
import type { DeploymentLedger, IncidentFact } from '../model.js';
import { isoMs, SUCCESS_LETTER } from './ledger.js';
import { repositoriesOfServices } from './mapping.js';

/** The deployment an incident is counted against. */
export interface Attribution {
  readonly incident: IncidentFact;
  readonly repository: string;
  readonly environment: string;
  readonly deploymentId: string;
}

interface Candidates {
  readonly ledger: DeploymentLedger;
  /** The successful deployments' ids and finish times, in finish order. */
  readonly ids: readonly string[];
  readonly finishedMs: Float64Array;
}

/**
 * Attributes each critical incident to the latest successful production deployment, among the
 * repositories its services map to, that finished before the incident started, if it finished at most
 * dora.incidentAttributionWindow before. Incidents of unmapped services are attributed to nothing.
 */
export function attributeIncidents(
  config: ToillessConfig,
  incidents: readonly IncidentFact[],
  ledgers: readonly DeploymentLedger[],
): Attribution[] {
  const windowMs = parseDurationMs(config.dora.incidentAttributionWindow);
  const byRepository = new Map<string, Candidates[]>();
  for (const ledger of ledgers) {
    if (!ledger.production) continue;
    const columns = ledger.deployments;
    const ids: string[] = [];
    const finished: number[] = [];
    for (let index = 0; index < columns.id.length; index++) {
      if (columns.outcome.charCodeAt(index) !== SUCCESS_LETTER) continue;
      ids.push(columns.id[index] as string);
      finished.push(isoMs(columns.finishedAt[index] as string));
    }
    const key = ledger.repository.toLowerCase();
    const candidates = { ledger, ids, finishedMs: Float64Array.from(finished) };
    byRepository.set(key, [...(byRepository.get(key) ?? []), candidates]);
  }
  const attributions: Attribution[] = [];
  for (const incident of incidents) {
    const startedMs = isoMs(incident.startedAt);
    let best: { candidates: Candidates; index: number } | undefined;
    for (const repository of repositoriesOfServices(config, incident.services)) {
      for (const candidates of byRepository.get(repository.toLowerCase()) ?? []) {
        const index = lastBefore(candidates.finishedMs, startedMs);
        if (index < 0) continue;
        if (best === undefined || isLater(candidates, index, best.candidates, best.index)) {
          best = { candidates, index };
        }
      }
    }
    if (best === undefined) continue;
    if (startedMs - (best.candidates.finishedMs[best.index] as number) > windowMs) continue;
    attributions.push({
      incident,
      repository: best.candidates.ledger.repository,
      environment: best.candidates.ledger.environment,
      deploymentId: best.candidates.ids[best.index] as string,
    });
  }
  return attributions;
}

/** The index of the last finish strictly before `ms`, or -1. */
function lastBefore(sorted: Float64Array, ms: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sorted[middle] as number) < ms) low = middle + 1;
    else high = middle;
  }
  return low - 1;
}

/** Later finish wins; ties are broken by repository, environment and id so the choice is stable. */
function isLater(a: Candidates, aIndex: number, b: Candidates, bIndex: number): boolean {
  const difference = (a.finishedMs[aIndex] as number) - (b.finishedMs[bIndex] as number);
  if (difference !== 0) return difference > 0;
  const keyOf = (c: Candidates, index: number) =>
    `${c.ledger.repository}\n${c.ledger.environment}\n${c.ids[index] as string}`;
  return keyOf(a, aIndex) > keyOf(b, bIndex);
}
