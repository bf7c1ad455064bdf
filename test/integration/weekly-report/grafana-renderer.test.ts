import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  launchReportBrowser,
  type ReportBrowser,
} from '../../../functions/weekly-report/browser/chromium.js';
import {
  createGrafanaRenderer,
  GrafanaAccessError,
} from '../../../functions/weekly-report/grafana/renderer.js';
import { pngDimensions } from '../../../functions/weekly-report/grafana/solo-panel.js';
import type {
  RenderedDashboard,
  RenderedPanel,
  ReportWindow,
} from '../../../functions/weekly-report/model.js';
import { type GrafanaRenderServer, startGrafanaRenderServer } from '../../support/grafana-render-server.js';
import { decodePng } from '../../support/png.js';

const WINDOW: ReportWindow = {
  from: new Date('2026-11-30T00:00:00Z'),
  to: new Date('2026-12-07T00:00:00Z'),
  isoWeek: '2026-W49',
};
// Generous for a page load on a busy 2-core machine (about a second) plus the slow panel's query.
const PANEL_TIMEOUT_MS = 5000;
const CONCURRENCY = 2;

const SERVICE_HEALTH = {
  uid: 'service-health',
  title: 'Service health',
  templating: {
    list: [
      {
        name: 'service',
        type: 'custom',
        query: 'checkout,payments',
        includeAll: true,
        current: { text: 'All', value: ['$__all'] },
        options: [],
      },
    ],
  },
  panels: [
    { id: 1, type: 'stat', title: 'Availability', gridPos: { x: 0, y: 0, w: 12, h: 6 } },
    { id: 2, type: 'timeseries', title: 'Slow query', gridPos: { x: 12, y: 0, w: 12, h: 6 } },
    { id: 6, type: 'graph', title: 'Older Grafana page', gridPos: { x: 0, y: 6, w: 8, h: 5 } },
    {
      id: 3,
      type: 'row',
      title: 'Details',
      collapsed: true,
      gridPos: { x: 0, y: 11, w: 24, h: 1 },
      panels: [
        {
          id: 4,
          type: 'timeseries',
          title: 'Latency of $service',
          repeat: 'service',
          repeatDirection: 'h',
          gridPos: { x: 0, y: 12, w: 24, h: 8 },
        },
        { id: 5, type: 'timeseries', title: 'Never finishes', gridPos: { x: 0, y: 20, w: 24, h: 8 } },
      ],
    },
  ],
};

/** A query variable saved with All and no options: its values exist only once Grafana resolves it. */
const HOSTS = {
  uid: 'hosts',
  title: 'Hosts',
  templating: {
    list: [{ name: 'instance', type: 'query', current: { text: 'All', value: '$__all' }, options: [] }],
  },
  panels: [
    {
      id: 7,
      type: 'timeseries',
      title: 'CPU of $instance',
      repeat: 'instance',
      repeatDirection: 'v',
      gridPos: { x: 0, y: 0, w: 24, h: 6 },
    },
  ],
};

describe('Grafana mode against a Grafana-like server, in the Lambda Chromium', () => {
  let grafana: GrafanaRenderServer;
  let dashboards: readonly RenderedDashboard[];
  const progress: [number, number, string][] = [];
  const browsers: ReportBrowser[] = [];
  let closed = 0;

  beforeAll(async () => {
    grafana = await startGrafanaRenderServer({
      dashboards: [SERVICE_HEALTH, HOSTS],
      variableOptions: { instance: ['node-a:9100', 'node-b:9100'] },
      panels: {
        1: { queryMs: 600 },
        2: { queryMs: 1500 },
        4: { queryMs: 300 },
        5: { never: true },
        6: { queryMs: 400, scenes: false },
        7: { queryMs: 100 },
      },
    });
    const renderer = createGrafanaRenderer({
      grafanaUrl: grafana.url,
      token: grafana.token,
      launchBrowser: async () => {
        const browser = await launchReportBrowser();
        browsers.push(browser);
        return {
          ...browser,
          close: async () => {
            closed++;
            await browser.close();
          },
        };
      },
      concurrency: CONCURRENCY,
      panelTimeoutMs: PANEL_TIMEOUT_MS,
      settleMs: 150,
      scale: 2,
    });
    dashboards = await renderer.render(['service-health', 'hosts'], WINDOW, {
      onProgress: (done, total, panel) => progress.push([done, total, panel]),
    });
  });

  afterAll(async () => {
    await grafana?.close();
  });

  const panels = (): RenderedPanel[] => dashboards.flatMap((d) => d.rows.flatMap((row) => row.panels));
  const panel = (title: string): RenderedPanel => {
    const found = panels().find((p) => p.title === title);
    if (!found) throw new Error(`no panel ${title} in ${panels().map((p) => p.title)}`);
    return found;
  };
  const image = (title: string) => {
    const content = panel(title).content;
    if (content.kind !== 'image') throw new Error(`${title} is ${JSON.stringify(content).slice(0, 200)}`);
    return content;
  };

  it('expands the collapsed row and renders each repetition of the repeated panel', () => {
    expect(dashboards).toHaveLength(2);
    expect(dashboards[0]?.rows.map((row) => [row.title, row.panels.map((p) => p.title)])).toEqual([
      [null, ['Availability', 'Slow query', 'Older Grafana page']],
      ['Details', ['Latency of checkout', 'Latency of payments', 'Never finishes']],
    ]);
    const repetitions = grafana.calls
      .filter((c) => c.path.startsWith('/d-solo/') && c.query.get('panelId') === '4')
      .map((c) => c.query.get('var-service'));
    expect(repetitions.sort()).toEqual(['checkout', 'payments']);
    expect(panel('Latency of payments').gridPos).toEqual({ x: 12, y: 12, w: 12, h: 8 });
  });

  it('reads the values of a query variable from the dashboard page, and renders each repetition', () => {
    expect(dashboards[1]?.rows.map((row) => row.panels.map((p) => [p.title, p.content.kind]))).toEqual([
      [
        ['CPU of node-a:9100', 'image'],
        ['CPU of node-b:9100', 'image'],
      ],
    ]);
    expect(grafana.calls.filter((c) => c.path === '/d/hosts/hosts')).toHaveLength(1);
    const repetitions = grafana.calls
      .filter((c) => c.path.startsWith('/d-solo/hosts/') && c.query.get('panelId') === '7')
      .map((c) => c.query.get('var-instance'));
    expect(repetitions.sort()).toEqual(['node-a:9100', 'node-b:9100']);
  });

  it('asks for each panel the way Grafana asks its image renderer', () => {
    const call = grafana.calls.find((c) => c.path.startsWith('/d-solo/') && c.query.get('panelId') === '1');
    expect(call?.path).toBe('/d-solo/service-health/service-health');
    expect(Object.fromEntries(call?.query ?? [])).toMatchObject({
      panelId: '1',
      from: String(WINDOW.from.getTime()),
      to: String(WINDOW.to.getTime()),
      width: '600',
      height: '220',
      theme: 'light',
    });
  });

  it('takes real PNGs of the panel size times the scale', () => {
    for (const title of ['Availability', 'Slow query', 'Latency of checkout', 'Latency of payments']) {
      const content = image(title);
      expect(pngDimensions(content.png)).toEqual({ width: content.widthPx, height: content.heightPx });
    }
    // 12 of 24 columns at 50 px, 6 grid rows of 30 px with 8 px between them; scale 2.
    expect([image('Availability').widthPx, image('Availability').heightPx]).toEqual([1200, 440]);
    expect([image('Latency of checkout').widthPx, image('Latency of checkout').heightPx]).toEqual([
      1200, 592,
    ]);
  });

  it('captures a slow panel once its query has answered and it has drawn, not while it is loading', () => {
    for (const [title, panelId] of [
      ['Slow query', 2],
      ['Availability', 1],
      ['Latency of payments', 4],
    ] as const) {
      const picture = decodePng(image(title).png);
      // A point of the panel's fill, away from the line and the label; white while "Loading".
      const color = picture.colorAt(Math.floor(picture.width * 0.95), Math.floor(picture.height * 0.9));
      expect(color, title).toBe(grafana.colorOf(panelId));
    }
  });

  it('falls back to network idle and a stable page where Grafana has no Scenes counters', () => {
    const picture = decodePng(image('Older Grafana page').png);
    expect(picture.colorAt(Math.floor(picture.width * 0.95), Math.floor(picture.height * 0.9))).toBe(
      grafana.colorOf(6),
    );
  });

  it('gives a panel that never finishes one retry, then a failed box that names the timeout', () => {
    const content = panel('Never finishes').content;
    expect(content).toEqual({
      kind: 'failed',
      reason: `did not finish within ${PANEL_TIMEOUT_MS} ms: Grafana still had 1 queries running (2 attempts)`,
    });
    const attempts = grafana.calls.filter(
      (c) => c.path.startsWith('/d-solo/') && c.query.get('panelId') === '5',
    );
    expect(attempts).toHaveLength(2);
  });

  it('loads at most the configured number of panels at once, and does use them', () => {
    expect(grafana.peakQueries).toBe(CONCURRENCY);
    expect(grafana.runningQueries).toBe(0);
  });

  it('sends the token to Grafana only, never to another origin, not even through a redirect', () => {
    const other = grafana.calls.filter((c) => c.server === 'other');
    expect(other.map((c) => c.path)).toEqual(expect.arrayContaining(['/pixel.svg', '/redirected.svg']));
    expect(other.every((c) => c.authorization === undefined)).toBe(true);
    const grafanaCalls = grafana.calls.filter((c) => c.server === 'grafana');
    expect(grafanaCalls.every((c) => c.authorization === `Bearer ${grafana.token}`)).toBe(true);
  });

  it('tells the progress of every panel and closes its one browser', () => {
    expect(progress).toHaveLength(8);
    expect(progress.map(([done]) => done)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(progress.every(([, total]) => total === 8)).toBe(true);
    expect(progress.map(([, , name]) => name)).toContain('Service health / Latency of payments');
    expect(browsers).toHaveLength(1);
    expect(closed).toBe(1);
    expect(browsers[0]?.browser.connected).toBe(false);
  });

  it('links each dashboard to Grafana over the report window', () => {
    expect(dashboards[0]?.url).toBe(
      `${grafana.url}/d/service-health?from=${WINDOW.from.getTime()}&to=${WINDOW.to.getTime()}`,
    );
  });
});

describe('Grafana mode with a token Grafana refuses', () => {
  it('fails with an error naming GRAFANA_URL and GRAFANA_TOKEN, and loads no page', async () => {
    const grafana = await startGrafanaRenderServer({ dashboards: [SERVICE_HEALTH] });
    try {
      const launchBrowser = vi.fn(() => launchReportBrowser());
      const renderer = createGrafanaRenderer({ grafanaUrl: grafana.url, token: 'glsa_wrong', launchBrowser });

      const rendering = renderer.render(['service-health'], WINDOW, {});

      await expect(rendering).rejects.toThrow(GrafanaAccessError);
      await expect(rendering).rejects.toThrow(
        `Grafana at GRAFANA_URL=${grafana.url} refused GRAFANA_TOKEN (401 on GET /api/dashboards/uid/service-health)`,
      );
      expect(launchBrowser).not.toHaveBeenCalled();
      expect(grafana.calls.map((c) => c.path)).toEqual(['/api/dashboards/uid/service-health']);
    } finally {
      await grafana.close();
    }
  });
});

describe('Grafana mode, stopped while rendering', () => {
  it('gives up when the signal aborts and still closes the browser', async () => {
    const grafana = await startGrafanaRenderServer({
      dashboards: [SERVICE_HEALTH],
      panels: {
        1: { never: true },
        2: { never: true },
        4: { never: true },
        5: { never: true },
        6: { never: true },
      },
    });
    try {
      let browser: ReportBrowser | undefined;
      const controller = new AbortController();
      const renderer = createGrafanaRenderer({
        grafanaUrl: grafana.url,
        token: grafana.token,
        launchBrowser: async () => {
          browser = await launchReportBrowser();
          return browser;
        },
        concurrency: 2,
        panelTimeoutMs: 20_000,
      });
      const rendering = renderer.render(['service-health'], WINDOW, {
        signal: controller.signal,
        onProgress: () => undefined,
      });
      await vi.waitFor(() => expect(grafana.runningQueries).toBe(2), { timeout: 10_000, interval: 50 });

      controller.abort(new Error('report cancelled'));

      await expect(rendering).rejects.toThrow('report cancelled');
      expect(browser?.browser.connected).toBe(false);
      expect(grafana.calls.filter((c) => c.path.startsWith('/d-solo/'))).toHaveLength(2);
    } finally {
      await grafana.close();
    }
  });
});
