/**
 * The incident-timeline worker from its ports and configuration: the one place it is assembled, for
 * the Lambda handler, the local runtime and `toilless timeline`.
 */
import { type ServiceAuthorizations, serviceAuthorizations } from '../shared/clients/service-auth.js';
import type { AlertmanagerPayload } from '../shared/events/alertmanager.js';
import { lazily } from '../shared/lazily.js';
import { timelineReservedConcurrency } from '../shared/stack-config.js';
import { logWorkerSignal } from '../shared/worker-signals.js';
import type { ComposeProcessor, WorkerConfig, WorkerPorts } from '../shared/workers/composition.js';
import { recordDeployment } from './deploy-index.js';
import { createEvidenceGatherer } from './evidence.js';
import type { IncidentTimeline } from './model.js';
import { buildTimelineOnce } from './timeline-preview.js';
import { createIncidentTimelineWorker } from './worker.js';

export const create: ComposeProcessor = async (ports, config) => {
  const timeline = createIncidentTimelineWorker({
    store: ports.store,
    bus: ports.bus,
    notifier: ports.notifier,
    clock: ports.clock,
    logger: ports.logger,
    config: config.toilless,
    prometheusUrl: config.runtime.prometheusUrl,
    gatherEvidence: evidenceGatherer(ports, config, await serviceAuthorizations(ports.secrets)),
  });
  return {
    handle: async (event) => {
      // DeploymentRecorded feeds the deploy index a timeline's first suspect comes from.
      if (event.type === 'DeploymentRecorded') await recordDeployment(ports.store, event);
      else await timeline(event);
    },
    schedules: {},
  };
};

/**
 * `toilless timeline <payload.json>`: the timeline of one payload, built now; nothing stored or sent.
 * Hosted sources get their credentials (PROMETHEUS_AUTH, LOKI_AUTH, TEMPO_AUTH) as the worker does.
 */
export function createTimelinePreview(
  ports: Pick<WorkerPorts, 'store' | 'clock' | 'logger' | 'secrets'>,
  config: WorkerConfig,
): (
  payload: AlertmanagerPayload,
) => Promise<{ readonly timeline: IncidentTimeline; readonly markdown: string }> {
  const gatherEvidence = lazily(async () =>
    evidenceGatherer(ports, config, await serviceAuthorizations(ports.secrets)),
  );
  return async (payload) =>
    buildTimelineOnce(payload, {
      clock: ports.clock,
      config: config.toilless,
      logger: ports.logger,
      gatherEvidence: await gatherEvidence(),
    });
}

function evidenceGatherer(
  ports: Pick<WorkerPorts, 'store' | 'logger' | 'signals'>,
  config: WorkerConfig,
  authorizations: ServiceAuthorizations = {},
) {
  return createEvidenceGatherer({
    authorizations,
    config: config.runtime,
    toilless: config.toilless,
    stackConfigDir: config.stackConfigDir,
    store: ports.store,
    logger: ports.logger,
    // On AWS the function's reserved concurrency comes from incidents.concurrency: each instance takes its share.
    runtimes: config.platform === 'aws' ? timelineReservedConcurrency(config.toilless) : 1,
    onSourceUnavailable:
      ports.signals?.sourceUnavailable ??
      ((source) =>
        logWorkerSignal(ports.logger, { metric: 'toilless_evidence_sources_unavailable_total', source })),
  });
}
