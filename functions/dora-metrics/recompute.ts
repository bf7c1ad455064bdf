/**
 * From the stored history to metrics: reads the ledgers of the targets (and the production ledgers their
 * incidents may be attributed to), attributes the critical incidents, and computes each target's metrics.
 */
import type { ToillessConfig } from '../shared/stack-config.js';
import { type Attribution, attributeIncidents } from './metrics/attribution.js';
import { isoMs } from './metrics/ledger.js';
import { isProductionEnvironment, repositoriesOfServices, servicesOfRepository } from './metrics/mapping.js';
import { computeDoraMetrics, type DoraMetrics, incidentWindowOf } from './metrics/metrics.js';
import type { DeploymentLedger, DeploymentTarget, IncidentFact } from './model.js';
import type { DoraHistory } from './store/dora-history.js';

export interface RecomputeOptions {
  /** Also store each deployment's attributed incidents where they changed. @default false */
  readonly storeAttributions?: boolean;
}

const targetId = (target: DeploymentTarget) => `${target.repository.toLowerCase()}\n${target.environment}`;

/** The metrics of each target as of `now`, in the order given (duplicates removed). */
export async function recomputeDoraMetrics(
  history: DoraHistory,
  config: ToillessConfig,
  targets: readonly DeploymentTarget[],
  now: Date,
  options: RecomputeOptions = {},
): Promise<DoraMetrics[]> {
  const requested = [...new Map(targets.map((target) => [targetId(target), target])).values()];
  if (requested.length === 0) return [];
  const ledgers = new Map<string, DeploymentLedger>();
  for (const target of requested) ledgers.set(targetId(target), await history.ledger(target));

  // Incidents that may count against the requested repositories, and the production ledgers they compete over.
  const requestedRepositories = new Set(requested.map((target) => target.repository.toLowerCase()));
  const mappedRepositories = (incident: IncidentFact) =>
    repositoriesOfServices(config, incident.services).map((repository) => repository.toLowerCase());
  const incidentWindow = incidentWindowOf(now);
  const services = [...requestedRepositories].flatMap((repository) =>
    servicesOfRepository(config, repository),
  );
  const incidents = (await history.incidents(incidentWindow, services)).filter((incident) =>
    mappedRepositories(incident).some((repository) => requestedRepositories.has(repository)),
  );
  const competing = new Set(incidents.flatMap(mappedRepositories));
  if (competing.size > 0) {
    for (const target of await history.targets()) {
      if (ledgers.has(targetId(target))) continue;
      if (!competing.has(target.repository.toLowerCase())) continue;
      if (!isProductionEnvironment(config, target.environment)) continue;
      ledgers.set(targetId(target), await history.ledger(target));
    }
  }
  const attributions = groupByTarget(attributeIncidents(config, incidents, [...ledgers.values()]));

  if (options.storeAttributions) {
    for (const target of requested) {
      const ledger = ledgers.get(targetId(target)) as DeploymentLedger;
      const attributed = attributions.get(targetId(target));
      const stored = ledger.deployments.attributedIncidents;
      const ids = new Set([...Object.keys(stored), ...(attributed?.keys() ?? [])]);
      // Older deployments' copies stay as they are: the incidents that could change them were not read.
      for (const id of finishedSince(ledger, ids, incidentWindow.from.getTime())) {
        const wanted = (attributed?.get(id) ?? []).map((incident) => incident.id).sort();
        if (wanted.join('\n') !== [...(stored[id] ?? [])].sort().join('\n')) {
          await history.setAttributedIncidents(target, id, wanted);
        }
      }
    }
  }

  return requested.map((target) =>
    computeDoraMetrics({
      ledger: ledgers.get(targetId(target)) as DeploymentLedger,
      attributions: attributions.get(targetId(target)) ?? new Map(),
      now,
      levels: config.dora.levels,
    }),
  );
}

/** The metrics of every repository/environment with a ledger (or of one repository), as of `now`. */
export async function readCurrentMetrics(
  history: DoraHistory,
  config: ToillessConfig,
  now: Date,
  repository?: string,
): Promise<DoraMetrics[]> {
  return recomputeDoraMetrics(history, config, await history.targets(repository), now);
}

/** The deployments among `ids` that finished after `fromMs`. */
function finishedSince(ledger: DeploymentLedger, ids: ReadonlySet<string>, fromMs: number): string[] {
  const columns = ledger.deployments;
  const found: string[] = [];
  for (let index = 0; index < columns.id.length; index++) {
    const id = columns.id[index] as string;
    if (ids.has(id) && isoMs(columns.finishedAt[index] as string) > fromMs) found.push(id);
  }
  return found;
}

/** Attributed incidents per target, then per deployment id. */
function groupByTarget(attributions: readonly Attribution[]): Map<string, Map<string, IncidentFact[]>> {
  const grouped = new Map<string, Map<string, IncidentFact[]>>();
  for (const attribution of attributions) {
    const id = targetId(attribution);
    const byDeployment = grouped.get(id) ?? new Map<string, IncidentFact[]>();
    grouped.set(id, byDeployment);
    byDeployment.set(attribution.deploymentId, [
      ...(byDeployment.get(attribution.deploymentId) ?? []),
      attribution.incident,
    ]);
  }
  return grouped;
}
