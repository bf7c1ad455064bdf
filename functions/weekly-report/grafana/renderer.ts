/**
 * Grafana mode: each dashboard's panels as Grafana draws them, one picture per panel (and per repetition of a
 * repeated panel) from the solo panel view, in Chromium, authenticated with a service account token.
 *
 *   const renderer = createGrafanaRenderer({ grafanaUrl, token, launchBrowser: () => launchReportBrowser() });
 *   const dashboards = await renderer.render(['slo-overview'], window, { onProgress });
 *
 * The token is checked before anything is rendered: GET /api/dashboards/uid/<uid> for every dashboard (that is
 * also where the models come from). A refused token is a GrafanaAccessError and the browser is never started.
 * A panel that is not ready in time is tried once more, then becomes `{ kind: 'failed', reason }`: the report is
 * still made. One browser per render, closed at the end whatever happens.
 */

import { GrafanaClient } from '../../shared/clients/grafana.js';
import { ConcurrencyLimit } from '../../shared/concurrency-limit.js';
import { ToillessError, UpstreamError } from '../../shared/errors.js';
import { type Logger, silentLogger } from '../../shared/log.js';
import type { ReportBrowser } from '../browser/chromium.js';
import type {
  DashboardRenderer,
  PanelContent,
  RenderedDashboard,
  RenderedPanel,
  ReportWindow,
} from '../model.js';
import { type CaptureSettings, capturePanel, originOf, readDashboardVariables } from './panel-page.js';
import { type DashboardPlan, type PanelJob, planDashboard } from './plan.js';
import { panelSize, pngDimensions, soloPanelUrl } from './solo-panel.js';

/** Grafana refused the service account token: nothing was rendered. */
export class GrafanaAccessError extends ToillessError {}

export interface GrafanaRendererOptions {
  /** GRAFANA_URL: Grafana's root URL as the browser reaches it. */
  readonly grafanaUrl: string;
  /** GRAFANA_TOKEN: a service account token with at least the Viewer role. */
  readonly token: string;
  /** Starts the one browser of a render (launchReportBrowser in production). */
  readonly launchBrowser: () => Promise<ReportBrowser>;
  /** Panel pages loading at once. @default 3 */
  readonly concurrency?: number;
  /** Time for one attempt at one panel, from opening its page to its picture. @default 30000 */
  readonly panelTimeoutMs?: number;
  /** Further attempts at a panel that failed. @default 1 */
  readonly retries?: number;
  /** How long Grafana must stay idle before the picture is taken. @default 500 */
  readonly settleMs?: number;
  /** How often the page is looked at while waiting. @default 100 */
  readonly pollIntervalMs?: number;
  /** Device pixels per CSS pixel of the pictures. @default 2 */
  readonly scale?: number;
  /** Width of one of the dashboard's 24 grid columns, in CSS pixels. @default 50 (a 1200 px wide dashboard) */
  readonly columnWidthPx?: number;
  /** @default 'light' */
  readonly theme?: 'light' | 'dark';
  /** Time zone the panels' axes are drawn in. @default 'UTC' */
  readonly timezone?: string;
  /** Time limit of the dashboard API calls. @default 10000 */
  readonly apiTimeoutMs?: number;
  readonly fetch?: typeof fetch;
  readonly logger?: Logger;
}

interface PlannedDashboard {
  readonly model: Readonly<Record<string, unknown>>;
  readonly plan: DashboardPlan;
  readonly slug: string;
}

export function createGrafanaRenderer(options: GrafanaRendererOptions): DashboardRenderer {
  const grafanaUrl = options.grafanaUrl.replace(/\/+$/, '');
  const grafanaOrigin = originOf(grafanaUrl);
  if (grafanaOrigin === undefined || !/^https?:$/.test(new URL(grafanaUrl).protocol)) {
    throw new ToillessError(`GRAFANA_URL is not an http(s) URL: ${JSON.stringify(grafanaUrl)}`);
  }
  if (options.token.trim() === '') {
    throw new ToillessError('GRAFANA_TOKEN is empty: grafana mode needs a service account token');
  }
  const concurrency = options.concurrency ?? 3;
  const panelTimeoutMs = options.panelTimeoutMs ?? 30_000;
  const retries = options.retries ?? 1;
  const settleMs = options.settleMs ?? 500;
  const pollIntervalMs = options.pollIntervalMs ?? 100;
  const scale = options.scale ?? 2;
  const columnWidthPx = options.columnWidthPx ?? 50;
  const theme = options.theme ?? 'light';
  const timezone = options.timezone ?? 'UTC';
  const log = options.logger ?? silentLogger;
  const client = new GrafanaClient({
    baseUrl: grafanaUrl,
    token: options.token,
    timeoutMs: options.apiTimeoutMs ?? 10_000,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });

  const readDashboard = async (uid: string): Promise<PlannedDashboard | RenderedDashboard> => {
    try {
      const document = await client.getDashboard(uid);
      return {
        model: document.dashboard,
        plan: planDashboard(document.dashboard),
        slug: document.meta.slug ?? '_',
      };
    } catch (error) {
      if (error instanceof UpstreamError && (error.status === 401 || error.status === 403)) {
        throw new GrafanaAccessError(
          `Grafana at GRAFANA_URL=${grafanaUrl} refused GRAFANA_TOKEN (${error.status} on GET /api/dashboards/uid/${uid}): ` +
            'set GRAFANA_TOKEN to a valid service account token with at least the Viewer role on the dashboards; nothing was rendered',
          { cause: error },
        );
      }
      if (error instanceof UpstreamError && error.status === 404) {
        // One deleted dashboard must not cost the whole report.
        return missingDashboard(uid, `dashboard ${uid} was not found in Grafana at ${grafanaUrl}`);
      }
      throw error;
    }
  };

  return {
    mode: 'grafana',
    async render(uids, window, { signal, onProgress } = {}) {
      signal?.throwIfAborted();
      let read: (PlannedDashboard | RenderedDashboard)[] = [];
      for (const uid of uids) read.push(await readDashboard(uid));
      signal?.throwIfAborted();

      let planned = read.filter((d): d is PlannedDashboard => 'plan' in d);
      if (planned.every(({ plan }) => countPanels(plan) === 0)) {
        return read.map((d) => ('plan' in d ? toRendered(d, new Map(), grafanaUrl, window) : d));
      }
      const browser = await options.launchBrowser();
      log.info({ launchMs: browser.launchMs, concurrency }, 'Chromium started for the report');
      const limit = new ConcurrencyLimit(concurrency, 'concurrency');
      const contents = new Map<PanelJob, PanelContent>();
      const settings: CaptureSettings = {
        grafanaOrigin: grafanaOrigin as string,
        token: options.token,
        timeoutMs: panelTimeoutMs,
        settleMs,
        pollIntervalMs,
        ...(signal === undefined ? {} : { signal }),
      };
      let done = 0;
      try {
        planned = await Promise.all(
          planned.map((dashboard) =>
            dashboard.plan.unresolvedVariables.length === 0
              ? dashboard
              : limit.run(() => resolveVariables(browser, dashboard), signal ? { signal } : {}),
          ),
        );
        const byUid = new Map(planned.map((d) => [d.plan.uid, d]));
        read = read.map((d) => ('plan' in d ? (byUid.get(d.plan.uid) ?? d) : d));
        const total = planned.reduce((sum, { plan }) => sum + countPanels(plan), 0);
        const capture = async (dashboard: PlannedDashboard, job: PanelJob): Promise<void> => {
          const content: PanelContent =
            job.skipped === undefined
              ? await limit.run(() => renderWithRetry(browser, dashboard, job), signal ? { signal } : {})
              : { kind: 'failed', reason: job.skipped };
          contents.set(job, content);
          done++;
          onProgress?.(done, total, `${dashboard.plan.title} / ${job.title}`);
        };
        const work = planned.flatMap((dashboard) =>
          dashboard.plan.rows.flatMap((row) => row.panels.map((job) => capture(dashboard, job))),
        );
        const outcomes = await Promise.allSettled(work);
        signal?.throwIfAborted();
        const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
        if (failure) throw failure.reason;
      } finally {
        await browser.close();
      }
      return read.map((d) => ('plan' in d ? toRendered(d, contents, grafanaUrl, window) : d));

      /** Reads the values Grafana gives the repeat variables the saved model leaves open, from /d/<uid>. */
      async function resolveVariables(
        browser: ReportBrowser,
        dashboard: PlannedDashboard,
      ): Promise<PlannedDashboard> {
        const { uid, unresolvedVariables } = dashboard.plan;
        const params = new URLSearchParams({
          orgId: '1',
          from: String(window.from.getTime()),
          to: String(window.to.getTime()),
          kiosk: '',
        });
        const url = `${grafanaUrl}/d/${encodeURIComponent(uid)}/${encodeURIComponent(dashboard.slug || '_')}?${params}`;
        try {
          const values = await readDashboardVariables(
            browser.browser,
            { url, widthCss: 24 * columnWidthPx, heightCss: 800, scale: 1, timezone },
            settings,
          );
          const found = Object.fromEntries(unresolvedVariables.map((name) => [name, values?.[name] ?? []]));
          const plan = planDashboard(dashboard.model, found);
          if (plan.unresolvedVariables.length > 0) {
            log.warn(
              { dashboard: uid, variables: plan.unresolvedVariables },
              'repeat variables without values: their panels are rendered once, with the default value',
            );
          }
          return { ...dashboard, plan };
        } catch (error) {
          if (signal?.aborted) throw signal.reason;
          log.warn(
            {
              dashboard: uid,
              variables: unresolvedVariables,
              reason: error instanceof Error ? error.message : String(error),
            },
            'repeat variables not read from the dashboard page: their panels are rendered once',
          );
          return dashboard;
        }
      }

      async function renderWithRetry(
        browser: ReportBrowser,
        dashboard: PlannedDashboard,
        job: PanelJob,
      ): Promise<PanelContent> {
        const size = panelSize(job.gridPos, columnWidthPx);
        const url = soloPanelUrl({
          grafanaUrl,
          uid: dashboard.plan.uid,
          slug: dashboard.slug,
          panelId: job.panelId,
          window,
          widthPx: size.widthPx,
          heightPx: size.heightPx,
          theme,
          variables: job.variables,
        });
        const reasons: string[] = [];
        for (let attempt = 0; attempt <= retries; attempt++) {
          signal?.throwIfAborted();
          const started = Date.now();
          try {
            const png = await capturePanel(
              browser.browser,
              { url, widthCss: size.widthPx, heightCss: size.heightPx, scale, timezone },
              settings,
            );
            const { width, height } = pngDimensions(png);
            log.debug(
              { dashboard: dashboard.plan.uid, panel: job.panelId, ms: Date.now() - started },
              'panel rendered',
            );
            return { kind: 'image', png, widthPx: width, heightPx: height };
          } catch (error) {
            if (signal?.aborted) throw signal.reason;
            const reason = error instanceof Error ? error.message : String(error);
            reasons.push(reason);
            log.warn(
              { dashboard: dashboard.plan.uid, panel: job.panelId, attempt: attempt + 1, reason },
              'panel not rendered',
            );
          }
        }
        const attempts = retries + 1;
        const last = reasons[reasons.length - 1] ?? 'unknown';
        return { kind: 'failed', reason: `${last} (${attempts} ${attempts === 1 ? 'attempt' : 'attempts'})` };
      }
    },
  };
}

function countPanels(plan: DashboardPlan): number {
  return plan.rows.reduce((sum, row) => sum + row.panels.length, 0);
}

function toRendered(
  { plan }: PlannedDashboard,
  contents: ReadonlyMap<PanelJob, PanelContent>,
  grafanaUrl: string,
  window: ReportWindow,
): RenderedDashboard {
  const range = `from=${window.from.getTime()}&to=${window.to.getTime()}`;
  return {
    uid: plan.uid,
    title: plan.title,
    url: `${grafanaUrl}/d/${encodeURIComponent(plan.uid)}?${range}`,
    rows: plan.rows.map((row) => ({
      title: row.title,
      panels: row.panels.map(
        (job): RenderedPanel => ({
          title: job.title,
          ...(job.description === undefined ? {} : { description: job.description }),
          gridPos: job.gridPos,
          content: contents.get(job) ?? { kind: 'failed', reason: 'not rendered' },
        }),
      ),
    })),
  };
}

function missingDashboard(uid: string, reason: string): RenderedDashboard {
  return {
    uid,
    title: uid,
    rows: [
      {
        title: null,
        panels: [{ title: uid, gridPos: { x: 0, y: 0, w: 24, h: 4 }, content: { kind: 'failed', reason } }],
      },
    ],
  };
}
