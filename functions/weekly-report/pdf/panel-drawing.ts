/**
 * Drawing one panel's content inside its box: time series as vector line charts (unit-formatted axes,
 * legend, threshold lines), stat/gauge/bar gauge values coloured by thresholds, the first rows of a
 * table, a Grafana image, a link for log and trace panels, a box for a panel that failed.
 */
import type { FieldFormat, PanelContent, PanelValue, ReportWindow, Series } from '../model.js';
import { grafanaColor, seriesColor, thresholdColor } from './colors.js';
import {
  BORDER_COLOR,
  type Doc,
  drawTable,
  FONT_BOLD,
  FONT_REGULAR,
  line,
  MUTED_COLOR,
  safeLink,
  TEXT_COLOR,
  WARNING_COLOR,
} from './drawing.js';
import { timeTicks } from './time-axis.js';
import { formatTicks, formatValue, niceTicks } from './units.js';

export interface Box {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

/** Told when a table had more rows than its box shows, to point at the appendix. */
export interface PanelDrawContext {
  readonly window: ReportWindow;
  /** The appendix label of this panel's table ("A.3"), when it is a table. */
  readonly appendixLabel?: string;
}

export function drawPanelContent(doc: Doc, content: PanelContent, box: Box, context: PanelDrawContext): void {
  switch (content.kind) {
    case 'timeseries':
      drawTimeseries(doc, content.series, content.format, box, context.window);
      return;
    case 'stat':
      drawStat(doc, content.values, content.format, box);
      return;
    case 'gauge':
      drawGauges(doc, content.values, content.format, box);
      return;
    case 'bargauge':
      drawBarGauge(doc, content.values, content.format, box);
      return;
    case 'table':
      drawInlineTable(doc, content, box, context.appendixLabel);
      return;
    case 'image':
      doc.image(content.png, box.x, box.y, { fit: [box.w, box.h], align: 'center', valign: 'center' });
      return;
    case 'link':
      drawLink(doc, content.url, content.note, box);
      return;
    case 'failed':
      drawFailure(doc, content.reason, box);
      return;
  }
}

function noData(doc: Doc, box: Box): void {
  line(doc, 'No data', box.x, box.y + box.h / 2 - 5, box.w, { size: 9, color: MUTED_COLOR, align: 'center' });
}

const LEGEND_FONT = 6;

/** Legend entries flowing in lines below the chart; returns the height used. */
function drawLegend(doc: Doc, series: readonly Series[], box: Box, maxLines: number): number {
  doc.fontSize(LEGEND_FONT);
  const lineHeight = LEGEND_FONT * 1.5;
  const items: { name: string; width: number; color: string }[] = series.map((entry, index) => ({
    name: entry.name,
    width: Math.min(doc.widthOfString(entry.name.slice(0, 80)) + 14, box.w),
    color: seriesColor(index),
  }));
  const lines: (typeof items)[] = [[]];
  let used = 0;
  for (const item of items) {
    const current = lines.at(-1) ?? [];
    if (used + item.width > box.w && current.length > 0) {
      lines.push([item]);
      used = item.width;
    } else {
      current.push(item);
      used += item.width;
    }
  }
  const shown = lines.slice(0, maxLines);
  const hidden = lines.slice(maxLines).reduce((sum, entries) => sum + entries.length, 0);
  const height = shown.length * lineHeight;
  let y = box.y + box.h - height;
  for (const entries of shown) {
    let x = box.x;
    for (const item of entries) {
      doc.rect(x, y + 2, 8, 2.5).fill(item.color);
      line(doc, item.name, x + 10, y, item.width - 12, { size: LEGEND_FONT, color: TEXT_COLOR });
      x += item.width;
    }
    y += lineHeight;
  }
  if (hidden > 0) {
    line(doc, `+${hidden} more`, box.x, box.y + box.h - lineHeight, box.w, {
      size: LEGEND_FONT,
      color: MUTED_COLOR,
      align: 'right',
    });
  }
  return height;
}

/** The value range of the chart: the data's, widened to the field's min and max. */
function valueRange(
  series: readonly Series[],
  format: FieldFormat,
): { min: number; max: number } | undefined {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const entry of series) {
    for (const [, value] of entry.points) {
      if (!Number.isFinite(value)) continue;
      if (value < min) min = value;
      if (value > max) max = value;
    }
  }
  if (min === Number.POSITIVE_INFINITY) return undefined;
  if (format.min !== undefined) min = Math.min(min, format.min);
  if (format.max !== undefined) max = Math.max(max, format.max);
  return { min, max };
}

/** One value axis of a chart: its format, range, ticks and labels. */
interface ValueAxis {
  readonly format: FieldFormat;
  readonly min: number;
  readonly max: number;
  readonly ticks: readonly number[];
  readonly labels: readonly string[];
  readonly width: number;
}

function valueAxis(
  doc: Doc,
  series: readonly Series[],
  format: FieldFormat,
  tickCount: number,
): ValueAxis | undefined {
  const range = valueRange(series, format);
  if (range === undefined) return undefined;
  // Headroom so a line at the data's extreme is not drawn on the plot border (unless the field fixes it).
  const pad = (range.max - range.min) * 0.05;
  const ticks = niceTicks(
    format.min === undefined && range.min !== 0 ? range.min - pad : range.min,
    format.max === undefined ? range.max + pad : range.max,
    tickCount,
  );
  const min = format.min ?? ticks[0] ?? range.min;
  const max = format.max ?? ticks.at(-1) ?? range.max;
  const shown = ticks.filter((tick) => tick >= min - 1e-12 && tick <= max + 1e-12);
  const labels = formatTicks(shown, format.unit, format.decimals);
  doc.font(FONT_REGULAR).fontSize(6);
  const width = Math.max(...labels.map((label) => doc.widthOfString(label)), 10) + 4;
  return { format, min, max, ticks: shown, labels, width };
}

/**
 * A line chart of the series over the report window. Series whose own format has another unit than
 * the panel's (memory in bytes beside CPU in %) get a right axis, as Grafana's overrides place them.
 */
function drawTimeseries(
  doc: Doc,
  series: readonly Series[],
  format: FieldFormat,
  box: Box,
  window: ReportWindow,
): void {
  const rightFormat = series.find(
    (entry) => entry.format !== undefined && entry.format.unit !== format.unit,
  )?.format;
  const onRight = (entry: Series): boolean =>
    rightFormat !== undefined && entry.format?.unit === rightFormat.unit;
  const tickCount = box.h > 110 ? 5 : 3;
  const left = valueAxis(
    doc,
    series.filter((entry) => !onRight(entry)),
    format,
    tickCount,
  );
  const right =
    rightFormat === undefined ? undefined : valueAxis(doc, series.filter(onRight), rightFormat, tickCount);
  if (left === undefined && right === undefined) {
    noData(doc, box);
    return;
  }
  const legendHeight = series.length > 0 ? drawLegend(doc, series, box, box.h > 120 ? 3 : 2) : 0;
  const leftWidth = left?.width ?? 4;
  const rightWidth = right?.width ?? 2;
  const plot = {
    x: box.x + leftWidth,
    y: box.y + 3,
    w: box.w - leftWidth - rightWidth,
    h: box.h - legendHeight - 14,
  };
  if (plot.h < 10 || plot.w < 20) {
    noData(doc, box);
    return;
  }
  const from = window.from.getTime() / 1000;
  const to = window.to.getTime() / 1000;
  const xOf = (at: number): number => plot.x + ((at - from) / Math.max(1, to - from)) * plot.w;
  const yOf =
    (axis: ValueAxis) =>
    (value: number): number =>
      plot.y + plot.h - ((value - axis.min) / (axis.max - axis.min || 1)) * plot.h;

  // Grid and axes: the grid follows the left axis (the right one when there is no left series).
  for (const [axis, side] of [
    [left, 'left'],
    [right, 'right'],
  ] as const) {
    if (axis === undefined) continue;
    const y = yOf(axis);
    axis.ticks.forEach((tick, index) => {
      if (side === 'left' || left === undefined) {
        doc
          .moveTo(plot.x, y(tick))
          .lineTo(plot.x + plot.w, y(tick))
          .lineWidth(0.3)
          .strokeColor('#E4E6EA')
          .stroke();
      }
      const x = side === 'left' ? box.x : plot.x + plot.w + 3;
      line(doc, axis.labels[index] ?? '', x, y(tick) - 3, axis.width - 3, {
        size: 6,
        color: MUTED_COLOR,
        align: side === 'left' ? 'right' : 'left',
      });
    });
  }
  for (const tick of timeTicks(from, to, Math.max(2, Math.floor(plot.w / 40)))) {
    const x = xOf(tick.at);
    doc
      .moveTo(x, plot.y + plot.h)
      .lineTo(x, plot.y + plot.h + 2)
      .lineWidth(0.5)
      .strokeColor(MUTED_COLOR)
      .stroke();
    line(doc, tick.label, x - 25, plot.y + plot.h + 3, 50, { size: 6, color: MUTED_COLOR, align: 'center' });
  }
  doc.rect(plot.x, plot.y, plot.w, plot.h).lineWidth(0.5).strokeColor(BORDER_COLOR).stroke();

  doc.save();
  doc.rect(plot.x, plot.y, plot.w, plot.h).clip();
  // Threshold lines: where a step begins, in its colour (a transparent base step draws nothing).
  if (left !== undefined) {
    for (const step of format.thresholds ?? []) {
      const color = grafanaColor(step.color);
      if (step.value === null || color === null || step.value < left.min || step.value > left.max) continue;
      const y = yOf(left)(step.value);
      doc
        .moveTo(plot.x, y)
        .lineTo(plot.x + plot.w, y)
        .dash(3, { space: 2 })
        .lineWidth(0.8)
        .strokeColor(color)
        .stroke();
      doc.undash();
    }
  }
  series.forEach((entry, index) => {
    const axis = onRight(entry) ? right : left;
    if (axis === undefined) return;
    const y = yOf(axis);
    let drawing = false;
    for (const [at, value] of entry.points) {
      if (!Number.isFinite(value)) {
        drawing = false;
        continue;
      }
      if (drawing) doc.lineTo(xOf(at), y(value));
      else doc.moveTo(xOf(at), y(value));
      drawing = true;
    }
    doc.lineWidth(0.9).lineJoin('round').strokeColor(seriesColor(index)).stroke();
    // A series of one point draws no line: mark it.
    const finite = entry.points.filter(([, value]) => Number.isFinite(value));
    const only = finite.length === 1 ? finite[0] : undefined;
    if (only !== undefined) doc.circle(xOf(only[0]), y(only[1]), 1.5).fill(seriesColor(index));
  });
  doc.restore();
}

/** Fits a value's text into a cell: the largest size up to `maxSize` whose width fits. */
function bigValue(doc: Doc, text: string, box: Box, maxSize: number, color: string): void {
  doc.font(FONT_BOLD);
  let size = maxSize;
  while (size > 6 && doc.fontSize(size).widthOfString(text) > box.w - 4) size -= 1;
  line(doc, text, box.x, box.y + (box.h - size) / 2, box.w, { size, bold: true, color, align: 'center' });
}

type Values = readonly PanelValue[];

/** A value's text and colour: its value mapping's, else the number in its format coloured by thresholds. */
function valueLook(
  entry: PanelValue,
  panelFormat: FieldFormat,
  fallbackColor: string,
): { text: string; color: string } {
  const format = entry.format ?? panelFormat;
  const text =
    entry.text ??
    formatValue(entry.value, format.unit, format.decimals === undefined ? {} : { decimals: format.decimals });
  const mappedColor = entry.color === undefined ? null : grafanaColor(entry.color);
  return { text, color: mappedColor ?? thresholdColor(entry.value, format.thresholds, fallbackColor) };
}

/** Cells for n values in a box: as many columns as fit, the rest below. */
function cells(count: number, box: Box, minWidth: number): Box[] {
  const columns = Math.max(1, Math.min(count, Math.floor(box.w / minWidth)));
  const rows = Math.ceil(count / columns);
  const w = box.w / columns;
  const h = box.h / rows;
  return Array.from({ length: count }, (_, index) => ({
    x: box.x + (index % columns) * w,
    y: box.y + Math.floor(index / columns) * h,
    w,
    h,
  }));
}

/** Values beyond what a box can show legibly are counted, not drawn. */
function shownValues(
  values: Values,
  box: Box,
  minHeight: number,
  minWidth: number,
): { shown: Values; hidden: number } {
  const columns = Math.max(1, Math.floor(box.w / minWidth));
  const rows = Math.max(1, Math.floor(box.h / minHeight));
  const capacity = columns * rows;
  if (values.length <= capacity) return { shown: values, hidden: 0 };
  return { shown: values.slice(0, capacity - 1), hidden: values.length - capacity + 1 };
}

function drawStat(doc: Doc, values: Values, format: FieldFormat, box: Box): void {
  if (values.length === 0) {
    noData(doc, box);
    return;
  }
  const { shown, hidden } = shownValues(values, box, 26, 70);
  const areas = cells(shown.length + (hidden > 0 ? 1 : 0), box, 70);
  shown.forEach((entry, index) => {
    const area = areas[index];
    if (area === undefined) return;
    const nameHeight = shown.length > 1 || entry.name !== '' ? 8 : 0;
    const { text, color } = valueLook(entry, format, TEXT_COLOR);
    bigValue(
      doc,
      text,
      { ...area, h: area.h - nameHeight },
      Math.min(22, (area.h - nameHeight) * 0.6),
      color,
    );
    if (nameHeight > 0) {
      line(doc, entry.name, area.x, area.y + area.h - nameHeight, area.w, {
        size: 6,
        color: MUTED_COLOR,
        align: 'center',
      });
    }
  });
  const rest = areas[shown.length];
  if (hidden > 0 && rest !== undefined) {
    line(doc, `+${hidden} more`, rest.x, rest.y + rest.h / 2 - 4, rest.w, {
      size: 7,
      color: MUTED_COLOR,
      align: 'center',
    });
  }
}

/** min and max of a gauge: the field's, else 0..1 for ratios, 0..100 for percent, else the data's. */
function gaugeBounds(values: Values, format: FieldFormat): { min: number; max: number } {
  const finite = values
    .map((entry) => entry.value)
    .filter((value): value is number => value !== null && Number.isFinite(value));
  const defaultMax =
    format.unit === 'percentunit' ? 1 : format.unit === 'percent' ? 100 : Math.max(0, ...finite);
  const min = format.min ?? Math.min(0, ...finite);
  const max = format.max ?? defaultMax;
  return { min, max: max > min ? max : min + 1 };
}

function arcPath(cx: number, cy: number, r: number, fromFraction: number, toFraction: number): string {
  const point = (fraction: number): [number, number] => {
    const angle = Math.PI - fraction * Math.PI;
    return [cx + r * Math.cos(angle), cy - r * Math.sin(angle)];
  };
  const [x1, y1] = point(fromFraction);
  const [x2, y2] = point(toFraction);
  return `M ${x1.toFixed(2)} ${y1.toFixed(2)} A ${r.toFixed(2)} ${r.toFixed(2)} 0 0 1 ${x2.toFixed(2)} ${y2.toFixed(2)}`;
}

function drawGauges(doc: Doc, values: Values, format: FieldFormat, box: Box): void {
  if (values.length === 0) {
    noData(doc, box);
    return;
  }
  const bounds = gaugeBounds(values, format);
  const { shown, hidden } = shownValues(values, box, 40, 70);
  const areas = cells(shown.length, box, 70);
  shown.forEach((entry, index) => {
    const area = areas[index];
    if (area === undefined) return;
    const nameHeight = shown.length > 1 || entry.name !== '' ? 8 : 0;
    const radius = Math.max(5, Math.min(area.w / 2 - 6, area.h - nameHeight - 8));
    const thickness = Math.max(3, radius * 0.22);
    const cx = area.x + area.w / 2;
    const cy = area.y + (area.h - nameHeight) / 2 + radius / 2;
    const r = radius - thickness / 2;
    doc
      .path(arcPath(cx, cy, r, 0, 1))
      .lineWidth(thickness)
      .strokeColor('#E4E6EA')
      .stroke();
    const { text, color } = valueLook(entry, format, '#56A64B');
    if (entry.value !== null && Number.isFinite(entry.value)) {
      const fraction = Math.max(0, Math.min(1, (entry.value - bounds.min) / (bounds.max - bounds.min)));
      if (fraction > 0.001)
        doc
          .path(arcPath(cx, cy, r, 0, fraction))
          .lineWidth(thickness)
          .strokeColor(color)
          .stroke();
    }
    bigValue(
      doc,
      text,
      { x: cx - r + thickness, y: cy - r * 0.55, w: 2 * (r - thickness), h: r * 0.55 },
      Math.min(16, r * 0.45),
      color,
    );
    if (nameHeight > 0)
      line(doc, entry.name, area.x, area.y + area.h - nameHeight, area.w, {
        size: 6,
        color: MUTED_COLOR,
        align: 'center',
      });
  });
  if (hidden > 0)
    line(doc, `+${hidden} more`, box.x, box.y + box.h - 7, box.w, {
      size: 6,
      color: MUTED_COLOR,
      align: 'right',
    });
}

function drawBarGauge(doc: Doc, values: Values, format: FieldFormat, box: Box): void {
  if (values.length === 0) {
    noData(doc, box);
    return;
  }
  const bounds = gaugeBounds(values, format);
  const rowHeight = Math.max(10, Math.min(22, box.h / values.length));
  const fits = Math.max(1, Math.floor(box.h / rowHeight));
  const shown = values.length > fits ? values.slice(0, fits - 1) : values;
  const nameWidth = box.w * 0.32;
  const valueWidth = Math.min(60, box.w * 0.2);
  shown.forEach((entry, index) => {
    const y = box.y + index * rowHeight;
    const barX = box.x + nameWidth + 4;
    const barW = box.w - nameWidth - valueWidth - 8;
    const barH = rowHeight * 0.6;
    line(doc, entry.name, box.x, y + (rowHeight - 6) / 2, nameWidth, {
      size: 6,
      color: TEXT_COLOR,
      align: 'right',
    });
    doc.rect(barX, y + (rowHeight - barH) / 2, barW, barH).fill('#EEF0F3');
    const { text, color } = valueLook(entry, format, '#56A64B');
    if (entry.value !== null && Number.isFinite(entry.value)) {
      const fraction = Math.max(0, Math.min(1, (entry.value - bounds.min) / (bounds.max - bounds.min)));
      if (fraction > 0) doc.rect(barX, y + (rowHeight - barH) / 2, barW * fraction, barH).fill(color);
    }
    line(doc, text, box.x + box.w - valueWidth, y + (rowHeight - 7) / 2, valueWidth, {
      size: 7,
      bold: true,
      color,
      align: 'right',
    });
  });
  if (shown.length < values.length) {
    line(doc, `+${values.length - shown.length} more`, box.x, box.y + shown.length * rowHeight + 2, box.w, {
      size: 6,
      color: MUTED_COLOR,
      align: 'right',
    });
  }
}

/** A table cell's text: numbers in the panel's unit. */
export function tableCellText(value: string | number | null, format: FieldFormat): string {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  return formatValue(value, format.unit, format.decimals === undefined ? {} : { decimals: format.decimals });
}

function drawInlineTable(
  doc: Doc,
  content: Extract<PanelContent, { kind: 'table' }>,
  box: Box,
  appendixLabel: string | undefined,
): void {
  if (content.rows.length === 0) {
    noData(doc, box);
    return;
  }
  const noteHeight = 9;
  const { rowsDrawn } = drawTable(
    doc,
    content.columns.map((header) => ({ header, weight: 1 })),
    content.rows.map((row) => row.map((value) => ({ text: tableCellText(value, content.format) }))),
    box.y,
    { x: box.x, width: box.w, fontSize: 6, bottom: box.y + box.h - noteHeight },
  );
  const note =
    rowsDrawn < content.rows.length
      ? `${rowsDrawn} of ${content.rows.length} rows shown; all rows in appendix ${appendixLabel ?? ''}`
      : `${content.rows.length} rows; also in appendix ${appendixLabel ?? ''}`;
  line(doc, note.trim(), box.x, box.y + box.h - noteHeight + 2, box.w, { size: 6, color: MUTED_COLOR });
}

function drawLink(doc: Doc, url: string, note: string, box: Box): void {
  line(doc, note, box.x, box.y + 4, box.w, { size: 7.5, color: TEXT_COLOR });
  const link = safeLink(url);
  doc
    .font(FONT_REGULAR)
    .fontSize(6.5)
    .fillColor(link === undefined ? MUTED_COLOR : '#1F60C4');
  // The URL wraps over a few lines rather than being cut: it is what the reader copies.
  doc.text(url.slice(0, 600), box.x, box.y + 16, {
    width: box.w,
    height: Math.min(4 * 8, Math.max(8, box.h - 18)),
    ellipsis: true,
    ...(link === undefined ? {} : { link }),
  });
}

function drawFailure(doc: Doc, reason: string, box: Box): void {
  doc.rect(box.x, box.y, box.w, box.h).lineWidth(1).dash(4, { space: 2 }).strokeColor(WARNING_COLOR).stroke();
  doc.undash();
  line(doc, 'Not rendered', box.x + 6, box.y + 6, box.w - 12, { size: 8, bold: true, color: WARNING_COLOR });
  doc.font(FONT_REGULAR).fontSize(7).fillColor(TEXT_COLOR);
  doc.text(reason.replace(/\s+/g, ' ').slice(0, 500), box.x + 6, box.y + 18, {
    width: box.w - 12,
    height: Math.max(8, box.h - 22),
    ellipsis: true,
  });
}
