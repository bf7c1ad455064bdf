import { describe, expect, it } from 'vitest';
import {
  CONTENT_AREA,
  gridScale,
  PANEL_GAP,
  placePanels,
} from '../../../functions/weekly-report/pdf/layout.js';
import { timeTicks } from '../../../functions/weekly-report/pdf/time-axis.js';

describe('Report page layout', () => {
  const scale = gridScale(CONTENT_AREA);

  it('keeps the panels of a row where the grid puts them, scaled to the page width', () => {
    const { boxes } = placePanels(
      [
        { x: 0, y: 1, w: 12, h: 8 },
        { x: 12, y: 1, w: 12, h: 8 },
        { x: 0, y: 9, w: 24, h: 4 },
      ],
      CONTENT_AREA,
      100,
    );
    expect(boxes.map((box) => box.newPage)).toEqual([false, false, false]);
    expect(boxes[1]?.x).toBeCloseTo(CONTENT_AREA.left + 12 * scale.column);
    expect(boxes[2]?.y).toBeCloseTo(100 + 8 * scale.row);
    expect(boxes[2]?.w).toBeCloseTo(CONTENT_AREA.width - PANEL_GAP);
  });

  it('starts a new page for a panel that would cross the bottom, placing the next ones relative to it', () => {
    const { boxes, endY } = placePanels(
      [
        { x: 0, y: 0, w: 24, h: 8 },
        { x: 0, y: 8, w: 12, h: 8 },
        { x: 12, y: 8, w: 12, h: 8 },
        { x: 0, y: 16, w: 24, h: 8 },
      ],
      CONTENT_AREA,
      CONTENT_AREA.bottom - 10 * scale.row,
    );
    expect(boxes.map((box) => box.newPage)).toEqual([false, true, false, false]);
    expect(boxes[1]?.y).toBe(CONTENT_AREA.top);
    expect(boxes[2]?.y).toBe(CONTENT_AREA.top);
    expect(boxes[3]?.y).toBeCloseTo(CONTENT_AREA.top + 8 * scale.row);
    expect(endY).toBeCloseTo(CONTENT_AREA.top + 16 * scale.row);
  });

  it('cuts a panel taller than a page to the page', () => {
    const { boxes } = placePanels([{ x: 0, y: 0, w: 24, h: 80 }], CONTENT_AREA, CONTENT_AREA.top);
    expect(boxes[0]?.h).toBeCloseTo(CONTENT_AREA.bottom - CONTENT_AREA.top - PANEL_GAP);
  });

  it('labels a week by day and an hour by minute on the time axis', () => {
    const monday = Date.parse('2026-11-30T00:00:00Z') / 1000;
    expect(timeTicks(monday, monday + 7 * 86_400).map((tick) => tick.label)).toEqual([
      '11-30',
      '12-01',
      '12-02',
      '12-03',
      '12-04',
      '12-05',
      '12-06',
      '12-07',
    ]);
    expect(timeTicks(monday + 3600, monday + 7200, 2).map((tick) => tick.label)).toEqual([
      '01:00',
      '01:30',
      '02:00',
    ]);
  });
});
