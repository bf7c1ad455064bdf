/** The solo panel view's URL and size, and the size of the picture taken of it (pure). */
import type { ReportWindow } from '../model.js';
import type { GridPos } from './plan.js';

/** Grafana's grid: rows of 30 px with 8 px between them. */
const GRID_ROW_HEIGHT_PX = 30;
const GRID_ROW_MARGIN_PX = 8;

/** The panel's size in CSS pixels on a dashboard whose columns are `columnWidthPx` wide. */
export function panelSize(gridPos: GridPos, columnWidthPx: number): { widthPx: number; heightPx: number } {
  return {
    widthPx: Math.round(gridPos.w * columnWidthPx),
    heightPx: gridPos.h * GRID_ROW_HEIGHT_PX + (gridPos.h - 1) * GRID_ROW_MARGIN_PX,
  };
}

export interface SoloPanelRequest {
  readonly grafanaUrl: string;
  readonly uid: string;
  readonly slug: string;
  readonly panelId: number;
  readonly window: ReportWindow;
  readonly widthPx: number;
  readonly heightPx: number;
  readonly theme: 'light' | 'dark';
  readonly variables: Readonly<Record<string, string>>;
}

/** /d-solo/<uid>/<slug>?panelId&from&to&width&height&theme&var-*, as Grafana hands it to its image renderer. */
export function soloPanelUrl(request: SoloPanelRequest): string {
  const params = new URLSearchParams({
    orgId: '1',
    panelId: String(request.panelId),
    from: String(request.window.from.getTime()),
    to: String(request.window.to.getTime()),
    width: String(request.widthPx),
    height: String(request.heightPx),
    theme: request.theme,
  });
  for (const [name, value] of Object.entries(request.variables)) params.append(`var-${name}`, value);
  const slug = request.slug === '' ? '_' : request.slug;
  return `${request.grafanaUrl}/d-solo/${encodeURIComponent(request.uid)}/${encodeURIComponent(slug)}?${params}`;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Width and height from a PNG's header (the IHDR chunk that must come first). */
export function pngDimensions(png: Uint8Array): { width: number; height: number } {
  const bytes = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  if (
    bytes.length < 24 ||
    !bytes.subarray(0, 8).equals(PNG_SIGNATURE) ||
    bytes.toString('latin1', 12, 16) !== 'IHDR'
  ) {
    throw new Error('not a PNG image');
  }
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}
