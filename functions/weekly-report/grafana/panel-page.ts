/**
 * One panel picture: a fresh page on Grafana's solo panel view (/d-solo), authenticated with the service account
 * token, captured once Grafana says it has drawn (see readiness.ts).
 *
 * The token is added by request interception to requests for Grafana's origin only, and taken off every other
 * request (a redirect or a panel's image elsewhere never carries it): `page.setExtraHTTPHeaders` would send it
 * everywhere.
 */
import type { Browser, HTTPRequest, Page } from 'puppeteer-core';
import {
  describeWaiting,
  INITIAL_READINESS,
  observeReadiness,
  type PageObservation,
  type ReadinessState,
} from './readiness.js';

export interface PanelCapture {
  /** The /d-solo URL. */
  readonly url: string;
  /** CSS pixels; the picture is `scale` times larger. */
  readonly widthCss: number;
  readonly heightCss: number;
  readonly scale: number;
  readonly timezone: string;
}

export interface CaptureSettings {
  /** Grafana's origin (scheme://host:port): the only one that gets the token. */
  readonly grafanaOrigin: string;
  readonly token: string;
  readonly timeoutMs: number;
  readonly settleMs: number;
  readonly pollIntervalMs: number;
  readonly signal?: AbortSignal;
}

/** The panel did not become ready (or its page failed): the reason is shown in the report. */
export class PanelCaptureError extends Error {
  override readonly name = 'PanelCaptureError';
}

/** In the page: what readiness.ts needs. A string, because the page's globals are not typed here. */
const OBSERVE_PAGE = `(() => {
  const text = document.documentElement ? document.documentElement.outerHTML : '';
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (Math.imul(31, hash) + text.charCodeAt(i)) | 0;
  const count = window.__grafanaRunningQueryCount;
  return {
    scenes: Boolean(window.__grafanaSceneContext),
    runningQueries: typeof count === 'number' ? count : null,
    domHash: hash,
    loaded: document.readyState === 'complete',
  };
})()`;

export async function capturePanel(
  browser: Browser,
  capture: PanelCapture,
  settings: CaptureSettings,
): Promise<Buffer> {
  return withReadyPage(browser, capture, settings, async (page, deadline) => {
    // A faster PNG encoder: about twice as quick here, for pictures about 1.5 times larger.
    const png = page.screenshot({ type: 'png', optimizeForSpeed: true });
    return Buffer.from(await withDeadline(png, deadline, settings, () => 'the screenshot'));
  });
}

/** In the page: the values of the dashboard's variables as Grafana resolved them (Scenes), or null. */
const READ_SCENE_VARIABLES = `(() => {
  const set = window.__grafanaSceneContext && window.__grafanaSceneContext.state && window.__grafanaSceneContext.state.$variables;
  const variables = set && set.state && Array.isArray(set.state.variables) ? set.state.variables : null;
  if (!variables) return null;
  const strings = (v) => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]).map(String);
  const result = {};
  for (const variable of variables) {
    const state = variable && variable.state;
    if (!state || typeof state.name !== 'string') continue;
    const value = strings(state.value);
    const options = Array.isArray(state.options) ? state.options.flatMap((o) => strings(o && o.value)) : [];
    result[state.name] = (value.includes('$__all') ? options : value).filter((v) => v !== '$__all');
  }
  return result;
})()`;

/**
 * The dashboard page (/d/<uid>) once Grafana has drawn it, read for the values of its variables: query
 * variables are resolved by Grafana in the browser, so their values are not in the saved model. Null when the
 * page is not a Scenes dashboard (Grafana before 10).
 */
export async function readDashboardVariables(
  browser: Browser,
  capture: PanelCapture,
  settings: CaptureSettings,
): Promise<Record<string, string[]> | null> {
  return withReadyPage(browser, capture, settings, async (page, deadline) => {
    const values = await withDeadline(
      page.evaluate(READ_SCENE_VARIABLES),
      deadline,
      settings,
      () => 'the variables',
    );
    return (values ?? null) as Record<string, string[]> | null;
  });
}

/** Opens `capture.url` in a fresh authenticated page, waits until Grafana is ready, and hands the page over. */
async function withReadyPage<T>(
  browser: Browser,
  capture: PanelCapture,
  settings: CaptureSettings,
  use: (page: Page, deadline: number) => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + settings.timeoutMs;
  const page = await browser.newPage();
  let inFlight = 0;
  let last: PageObservation | undefined;
  try {
    await page.setViewport({
      width: capture.widthCss,
      height: capture.heightCss,
      deviceScaleFactor: capture.scale,
    });
    await page.emulateTimezone(capture.timezone);
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      inFlight++;
      authorize(request, settings.grafanaOrigin, settings.token);
    });
    page.on('requestfinished', () => inFlight--);
    page.on('requestfailed', () => inFlight--);

    const response = await withDeadline(
      page.goto(capture.url, { waitUntil: 'domcontentloaded', timeout: 0 }),
      deadline,
      settings,
      () => 'the page did not load',
    );
    const status = response?.status() ?? 0;
    if (status === 401 || status === 403) {
      throw new PanelCaptureError(`Grafana answered ${status} to the page: GRAFANA_TOKEN was refused`);
    }
    if (status >= 400) throw new PanelCaptureError(`Grafana answered ${status} to the page`);

    let state: ReadinessState = INITIAL_READINESS;
    for (;;) {
      settings.signal?.throwIfAborted();
      const seen = (await withDeadline(page.evaluate(OBSERVE_PAGE), deadline, settings, () =>
        describeWaiting(last),
      )) as Omit<PageObservation, 'requestsInFlight' | 'runningQueries'> & { runningQueries: number | null };
      last = { ...seen, runningQueries: seen.runningQueries ?? undefined, requestsInFlight: inFlight };
      const verdict = observeReadiness(state, last, Date.now(), settings.settleMs);
      if (verdict.ready) break;
      state = verdict.state;
      if (Date.now() >= deadline) {
        throw new PanelCaptureError(
          `did not finish within ${settings.timeoutMs} ms: ${describeWaiting(last)}`,
        );
      }
      await pause(Math.min(settings.pollIntervalMs, Math.max(0, deadline - Date.now())), settings.signal);
    }
    return await use(page, deadline);
  } finally {
    await closeQuietly(page);
  }
}

function authorize(request: HTTPRequest, grafanaOrigin: string, token: string): void {
  if (request.isInterceptResolutionHandled()) return;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers())) {
    if (name.toLowerCase() !== 'authorization') headers[name] = value;
  }
  if (originOf(request.url()) === grafanaOrigin) headers.authorization = `Bearer ${token}`;
  // A request the page already gave up on cannot be continued; nothing to do then.
  request.continue({ headers }).catch(() => undefined);
}

export function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

async function withDeadline<T>(
  work: Promise<T>,
  deadline: number,
  settings: CaptureSettings,
  waitingFor: () => string,
): Promise<T> {
  settings.signal?.throwIfAborted();
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new PanelCaptureError(`did not finish within ${settings.timeoutMs} ms: ${waitingFor()}`)),
      Math.max(0, deadline - Date.now()),
    );
    onAbort = () => reject(settings.signal?.reason);
    settings.signal?.addEventListener('abort', onAbort, { once: true });
  });
  work.catch(() => undefined);
  try {
    return await Promise.race([work, stop]);
  } finally {
    clearTimeout(timer);
    if (onAbort) settings.signal?.removeEventListener('abort', onAbort);
  }
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

async function closeQuietly(page: Page): Promise<void> {
  await page.close().catch(() => undefined);
}
