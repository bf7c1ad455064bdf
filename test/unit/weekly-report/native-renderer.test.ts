import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrometheusSeries } from '../../../functions/shared/clients/prometheus.js';
import { ConfigurationError, UpstreamError } from '../../../functions/shared/errors.js';
import type { ReportWindow } from '../../../functions/weekly-report/model.js';
import {
  createNativeRenderer,
  MAX_SERIES_PER_CHART,
  type PrometheusQueries,
} from '../../../functions/weekly-report/native/native-renderer.js';

const WINDOW: ReportWindow = {
  from: new Date('2026-11-30T00:00:00Z'),
  to: new Date('2026-12-07T00:00:00Z'),
  isoWeek: '2026-W49',
};

const DASHBOARD = {
  uid: 'fake',
  title: 'Fake',
  panels: [
    {
      id: 1,
      type: 'timeseries',
      title: 'Many',
      gridPos: { x: 0, y: 0, w: 12, h: 8 },
      targets: [{ refId: 'A', expr: 'many' }],
    },
    {
      id: 2,
      type: 'stat',
      title: 'Broken',
      gridPos: { x: 12, y: 0, w: 12, h: 8 },
      targets: [{ refId: 'A', expr: 'broken', instant: true }],
    },
  ],
};

/** Answers `many` with more series than a chart draws and refuses `broken` as Prometheus would. */
const prometheus: PrometheusQueries = {
  query: async (expr) => {
    if (expr === 'broken')
      throw new UpstreamError('prometheus', 'execution: query timed out in expression evaluation', 503);
    return [];
  },
  queryRange: async (expr, range) => {
    range.signal?.throwIfAborted();
    return Array.from(
      { length: expr === 'many' ? MAX_SERIES_PER_CHART + 20 : 0 },
      (_, i): PrometheusSeries => ({ metric: { pod: `p${i}` }, points: [{ at: range.end, value: i }] }),
    );
  },
};

describe('Native renderer', () => {
  let stackConfigDir: string;

  beforeAll(async () => {
    stackConfigDir = await mkdtemp(join(tmpdir(), 'toilless-native-'));
    await mkdir(join(stackConfigDir, 'grafana', 'dashboards'), { recursive: true });
    await writeFile(join(stackConfigDir, 'grafana', 'dashboards', 'fake.json'), JSON.stringify(DASHBOARD));
  });

  afterAll(async () => {
    await rm(stackConfigDir, { recursive: true, force: true });
  });

  const renderer = () =>
    createNativeRenderer({ stackConfigDir, prometheus, grafanaUrl: 'http://grafana.test/' });

  it('fails only the panel whose query fails, naming the reason', async () => {
    const [dashboard] = await renderer().render(['fake'], WINDOW, {});
    const panels = dashboard?.rows[0]?.panels ?? [];
    expect(panels[1]?.content).toEqual({
      kind: 'failed',
      reason: 'prometheus: execution: query timed out in expression evaluation',
    });
    expect(panels[0]?.content.kind).toBe('timeseries');
  });

  it('draws at most MAX_SERIES_PER_CHART series of a chart', async () => {
    const [dashboard] = await renderer().render(['fake'], WINDOW, {});
    const chart = dashboard?.rows[0]?.panels[0]?.content;
    expect(chart?.kind === 'timeseries' ? chart.series.length : 0).toBe(MAX_SERIES_PER_CHART);
  });

  it('names the shipped dashboards when asked for one it does not have', async () => {
    await expect(renderer().render(['nope'], WINDOW, {})).rejects.toThrow(ConfigurationError);
    await expect(renderer().render(['nope'], WINDOW, {})).rejects.toThrow(
      'no shipped dashboard has uid "nope": use one of fake',
    );
  });

  it('says how to fix a dashboard file that is not JSON', async () => {
    const broken = await mkdtemp(join(tmpdir(), 'toilless-native-broken-'));
    try {
      await mkdir(join(broken, 'grafana', 'dashboards'), { recursive: true });
      await writeFile(join(broken, 'grafana', 'dashboards', 'x.json'), '{ nope');
      const render = createNativeRenderer({
        stackConfigDir: broken,
        prometheus,
        grafanaUrl: 'http://g',
      }).render([], WINDOW, {});
      await expect(render).rejects.toThrow(
        'grafana/dashboards/x.json is not valid JSON: regenerate it with `npm run generate`',
      );
    } finally {
      await rm(broken, { recursive: true, force: true });
    }
  });

  it('stops when the report is aborted instead of failing panels one by one', async () => {
    const controller = new AbortController();
    controller.abort(new Error('report cancelled'));
    await expect(renderer().render(['fake'], WINDOW, { signal: controller.signal })).rejects.toThrow(
      'report cancelled',
    );
  });
});
