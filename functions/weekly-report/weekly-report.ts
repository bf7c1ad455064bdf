/**
 * The weekly report's run: choose the mode, render the dashboards, gather the summary, assemble the
 * PDF; and what the schedule (and `toilless report --publish`) does with it: store, Slack, event.
 * The renderers and the PDF assembly come in as engines, so this file decides and never draws.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '../shared/log.js';
import type { Clock } from '../shared/ports/clock.js';
import { reportComment } from './comment.js';
import {
  type DeliveryOptions,
  type DeliveryOutcome,
  type DeliveryPorts,
  deliveryStatus,
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
import { type ClaimOptions, claimPublication } from './publication-claim.js';

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
  /**
   * Publish a week that was published already: render anew, replace the stored PDF, post it again
   * (`toilless report --publish --replace`). A run that holds the week's claim is still waited for.
   * @default false: a week already published is left as it is
   */
  readonly replace?: boolean;
}

export interface ProducedReport {
  readonly doc: ReportDocument;
  readonly pdf: Buffer;
  readonly mode: ModeChoice;
}

export interface PublishedReport extends DeliveryOutcome {
  readonly kind: 'delivered';
  /** Undefined when a pending delivery was completed with the PDF stored before. */
  readonly produced?: ProducedReport;
}

/** The week was delivered before (a second run of the schedule, a retry, a second `--publish`). */
export interface AlreadyPublishedReport {
  readonly kind: 'already-published';
  readonly key: string;
  readonly week: string;
  readonly fileId: string;
  readonly storedAt: string;
}

export type PublicationResult = PublishedReport | AlreadyPublishedReport;

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
  /** The lease of the week's publication claim. */
  readonly claim?: ClaimOptions;
  /** Names this publisher in the claim. @default host, process id and a random run id */
  readonly publisherId?: () => string;
}

export interface WeeklyReport {
  /** Renders and assembles the report of a window (`toilless report --out`). */
  produce(request: ReportRequest): Promise<ProducedReport>;
  /**
   * What the schedule runs, once per week however often it is called: claims the week, then completes
   * a pending delivery of it, or answers `already-published`, or produces, stores and delivers.
   * Throws PublicationInProgressError while another run holds the week's claim.
   */
  publish(request: ReportRequest): Promise<PublicationResult>;
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
      const week = request.window.isoWeek;
      const holder = (deps.publisherId ?? defaultPublisherId)();
      const claim = await claimPublication(deps, week, holder, deps.claim);
      try {
        const status = await deliveryStatus(deps.store, request.window);
        if (status.state === 'delivered' && request.replace !== true) {
          const { record } = status;
          deps.logger.info(
            { week, key: record.key, fileId: record.slack.fileId, storedAt: record.storedAt },
            'report already published for this week: nothing done',
          );
          return {
            kind: 'already-published',
            key: record.key,
            week,
            fileId: record.slack.fileId,
            storedAt: record.storedAt,
          };
        }
        if (status.state === 'pending' && request.replace !== true) {
          const pending = status.record;
          request.onStage?.(
            'deliver',
            `completing the delivery of ${pending.key} stored ${pending.storedAt}`,
          );
          const outcome = await resumeDelivery(deps, pending, deps.delivery, claim.confirm);
          return { kind: 'delivered', ...outcome };
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
          claim.confirm,
        );
        return { kind: 'delivered', ...outcome, produced };
      } finally {
        await claim.release().catch((error: unknown) => {
          // It goes stale within the lease; until then another publisher is told to wait.
          deps.logger.warn({ err: error, week }, 'could not release the claim on publishing the report');
        });
      }
    },
  };
}

function defaultPublisherId(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}
