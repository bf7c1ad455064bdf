/**
 * The weekly-report worker from its ports and configuration: the one place it is assembled, for the
 * Lambda handler, the local runtime and `toilless report`.
 */

import { PrometheusClient } from '../shared/clients/prometheus.js';
import { serviceAuthorizations } from '../shared/clients/service-auth.js';
import { ConfigurationError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type {
  ComposeProcessor,
  ProcessorWorker,
  WorkerConfig,
  WorkerPorts,
} from '../shared/workers/composition.js';
import { shippedDashboardUids } from './dashboards.js';
import type { DeliveryOptions } from './delivery.js';
import type { weeklyReportManifest } from './manifest.js';
import { chooseRenderMode, grafanaAnswers } from './mode.js';
import type { RenderMode } from './model.js';
import type { ClaimOptions } from './publication-claim.js';
import { gatherReportSummary } from './summary/gather.js';
import { createWeeklyReport, type ReportEngines, type WeeklyReport } from './weekly-report.js';
import { reportWindow } from './window.js';

type ReportSchedule = (typeof weeklyReportManifest)['schedules'][number]['name'];

/** What the engines are built from: the configuration and the Grafana token, when one is set. */
export interface ReportEngineContext {
  readonly config: WorkerConfig;
  readonly grafanaToken: string | undefined;
  /** The report's Prometheus client (its credentials and a time limit for week-long queries). */
  readonly prometheus: PrometheusClient;
  readonly logger: Logger;
}

/** Builds the renderers and the PDF assembly: the one point where they are wired in. */
export type ReportEnginesFactory = (context: ReportEngineContext) => ReportEngines;

/**
 * The engines of this build: the native renderer (Prometheus and pdfkit only), the grafana renderer
 * (Chromium, loaded only when that mode runs) and the PDF assembly.
 */
export const reportEngines: ReportEnginesFactory = ({ config, grafanaToken, prometheus }) => ({
  renderer: async (mode: RenderMode) => {
    if (mode === 'grafana') {
      if (grafanaToken === undefined) {
        throw new ConfigurationError(
          'grafana mode needs GRAFANA_TOKEN: set it, or run the report with --mode native',
        );
      }
      const [{ createGrafanaRenderer }, { launchReportBrowser }] = await Promise.all([
        import('./grafana/renderer.js'),
        import('./browser/chromium.js'),
      ]);
      return createGrafanaRenderer({
        grafanaUrl: config.runtime.grafanaUrl,
        token: grafanaToken,
        launchBrowser: () => launchReportBrowser(),
      });
    }
    const { createNativeRenderer } = await import('./native/native-renderer.js');
    return createNativeRenderer({
      stackConfigDir: config.stackConfigDir,
      prometheus,
      grafanaUrl: config.runtime.grafanaUrl,
    });
  },
  assemble: async (doc) => {
    const { assembleReportPdf } = await import('./pdf/report-pdf.js');
    return assembleReportPdf(doc);
  },
});

export interface WeeklyReportComposition extends ProcessorWorker {
  readonly report: WeeklyReport;
  readonly schedules: Readonly<Record<ReportSchedule, () => Promise<void>>>;
}

export interface WeeklyReportComposeOptions {
  /** @default reportEngines */
  readonly engines?: ReportEnginesFactory;
  readonly delivery?: DeliveryOptions;
  /** The lease of the week's publication claim. @default PUBLICATION_LEASE_MS, renewed every quarter of it */
  readonly claim?: ClaimOptions;
  /** Names this publisher in the claim. @default host, process id and a random run id */
  readonly publisherId?: () => string;
}

export async function create(
  ports: WorkerPorts,
  config: WorkerConfig,
  options: WeeklyReportComposeOptions = {},
): Promise<WeeklyReportComposition> {
  const { logger, clock } = ports;
  const grafanaToken = await ports.secrets.get('GRAFANA_TOKEN');
  const { prometheus: prometheusAuthorization } = await serviceAuthorizations(ports.secrets);
  // One client for the summary and the native renderer; week-long range queries over many series take
  // longer than the client's default 10 s.
  const prometheus = new PrometheusClient({
    baseUrl: config.runtime.prometheusUrl,
    timeoutMs: 30_000,
    authorization: prometheusAuthorization,
  });
  const engines = (options.engines ?? reportEngines)({ config, grafanaToken, prometheus, logger });
  const report = createWeeklyReport({
    ...ports,
    engines,
    chooseMode: (requested) =>
      chooseRenderMode({
        ...(requested ? { requested } : {}),
        configured: config.toilless.report.mode,
        grafanaTokenSet: grafanaToken !== undefined,
        grafanaHealthy: () => grafanaAnswers(config.runtime.grafanaUrl),
      }),
    gatherSummary: (window, signal) =>
      gatherReportSummary(
        { prometheus, store: ports.store, toilless: config.toilless, logger },
        window,
        signal,
      ),
    defaultDashboards: async () =>
      config.toilless.report.dashboards.length > 0
        ? config.toilless.report.dashboards
        : shippedDashboardUids(config.stackConfigDir),
    stackName: config.toilless.report.stackName,
    ...(options.delivery ? { delivery: options.delivery } : {}),
    ...(options.claim ? { claim: options.claim } : {}),
    ...(options.publisherId ? { publisherId: options.publisherId } : {}),
  });
  return {
    report,
    // It consumes no events: anything delivered is a mistake in a rule, not work.
    handle: async (event) => {
      logger.warn({ type: event.type, id: event.id }, 'weekly-report takes no events: ignored');
    },
    schedules: {
      WeeklyReport: async () => {
        // Another run publishing the week throws PublicationInProgressError: the run fails, so that
        // Lambda's retry comes back and finds the week published (or the dead run's claim stale).
        const outcome = await report.publish({ window: reportWindow(clock.now()) });
        if (outcome.kind === 'already-published') {
          logger.info(
            { key: outcome.key, fileId: outcome.fileId },
            'scheduled weekly report: already published',
          );
          return;
        }
        logger.info(
          { key: outcome.key, replaced: outcome.replaced, resumed: outcome.resumed },
          'scheduled weekly report done',
        );
      },
    },
  };
}

create satisfies ComposeProcessor;
