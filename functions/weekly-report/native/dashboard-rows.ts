/**
 * A dashboard's panels as the report shows them: grouped under their rows (collapsed rows expanded),
 * repeated panels and rows repeated once per value of their variable, each copy with that value. Pure.
 */
import type { PanelJson } from './dashboard-json.js';
import type { ResolvedVariable } from './variables.js';

export interface GridPos {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

export interface PlannedPanel {
  readonly panel: PanelJson;
  readonly gridPos: GridPos;
  /** Variables set by a repeat (one value each), over the dashboard's own. */
  readonly overrides: Readonly<Record<string, ResolvedVariable>>;
}

export interface PlannedRow {
  readonly title: string | null;
  readonly overrides: Readonly<Record<string, ResolvedVariable>>;
  readonly panels: readonly PlannedPanel[];
}

/** More copies than this of one repeated panel are not drawn: a report page cannot hold them. */
export const MAX_REPEATS = 24;

function gridOf(panel: PanelJson): GridPos {
  return {
    x: panel.gridPos?.x ?? 0,
    y: panel.gridPos?.y ?? 0,
    w: panel.gridPos?.w ?? 12,
    h: panel.gridPos?.h ?? 8,
  };
}

function single(value: string): ResolvedVariable {
  return { value, text: value, values: [value] };
}

function repeatValues(
  name: string | undefined,
  variables: ReadonlyMap<string, ResolvedVariable>,
): string[] | undefined {
  if (name === undefined || name === '') return undefined;
  const values = variables.get(name)?.values ?? [];
  return values.length === 0 ? undefined : values.slice(0, MAX_REPEATS);
}

/** One copy per value of the panel's repeat variable, laid out as Grafana does (h: side by side, v: stacked). */
function expandPanel(
  panel: PanelJson,
  variables: ReadonlyMap<string, ResolvedVariable>,
  overrides: Readonly<Record<string, ResolvedVariable>>,
): PlannedPanel[] {
  const grid = gridOf(panel);
  const values = repeatValues(panel.repeat, variables);
  if (values === undefined || panel.repeat === undefined) return [{ panel, gridPos: grid, overrides }];
  const name = panel.repeat;
  if (panel.repeatDirection === 'v') {
    return values.map((value, index) => ({
      panel,
      gridPos: { ...grid, y: grid.y + index * grid.h },
      overrides: { ...overrides, [name]: single(value) },
    }));
  }
  const perRow = Math.max(1, Math.min(values.length, panel.maxPerRow ?? values.length));
  const width = Math.max(1, Math.floor(24 / perRow));
  return values.map((value, index) => ({
    panel,
    gridPos: {
      x: (index % perRow) * width,
      y: grid.y + Math.floor(index / perRow) * grid.h,
      w: width,
      h: grid.h,
    },
    overrides: { ...overrides, [name]: single(value) },
  }));
}

/** The rows of a dashboard with their panels; panels above the first row go in a row without title. */
export function planRows(
  panels: readonly PanelJson[],
  variables: ReadonlyMap<string, ResolvedVariable>,
): PlannedRow[] {
  const groups: { row: PanelJson | null; children: PanelJson[] }[] = [];
  let current: { row: PanelJson | null; children: PanelJson[] } = { row: null, children: [] };
  for (const panel of panels) {
    if (panel.type === 'row') {
      if (current.row !== null || current.children.length > 0) groups.push(current);
      // A collapsed row keeps its panels inside itself; an open one is followed by them.
      current = { row: panel, children: panel.collapsed ? [...(panel.panels ?? [])] : [] };
    } else {
      current.children.push(panel);
    }
  }
  if (current.row !== null || current.children.length > 0) groups.push(current);

  const rows: PlannedRow[] = [];
  for (const group of groups) {
    const copies = repeatValues(group.row?.repeat, variables);
    const rowOverrides: Record<string, ResolvedVariable>[] =
      copies === undefined || group.row?.repeat === undefined
        ? [{}]
        : copies.map((value) => ({ [group.row?.repeat ?? '']: single(value) }));
    for (const overrides of rowOverrides) {
      rows.push({
        title: group.row === null ? null : (group.row.title ?? ''),
        overrides,
        panels: group.children.flatMap((panel) => expandPanel(panel, variables, overrides)),
      });
    }
  }
  return rows;
}
