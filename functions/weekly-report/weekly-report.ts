/**
 * The weekly report's run: choose the mode, render the dashboards, gather the summary, assemble the
 * PDF; and what the schedule (and `toilless report --publish`) does with it: store, Slack, event.
 * The renderers and the PDF assembly come in as engines, so this file decides and never draws.
 */
import type { Logger } from '../shared/log.js';
import type { Clock } from '../shared/ports/clock.js';
import { reportComment } from './comment.js';
import {
  type DeliveryOptions,
  type DeliveryOutcome,
  type DeliveryPorts,
  pendingDelivery,
  resumeDelivery,
  storeAndDeliver,
} from './delivery.js';
import type { ModeChoice } from './mode.js';
import type {
  DashboardRenderer,
  RenderMode,
  RenderProgress,
  ReportDocument,
  ReportSummary,
  ReportWindow,
} from './model.js';

/** What draws: a renderer per mode and the PDF assembly (functions/weekly-report/{grafana,native,pdf}). */
export interface ReportEngines {
  readonly renderer: (mode: RenderMode) => Promise<DashboardRenderer>;
  readonly assemble: (doc: ReportDocument) => Promise<Buffer>;
}

export interface ReportRequest {
  readonly window: ReportWindow;
  /** `--mode`; else toilless.yaml, else auto. */
  readonly mode?: RenderMode;
  /** `--dashboards`; else toilless.yaml `report.dashboards`, else every shipped dashboard. */
  readonly dashboards?: readonly string[];
  readonly onProgress?: RenderProgress;
  /** Told as each stage starts, for the CLI and the logs. */
  readonly onStage?: (stage: 'mode' | 'render' | 'summary' | 'assemble' | 'deliver', detail?: string) => void;
  readonly signal?: AbortSignal;
}

export interface ProducedReport {
  readonly doc: ReportDocument;
  readonly pdf: Buffer;
  readonly mode: ModeChoice;
}

export interface PublishedReport extends DeliveryOutcome {
  /** Undefined when a pending delivery was completed with the PDF stored before. */
  readonly produced?: ProducedReport;
}

export interface WeeklyReportDeps extends DeliveryPorts {
  readonly engines: ReportEngines;
  readonly chooseMode: (requested: RenderMode | undefined) => Promise<ModeChoice>;
  readonly gatherSummary: (window: ReportWindow, signal?: AbortSignal) => Promise<ReportSummary>;
  /** The dashboards when a request names none. */
  readonly defaultDashboards: () => Promise<readonly string[]>;
  readonly stackName: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly delivery?: DeliveryOptions;
}

export interface WeeklyReport {
  /** Renders and assembles the report of a window (`toilless report --out`). */
  produce(request: ReportRequest): Promise<ProducedReport>;
  /** What the schedule runs: completes a pending delivery of the week, else produces, stores and delivers. */
  publish(request: ReportRequest): Promise<PublishedReport>;
}

export function createWeeklyReport(deps: WeeklyReportDeps): WeeklyReport {
  const produce = async (request: ReportRequest): Promise<ProducedReport> => {
    const { window } = request;
    request.onStage?.('mode');
    const mode = await deps.chooseMode(request.mode);
    deps.logger.info({ mode: mode.mode, reason: mode.reason, week: window.isoWeek }, 'report mode chosen');
    const dashboards = request.dashboards?.length ? request.dashboards : await deps.defaultDashboards();
    request.onStage?.('render', `${mode.mode}: ${dashboards.length} dashboards`);
    const renderer = await deps.engines.renderer(mode.mode);
    // The summary does not wait for the panels: both only read.
    const [rendered, summary] = await Promise.all([
      renderer.render(dashboards, window, {
        ...(request.signal ? { signal: request.signal } : {}),
        ...(request.onProgress ? { onProgress: request.onProgress } : {}),
      }),
      (async () => {
        request.onStage?.('summary');
        return deps.gatherSummary(window, request.signal);
      })(),
    ]);
    const doc: ReportDocument = {
      stackName: deps.stackName,
      window,
      generatedAt: deps.clock.now(),
      mode: mode.mode,
      summary,
      dashboards: rendered,
    };
    request.onStage?.('assemble');
    const pdf = await deps.engines.assemble(doc);
    deps.logger.info(
      { week: window.isoWeek, mode: mode.mode, dashboards: rendered.length, bytes: pdf.length },
      'report assembled',
    );
    return { doc, pdf, mode };
  };

  return {
    produce,
    publish: async (request) => {
      const pending = await pendingDelivery(deps.store, request.window);
      if (pending) {
        request.onStage?.('deliver', `completing the delivery of ${pending.key} stored ${pending.storedAt}`);
        return resumeDelivery(deps, pending, deps.delivery);
      }
      const produced = await produce(request);
      request.onStage?.('deliver');
      const outcome = await storeAndDeliver(
        deps,
        {
          window: request.window,
          pdf: produced.pdf,
          comment: (replaced) => reportComment(produced.doc, replaced),
        },
        deps.delivery,
      );
      return { ...outcome, produced };
    },
  };
}
