/**
 * Page geometry and the placement of a dashboard row's panels on pages, following their gridPos (24
 * columns wide) scaled to the page. Pure: the assembly draws where this says.
 */

/** A4 landscape in PDF points. */
export const PAGE_WIDTH = 841.89;
export const PAGE_HEIGHT = 595.28;
export const MARGIN = 32;
/** Room kept at the bottom of every page for the footer. */
export const FOOTER_HEIGHT = 18;

export interface PageArea {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly bottom: number;
}

export const CONTENT_AREA: PageArea = {
  left: MARGIN,
  top: MARGIN,
  width: PAGE_WIDTH - 2 * MARGIN,
  bottom: PAGE_HEIGHT - MARGIN - FOOTER_HEIGHT,
};

export interface GridPos {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

export interface PanelBox {
  /** Start a new page before drawing this panel. */
  readonly newPage: boolean;
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

/** Space between panels, in points. */
export const PANEL_GAP = 6;

/** Points per grid unit: Grafana's grid rows are 30 px for columns of about 60 px, so half a column. */
export function gridScale(area: PageArea): { column: number; row: number } {
  const column = area.width / 24;
  return { column, row: column * 0.5 };
}

/**
 * Where each panel goes, in the order given (sort by y, then x, first). Panels keep their relative
 * positions; a panel that would cross the page bottom starts a new page, and the panels after it are
 * placed relative to it there. A panel taller than a page is cut to the page.
 */
export function placePanels(
  panels: readonly GridPos[],
  area: PageArea,
  startY: number,
): { boxes: PanelBox[]; endY: number } {
  const scale = gridScale(area);
  const boxes: PanelBox[] = [];
  let originRow = panels[0]?.y ?? 0;
  let base = startY;
  let endY = startY;
  for (const panel of panels) {
    const w = Math.max(1, Math.min(24, panel.w)) * scale.column - PANEL_GAP;
    const h = Math.min(Math.max(1, panel.h) * scale.row, area.bottom - area.top) - PANEL_GAP;
    const x = area.left + Math.max(0, Math.min(23, panel.x)) * scale.column;
    let y = base + Math.max(0, panel.y - originRow) * scale.row;
    let newPage = false;
    if (y + h > area.bottom + 0.01) {
      newPage = true;
      originRow = panel.y;
      base = area.top;
      y = area.top;
      endY = area.top;
    }
    boxes.push({ newPage, x, y, w, h });
    endY = Math.max(endY, y + h + PANEL_GAP);
  }
  return { boxes, endY };
}

/** Panels in reading order: by grid row, then column. */
export function readingOrder<T extends { readonly gridPos: GridPos }>(panels: readonly T[]): T[] {
  return [...panels].sort((a, b) => a.gridPos.y - b.gridPos.y || a.gridPos.x - b.gridPos.x);
}
