/**
 * Drawing primitives shared by the report's pages: text cut to a width, and tables that continue on
 * the next page with their header repeated.
 */
import { CONTENT_AREA, type PageArea } from './layout.js';

export type Doc = PDFKit.PDFDocument;

export const FONT_REGULAR = 'report-regular';
export const FONT_BOLD = 'report-bold';
export const TEXT_COLOR = '#202226';
export const MUTED_COLOR = '#6E7079';
export const BORDER_COLOR = '#D0D3D9';
export const WARNING_COLOR = '#C4570A';

/** Longest text drawn from one value: labels and titles come from outside and may be anything. */
const MAX_TEXT = 300;

/** `text` shortened with "…" so that it fits `width` at the current font and size. */
export function fitToWidth(doc: Doc, text: string, width: number): string {
  const flat = text.replace(/\s+/g, ' ').slice(0, MAX_TEXT);
  if (doc.widthOfString(flat) <= width) return flat;
  let low = 0;
  let high = flat.length;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (doc.widthOfString(`${flat.slice(0, middle)}…`) <= width) low = middle;
    else high = middle - 1;
  }
  return low === 0 ? '' : `${flat.slice(0, low)}…`;
}

/** One line of text at (x, y), cut to `width`. */
export function line(
  doc: Doc,
  text: string,
  x: number,
  y: number,
  width: number,
  options: {
    readonly size: number;
    readonly bold?: boolean;
    readonly color?: string;
    readonly align?: 'left' | 'center' | 'right';
    readonly link?: string;
  },
): void {
  doc
    .font(options.bold ? FONT_BOLD : FONT_REGULAR)
    .fontSize(options.size)
    .fillColor(options.color ?? TEXT_COLOR);
  const shown = fitToWidth(doc, text, width);
  doc.text(shown, x, y, {
    width,
    lineBreak: false,
    align: options.align ?? 'left',
    ...(options.link === undefined ? {} : { link: options.link, underline: false }),
  });
}

export interface TableColumn {
  readonly header: string;
  /** Share of the table width. */
  readonly weight: number;
  readonly align?: 'left' | 'right';
}

export interface TableCell {
  readonly text: string;
  readonly color?: string;
  readonly bold?: boolean;
  readonly link?: string;
}

export interface TableOptions {
  readonly x: number;
  readonly width: number;
  readonly fontSize: number;
  /** Draw at most this many rows (the rest are left to the appendix). @default all */
  readonly maxRows?: number;
  /** Start a new page when the rows reach the bottom. @default false: stop at `bottom` */
  readonly continueOnNewPage?: boolean;
  readonly area?: PageArea;
  readonly bottom?: number;
}

/** Draws a table from `y`; returns where it ended and how many rows it drew. */
export function drawTable(
  doc: Doc,
  columns: readonly TableColumn[],
  rows: readonly (readonly TableCell[])[],
  y: number,
  options: TableOptions,
): { endY: number; rowsDrawn: number } {
  const area = options.area ?? CONTENT_AREA;
  const bottom = options.bottom ?? area.bottom;
  const rowHeight = options.fontSize * 1.6;
  const totalWeight = columns.reduce((sum, column) => sum + column.weight, 0) || 1;
  const widths = columns.map((column) => (column.weight / totalWeight) * options.width);
  const padding = 3;
  let cursor = y;

  const header = (): void => {
    doc.rect(options.x, cursor, options.width, rowHeight).fill('#EEF0F3');
    let x = options.x;
    columns.forEach((column, index) => {
      const width = widths[index] ?? 0;
      line(doc, column.header, x + padding, cursor + options.fontSize * 0.35, width - 2 * padding, {
        size: options.fontSize,
        bold: true,
        align: column.align ?? 'left',
      });
      x += width;
    });
    cursor += rowHeight;
  };

  header();
  const limit = Math.min(rows.length, options.maxRows ?? rows.length);
  let drawn = 0;
  for (; drawn < limit; drawn += 1) {
    if (cursor + rowHeight > bottom) {
      if (!options.continueOnNewPage) break;
      doc.addPage();
      cursor = area.top;
      header();
    }
    const row = rows[drawn] ?? [];
    if (drawn % 2 === 1) doc.rect(options.x, cursor, options.width, rowHeight).fill('#F7F8FA');
    let x = options.x;
    columns.forEach((column, index) => {
      const width = widths[index] ?? 0;
      const cell = row[index];
      if (cell !== undefined && cell.text !== '') {
        line(doc, cell.text, x + padding, cursor + options.fontSize * 0.35, width - 2 * padding, {
          size: options.fontSize,
          align: column.align ?? 'left',
          ...(cell.bold ? { bold: true } : {}),
          ...(cell.color === undefined ? {} : { color: cell.color }),
          ...(cell.link === undefined ? {} : { link: cell.link }),
        });
      }
      x += width;
    });
    cursor += rowHeight;
  }
  doc
    .moveTo(options.x, cursor)
    .lineTo(options.x + options.width, cursor)
    .lineWidth(0.5)
    .strokeColor(BORDER_COLOR)
    .stroke();
  return { endY: cursor, rowsDrawn: drawn };
}

/** A URL a reader may click: http(s) only and of bounded length; anything else is shown, not linked. */
export function safeLink(url: string | undefined): string | undefined {
  if (url === undefined || url.length > 4000) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.toString() : undefined;
  } catch {
    return undefined;
  }
}
