/**
 * The summary page's data: each part gathered on its own, and a part that fails becomes
 * `{ unavailable: reason }` so the report is still delivered with what could be read.
 */
import type { PrometheusClient } from '../../shared/clients/prometheus.js';
import type { Logger } from '../../shared/log.js';
import type { ObjectStore } from '../../shared/ports/object-store.js';
import type { ToillessConfig } from '../../shared/stack-config.js';
import type { ReportSummary, ReportWindow } from '../model.js';
import { incidentsOfWindow } from './incidents.js';
import { doraSummaries, sloSummaries, topFiringAlerts } from './prometheus-parts.js';

export interface SummarySources {
  readonly prometheus: Pick<PrometheusClient, 'query' | 'queryRange'>;
  readonly store: ObjectStore;
  readonly toilless: ToillessConfig;
  readonly logger: Logger;
}

export async function gatherReportSummary(
  sources: SummarySources,
  window: ReportWindow,
  signal?: AbortSignal,
): Promise<ReportSummary> {
  const part = async <T>(
    name: string,
    read: () => Promise<T>,
  ): Promise<T | { readonly unavailable: string }> => {
    try {
      return await read();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      sources.logger.warn({ err: error, part: name }, 'a summary part is unavailable');
      return { unavailable: reason.slice(0, 300) };
    }
  };
  const [slos, incidents, dora, topAlerts] = await Promise.all([
    part('slos', () => sloSummaries(sources.prometheus, window, signal)),
    part('incidents', () => incidentsOfWindow(sources.store, window, sources.logger)),
    part('dora', () => doraSummaries(sources.prometheus, window, sources.toilless, signal)),
    part('topAlerts', () => topFiringAlerts(sources.prometheus, window, 10, signal)),
  ]);
  return { slos, incidents, dora, topAlerts };
}
