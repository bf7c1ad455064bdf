import { describe, expect, it, vi } from 'vitest';
import type { ReportBrowser } from '../../../functions/weekly-report/browser/chromium.js';
import { createGrafanaRenderer } from '../../../functions/weekly-report/grafana/renderer.js';
import { startGrafanaRenderServer } from '../../support/grafana-render-server.js';

const WINDOW = {
  from: new Date('2026-11-30T00:00:00Z'),
  to: new Date('2026-12-07T00:00:00Z'),
  isoWeek: '2026-W49',
};
const noBrowser = () => Promise.reject(new Error('no browser in this test')) as Promise<ReportBrowser>;

describe('Grafana renderer settings', () => {
  it('refuses a GRAFANA_URL that is not http(s) and an empty token, saying which', () => {
    expect(() =>
      createGrafanaRenderer({ grafanaUrl: 'grafana:3000', token: 't', launchBrowser: noBrowser }),
    ).toThrow('GRAFANA_URL is not an http(s) URL: "grafana:3000"');
    expect(() =>
      createGrafanaRenderer({ grafanaUrl: 'http://grafana:3000', token: ' ', launchBrowser: noBrowser }),
    ).toThrow('GRAFANA_TOKEN is empty: grafana mode needs a service account token');
  });
});

describe('Grafana renderer without panels to draw', () => {
  it('turns a dashboard Grafana no longer has into a box saying so, without starting a browser', async () => {
    const grafana = await startGrafanaRenderServer({ dashboards: [] });
    try {
      const launchBrowser = vi.fn(noBrowser);
      const renderer = createGrafanaRenderer({
        grafanaUrl: grafana.url,
        token: grafana.token,
        launchBrowser,
      });

      const dashboards = await renderer.render(['gone'], WINDOW, {});

      expect(dashboards).toEqual([
        {
          uid: 'gone',
          title: 'gone',
          rows: [
            {
              title: null,
              panels: [
                {
                  title: 'gone',
                  gridPos: { x: 0, y: 0, w: 24, h: 4 },
                  content: {
                    kind: 'failed',
                    reason: `dashboard gone was not found in Grafana at ${grafana.url}`,
                  },
                },
              ],
            },
          ],
        },
      ]);
      expect(launchBrowser).not.toHaveBeenCalled();
    } finally {
      await grafana.close();
    }
  });
});
