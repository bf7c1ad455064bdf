/**
 * Stand-ins for the report's renderers and PDF assembly (functions/weekly-report/{grafana,native,pdf}),
 * for the tests of what happens around them: the mode, the window, delivery, the CLI. They draw nothing:
 * the renderer answers one stat panel per dashboard asked for, the assembly writes a small PDF-shaped
 * file naming the week and each dashboard. They count their calls.
 */
import type { DashboardRenderer, RenderMode, ReportDocument } from '../../functions/weekly-report/model.js';
import type { ReportEngines } from '../../functions/weekly-report/weekly-report.js';

export interface StandInEngines extends ReportEngines {
  /** Modes a renderer was asked for, in order. */
  readonly rendered: RenderMode[];
  /** Documents assembled, in order. */
  readonly assembled: ReportDocument[];
}

export function standInRenderer(mode: RenderMode): DashboardRenderer {
  return {
    mode,
    render: async (dashboards, _window, options) => {
      dashboards.forEach((uid, index) => {
        options.onProgress?.(index + 1, dashboards.length, `${uid}: requests`);
      });
      return dashboards.map((uid) => ({
        uid,
        title: `Dashboard ${uid}`,
        rows: [
          {
            title: null,
            panels: [
              {
                title: 'Requests',
                gridPos: { x: 0, y: 0, w: 12, h: 8 },
                content: {
                  kind: 'stat',
                  values: [{ name: 'requests', value: 42 }],
                  format: { unit: 'reqps' },
                },
              },
            ],
          },
        ],
      }));
    },
  };
}

/** A PDF-shaped file: the header and trailer of a PDF around a text naming what it would show. */
export function standInPdf(doc: ReportDocument, run: number): Buffer {
  const lines = [
    '%PDF-1.7',
    `% stand-in report ${doc.window.isoWeek} run ${run} mode ${doc.mode}`,
    ...doc.dashboards.map((dashboard) => `% dashboard ${dashboard.uid}`),
    '%%EOF',
    '',
  ];
  return Buffer.from(lines.join('\n'), 'utf8');
}

export function standInEngines(): StandInEngines {
  const rendered: RenderMode[] = [];
  const assembled: ReportDocument[] = [];
  return {
    rendered,
    assembled,
    renderer: async (mode) => {
      rendered.push(mode);
      return standInRenderer(mode);
    },
    assemble: async (doc) => {
      assembled.push(doc);
      return standInPdf(doc, assembled.length);
    },
  };
}
