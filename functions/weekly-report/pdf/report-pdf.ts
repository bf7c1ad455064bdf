/**
 * The report PDF (pdfkit, A4 landscape): a cover, the summary page, one section per dashboard with its
 * panels laid out as in Grafana, an appendix with every table's full data, an outline (bookmarks) and
 * "page X of Y" footers. Fonts are embedded (DejaVu Sans) so that any service name renders.
 */
import PDFDocument from 'pdfkit';
import type {
  DoraSummary,
  FiringAlertSummary,
  IncidentSummary,
  RenderedDashboard,
  RenderedPanel,
  ReportDocument,
  ReportSummary,
  SloSummary,
} from '../model.js';
import {
  type Doc,
  drawTable,
  FONT_BOLD,
  FONT_REGULAR,
  line,
  MUTED_COLOR,
  safeLink,
  type TableCell,
  TEXT_COLOR,
  WARNING_COLOR,
} from './drawing.js';
import { resolveReportFonts } from './fonts.js';
import { CONTENT_AREA, MARGIN, PAGE_HEIGHT, PAGE_WIDTH, placePanels, readingOrder } from './layout.js';
import { drawPanelContent, tableCellText } from './panel-drawing.js';
import {
  doraCell,
  duration,
  incidentOverview,
  POLICY_COLOR,
  POLICY_TEXT,
  percent,
  resolveSeconds,
  targetPercent,
  utcMinute,
  windowText,
} from './summary-text.js';

export interface ReportPdfOptions {
  /**
   * Directory holding DejaVuSans.ttf and DejaVuSans-Bold.ttf.
   * @default fonts/ in the Lambda task root (LAMBDA_TASK_ROOT), else node_modules/dejavu-fonts-ttf/ttf
   */
  readonly fontDir?: string;
}

const MODE_TEXT = {
  grafana: 'grafana: the panels as Grafana draws them',
  native: 'native: the panels drawn from Prometheus data',
} as const;

/** The report as PDF bytes. */
export async function assembleReportPdf(
  report: ReportDocument,
  options: ReportPdfOptions = {},
): Promise<Buffer> {
  const fonts = resolveReportFonts(options.fontDir);
  const doc = new PDFDocument({
    size: 'A4',
    layout: 'landscape',
    margins: { top: MARGIN, bottom: MARGIN, left: MARGIN, right: MARGIN },
    bufferPages: true,
    autoFirstPage: false,
    info: {
      Title: `${report.stackName} weekly report ${report.window.isoWeek}`,
      Subject: `Dashboards and summary for ${windowText(report.window.from, report.window.to)}`,
      Creator: 'toilless',
      CreationDate: report.generatedAt,
    },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    doc.on('end', resolve);
    doc.on('error', reject);
  });
  doc.registerFont(FONT_REGULAR, fonts.regular);
  doc.registerFont(FONT_BOLD, fonts.bold);

  const tables = tablePanels(report.dashboards);
  drawCover(doc, report);
  drawSummary(doc, report.summary);
  for (const dashboard of report.dashboards) drawDashboard(doc, report, dashboard, tables);
  drawAppendix(doc, tables);
  drawFooters(doc, report);
  doc.end();
  await ended;
  return Buffer.concat(chunks);
}

interface AppendixTable {
  readonly label: string;
  readonly dashboard: string;
  readonly panel: RenderedPanel & { readonly content: { readonly kind: 'table' } };
}

/** Every table panel, numbered for the appendix in the order they appear. */
function tablePanels(dashboards: readonly RenderedDashboard[]): Map<RenderedPanel, AppendixTable> {
  const tables = new Map<RenderedPanel, AppendixTable>();
  for (const dashboard of dashboards) {
    for (const row of dashboard.rows) {
      for (const panel of readingOrder(row.panels)) {
        if (panel.content.kind !== 'table') continue;
        tables.set(panel, {
          label: `A.${tables.size + 1}`,
          dashboard: dashboard.title,
          panel: panel as AppendixTable['panel'],
        });
      }
    }
  }
  return tables;
}

function heading(doc: Doc, text: string, y: number, size = 16): number {
  line(doc, text, CONTENT_AREA.left, y, CONTENT_AREA.width, { size, bold: true });
  return y + size * 1.5;
}

function drawCover(doc: Doc, report: ReportDocument): void {
  doc.addPage();
  doc.outline.addItem('Cover');
  const left = CONTENT_AREA.left + 40;
  const width = CONTENT_AREA.width - 80;
  doc.rect(0, 0, PAGE_WIDTH, 8).fill('#3274D9');
  line(doc, 'Weekly report', left, 120, width, { size: 14, color: MUTED_COLOR });
  line(doc, report.stackName, left, 142, width, { size: 32, bold: true });
  line(doc, `Week ${report.window.isoWeek}`, left, 196, width, { size: 20, bold: true });
  line(doc, windowText(report.window.from, report.window.to), left, 224, width, { size: 13 });
  const facts: [string, string][] = [
    ['Generated', utcMinute(report.generatedAt)],
    ['Rendering', MODE_TEXT[report.mode]],
    ['Dashboards', report.dashboards.map((dashboard) => dashboard.title).join(', ') || 'none'],
  ];
  let y = 280;
  for (const [name, value] of facts) {
    line(doc, name, left, y, 90, { size: 10, color: MUTED_COLOR });
    line(doc, value, left + 95, y, width - 95, { size: 10 });
    y += 18;
  }
}

function unavailable(doc: Doc, reason: string, y: number): number {
  line(doc, `Unavailable: ${reason}`, CONTENT_AREA.left, y, CONTENT_AREA.width, {
    size: 9,
    color: WARNING_COLOR,
  });
  return y + 18;
}

/** Starts a section heading, on a new page when fewer than `needed` points are left. */
function section(doc: Doc, title: string, y: number, needed = 60): number {
  let top = y;
  if (top + needed > CONTENT_AREA.bottom) {
    doc.addPage();
    top = CONTENT_AREA.top;
  }
  return heading(doc, title, top, 11);
}

function drawSummary(doc: Doc, summary: ReportSummary): void {
  doc.addPage();
  doc.outline.addItem('Summary');
  let y = heading(doc, 'Summary', CONTENT_AREA.top, 18);
  y = section(doc, 'Service level objectives', y);
  y = Array.isArray(summary.slos)
    ? sloTable(doc, summary.slos, y)
    : unavailable(doc, reasonOf(summary.slos), y);
  y = section(doc, 'Incidents', y + 10);
  y = Array.isArray(summary.incidents)
    ? incidentTable(doc, summary.incidents, y)
    : unavailable(doc, reasonOf(summary.incidents), y);
  y = section(doc, 'Delivery performance (DORA)', y + 10);
  y = Array.isArray(summary.dora)
    ? doraTable(doc, summary.dora, y)
    : unavailable(doc, reasonOf(summary.dora), y);
  y = section(doc, 'Top firing alerts', y + 10);
  if (Array.isArray(summary.topAlerts)) alertTable(doc, summary.topAlerts, y);
  else unavailable(doc, reasonOf(summary.topAlerts), y);
}

function reasonOf(part: unknown): string {
  return (part as { unavailable: string }).unavailable;
}

const TABLE = {
  x: CONTENT_AREA.left,
  width: CONTENT_AREA.width,
  fontSize: 8,
  continueOnNewPage: true,
} as const;

function none(doc: Doc, text: string, y: number): number {
  line(doc, text, CONTENT_AREA.left, y, CONTENT_AREA.width, { size: 9, color: MUTED_COLOR });
  return y + 16;
}

function sloTable(doc: Doc, slos: readonly SloSummary[], y: number): number {
  if (slos.length === 0)
    return none(
      doc,
      'No SLO series in Prometheus for this window (slo:objective:ratio, recorded from slos.yaml): check that Prometheus loads the generated SLO rules.',
      y,
    );
  const compliance = (value: number | null, target: number): TableCell => ({
    text: percent(value),
    ...(value === null ? {} : { color: value >= target ? '#37872D' : '#C4162A' }),
  });
  return drawTable(
    doc,
    [
      { header: 'Service', weight: 2 },
      { header: 'Objective', weight: 2 },
      { header: 'Target', weight: 1, align: 'right' },
      { header: 'This week', weight: 1.2, align: 'right' },
      { header: '30 days', weight: 1.2, align: 'right' },
      { header: 'Budget left', weight: 1.2, align: 'right' },
      { header: 'Error budget policy', weight: 3 },
    ],
    slos.map((slo) => [
      { text: slo.service },
      { text: slo.objective },
      { text: targetPercent(slo.target) },
      compliance(slo.week, slo.target),
      compliance(slo.thirtyDays, slo.target),
      { text: percent(slo.budgetRemaining, 1) },
      slo.policy === null
        ? { text: 'no data', color: MUTED_COLOR }
        : { text: POLICY_TEXT[slo.policy], color: POLICY_COLOR[slo.policy], bold: slo.policy !== 'healthy' },
    ]),
    y,
    TABLE,
  ).endY;
}

function incidentTable(doc: Doc, incidents: readonly IncidentSummary[], y: number): number {
  line(doc, incidentOverview(incidents), CONTENT_AREA.left, y, CONTENT_AREA.width, { size: 9 });
  if (incidents.length === 0) return y + 16;
  return drawTable(
    doc,
    [
      { header: 'Opened', weight: 1.6 },
      { header: 'Incident', weight: 4 },
      { header: 'Severity', weight: 1 },
      { header: 'Time to resolve', weight: 1.3, align: 'right' },
      { header: 'Timeline', weight: 3 },
    ],
    incidents.map((incident) => {
      const seconds = resolveSeconds(incident);
      const link = safeLink(incident.link);
      return [
        { text: utcMinute(incident.openedAt) },
        { text: incident.title },
        {
          text: incident.severity,
          ...(incident.severity === 'critical' ? { color: '#C4162A', bold: true } : {}),
        },
        seconds === null ? { text: 'still open', color: WARNING_COLOR } : { text: duration(seconds) },
        { text: incident.link ?? '', ...(link === undefined ? {} : { link, color: '#1F60C4' }) },
      ];
    }),
    y + 14,
    TABLE,
  ).endY;
}

function doraTable(doc: Doc, dora: readonly DoraSummary[], y: number): number {
  if (dora.length === 0) return none(doc, 'No repositories with deployments yet.', y);
  line(
    doc,
    'Each value over the report window, its level and the change from the week before.',
    CONTENT_AREA.left,
    y,
    CONTENT_AREA.width,
    {
      size: 8,
      color: MUTED_COLOR,
    },
  );
  return drawTable(
    doc,
    [
      { header: 'Repository', weight: 1.6 },
      { header: 'Deployment frequency', weight: 3 },
      { header: 'Lead time for changes', weight: 3 },
      { header: 'Change failure rate', weight: 3 },
      { header: 'Time to restore', weight: 3 },
    ],
    dora.map((repository) => [
      { text: repository.repository, bold: true },
      { text: doraCell('deploymentFrequency', repository.deploymentFrequencyPerDay) },
      { text: doraCell('leadTime', repository.leadTimeSeconds) },
      { text: doraCell('changeFailureRate', repository.changeFailureRate) },
      { text: doraCell('timeToRestore', repository.timeToRestoreSeconds) },
    ]),
    y + 13,
    TABLE,
  ).endY;
}

function alertTable(doc: Doc, alerts: readonly FiringAlertSummary[], y: number): number {
  if (alerts.length === 0) return none(doc, 'No alert fired this week.', y);
  return drawTable(
    doc,
    [
      { header: 'Alert', weight: 4 },
      { header: 'Severity', weight: 1.5 },
      { header: 'Times fired', weight: 1.5, align: 'right' },
      { header: 'Firing for', weight: 1.5, align: 'right' },
    ],
    alerts.map((alert) => [
      { text: alert.alertname },
      { text: alert.severity },
      { text: String(alert.firings) },
      { text: duration(alert.firingSeconds) },
    ]),
    y,
    TABLE,
  ).endY;
}

const TITLE_HEIGHT = 11;
const DESCRIPTION_HEIGHT = 8;

function drawDashboard(
  doc: Doc,
  report: ReportDocument,
  dashboard: RenderedDashboard,
  tables: ReadonlyMap<RenderedPanel, AppendixTable>,
): void {
  doc.addPage();
  const item = doc.outline.addItem(dashboard.title);
  let y = heading(doc, dashboard.title, CONTENT_AREA.top, 16);
  const url = dashboard.url === undefined ? undefined : safeLink(dashboard.url);
  if (dashboard.url !== undefined) {
    line(doc, dashboard.url, CONTENT_AREA.left, y - 4, CONTENT_AREA.width, {
      size: 7,
      color: url === undefined ? MUTED_COLOR : '#1F60C4',
      ...(url === undefined ? {} : { link: url }),
    });
    y += 8;
  }
  for (const row of dashboard.rows) {
    const panels = readingOrder(row.panels);
    if (row.title !== null) {
      const firstHeight = Math.min(8, panels[0]?.gridPos.h ?? 2) * 16;
      if (y + 20 + firstHeight > CONTENT_AREA.bottom) {
        doc.addPage();
        y = CONTENT_AREA.top;
      }
      item.addItem(row.title);
      line(doc, row.title, CONTENT_AREA.left, y + 2, CONTENT_AREA.width, {
        size: 11,
        bold: true,
        color: '#3A3D44',
      });
      doc
        .moveTo(CONTENT_AREA.left, y + 16)
        .lineTo(CONTENT_AREA.left + CONTENT_AREA.width, y + 16)
        .lineWidth(0.5)
        .strokeColor('#C7CAD1')
        .stroke();
      y += 20;
    }
    if (panels.length === 0) {
      line(doc, 'No panels in this row.', CONTENT_AREA.left, y, CONTENT_AREA.width, {
        size: 8,
        color: MUTED_COLOR,
      });
      y += 14;
      continue;
    }
    const placed = placePanels(
      panels.map((panel) => panel.gridPos),
      CONTENT_AREA,
      y,
    );
    panels.forEach((panel, index) => {
      const box = placed.boxes[index];
      if (box === undefined) return;
      if (box.newPage) doc.addPage();
      drawPanel(doc, report, panel, box, tables.get(panel)?.label);
    });
    y = placed.endY;
  }
}

function drawPanel(
  doc: Doc,
  report: ReportDocument,
  panel: RenderedPanel,
  box: { x: number; y: number; w: number; h: number },
  appendixLabel: string | undefined,
): void {
  doc.roundedRect(box.x, box.y, box.w, box.h, 2).lineWidth(0.6).strokeColor('#D0D3D9').stroke();
  const inner = { x: box.x + 4, y: box.y + 3, w: box.w - 8, h: box.h - 6 };
  line(doc, panel.title, inner.x, inner.y, inner.w, { size: 8, bold: true });
  let top = inner.y + TITLE_HEIGHT;
  if (panel.description !== undefined && panel.description !== '' && inner.h > 60) {
    line(doc, panel.description, inner.x, top - 1, inner.w, { size: 5.5, color: MUTED_COLOR });
    top += DESCRIPTION_HEIGHT;
  }
  drawPanelContent(
    doc,
    panel.content,
    { x: inner.x, y: top, w: inner.w, h: inner.y + inner.h - top },
    {
      window: report.window,
      ...(appendixLabel === undefined ? {} : { appendixLabel }),
    },
  );
}

function drawAppendix(doc: Doc, tables: ReadonlyMap<RenderedPanel, AppendixTable>): void {
  if (tables.size === 0) return;
  doc.addPage();
  const item = doc.outline.addItem('Appendix: table data');
  let y = heading(doc, 'Appendix: table data', CONTENT_AREA.top, 16);
  for (const table of tables.values()) {
    if (y + 50 > CONTENT_AREA.bottom) {
      doc.addPage();
      y = CONTENT_AREA.top;
    }
    const title = `${table.label} ${table.dashboard}: ${table.panel.title}`;
    item.addItem(title);
    line(doc, title, CONTENT_AREA.left, y, CONTENT_AREA.width, { size: 10, bold: true });
    y += 15;
    const { content } = table.panel;
    if (content.rows.length === 0) {
      line(doc, 'No rows.', CONTENT_AREA.left, y, CONTENT_AREA.width, { size: 8, color: MUTED_COLOR });
      y += 18;
      continue;
    }
    y =
      drawTable(
        doc,
        content.columns.map((header) => ({ header, weight: 1 })),
        content.rows.map((row) => row.map((value) => ({ text: tableCellText(value, content.format) }))),
        y,
        { ...TABLE, fontSize: 7 },
      ).endY + 14;
  }
}

function drawFooters(doc: Doc, report: ReportDocument): void {
  const range = doc.bufferedPageRange();
  for (let index = 0; index < range.count; index += 1) {
    doc.switchToPage(range.start + index);
    // Text below the bottom margin would make pdfkit start a new page.
    const margin = doc.page.margins.bottom;
    doc.page.margins.bottom = 0;
    const y = PAGE_HEIGHT - MARGIN - 8;
    line(doc, `${report.stackName} · weekly report ${report.window.isoWeek}`, MARGIN, y, 400, {
      size: 7,
      color: MUTED_COLOR,
    });
    line(doc, `Page ${index + 1} of ${range.count}`, PAGE_WIDTH - MARGIN - 150, y, 150, {
      size: 7,
      color: TEXT_COLOR,
      align: 'right',
    });
    doc.page.margins.bottom = margin;
  }
}
