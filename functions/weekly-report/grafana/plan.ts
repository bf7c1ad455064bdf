/**
 * What to render of a Grafana dashboard, read from its JSON model (pure: no I/O).
 *
 * - Rows become sections. A collapsed row keeps its panels nested in its own `panels`; an expanded row is
 *   followed by its panels at the top level. Both are rendered: the report shows everything.
 * - A panel (or row) with `repeat: <variable>` is rendered once per value of that variable, each repetition
 *   through the same panel id with `var-<variable>=<value>`, as Grafana's image renderer is given it. The values
 *   come from the model: the variable's current value, or all its options when "All" is selected (a custom
 *   variable's options are its comma-separated query). A query variable saved without options cannot be
 *   resolved here: the renderer reads its values from the dashboard page as Grafana resolved them (`resolved`);
 *   failing that, its panel is rendered once, with Grafana's default value.
 */

export interface GridPos {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

/** One panel picture to take. */
export interface PanelJob {
  readonly panelId: number;
  /** The title with the repetition's variable values put in. */
  readonly title: string;
  readonly description?: string;
  readonly gridPos: GridPos;
  /** `var-<name>` parameters of this repetition (empty when the panel does not repeat). */
  readonly variables: Readonly<Record<string, string>>;
  /** Not to be rendered: shown as a box with this reason (repetitions beyond the limit). */
  readonly skipped?: string;
}

export interface DashboardPlan {
  readonly uid: string;
  readonly title: string;
  readonly rows: readonly { readonly title: string | null; readonly panels: readonly PanelJob[] }[];
  /** Repeat variables whose values could not be read from the model (their panels are rendered once). */
  readonly unresolvedVariables: readonly string[];
}

const GRID_COLUMNS = 24;
/** A variable with thousands of values would make thousands of pictures: a report shows this many. */
export const MAX_REPETITIONS = 50;
const MAX_TITLE_VALUES_CHARS = 200;
const DEFAULT_MAX_PER_ROW = 4;
const ALL_VALUE = '$__all';

type Json = Readonly<Record<string, unknown>>;

/** Reads the dashboard model (the `dashboard` of GET /api/dashboards/uid/:uid) into the panels to render. */
export function planDashboard(
  model: Json,
  /** Variable values Grafana resolved in the browser; they win over the saved model's. */
  resolved: Readonly<Record<string, readonly string[]>> = {},
): DashboardPlan {
  const uid = typeof model.uid === 'string' ? model.uid : '';
  const title = typeof model.title === 'string' && model.title !== '' ? model.title : uid;
  const variables = readVariables(model);
  for (const [name, values] of Object.entries(resolved)) {
    if (values.length > 0) variables.set(name, [...new Set(values)]);
  }
  // Titles of panels that do not repeat still show the variables' current values, as in Grafana.
  const defaults = Object.fromEntries(
    [...variables]
      .filter(([, values]) => values.length > 0)
      .map(([name, values]) => [name, shorten(values.join(' + '), MAX_TITLE_VALUES_CHARS)]),
  );
  const unresolved = new Set<string>();
  const valuesOf = (name: string): string[] | undefined => {
    const values = variables.get(name);
    if (values === undefined || values.length === 0) {
      unresolved.add(name);
      return undefined;
    }
    return values;
  };

  const rows: { title: string | null; panels: PanelJob[] }[] = [];
  let current: { title: string | null; panels: PanelJob[] } = { title: null, panels: [] };
  const topLevel = asPanels(model.panels);

  const addPanels = (
    target: { panels: PanelJob[] },
    panels: readonly Json[],
    rowVariables: Readonly<Record<string, string>>,
  ) => {
    for (const panel of panels) {
      target.panels.push(...repeatPanel(panel, rowVariables, defaults, valuesOf));
    }
  };

  for (let index = 0; index < topLevel.length; index++) {
    const panel = topLevel[index] as Json;
    if (panel.type !== 'row') {
      current.panels.push(...repeatPanel(panel, {}, defaults, valuesOf));
      continue;
    }
    if (current.title !== null || current.panels.length > 0) rows.push(current);
    // An expanded row owns the top-level panels up to the next row; a collapsed one keeps them nested.
    const owned: Json[] = [...asPanels(panel.panels)];
    while (index + 1 < topLevel.length && (topLevel[index + 1] as Json).type !== 'row') {
      owned.push(topLevel[++index] as Json);
    }
    const rowTitle = typeof panel.title === 'string' ? panel.title : '';
    const repeat = typeof panel.repeat === 'string' && panel.repeat !== '' ? panel.repeat : undefined;
    const values = repeat === undefined ? undefined : valuesOf(repeat);
    if (repeat === undefined || values === undefined) {
      current = { title: interpolate(rowTitle, defaults), panels: [] };
      addPanels(current, owned, {});
      continue;
    }
    const kept = values.slice(0, MAX_REPETITIONS);
    kept.forEach((value, repetition) => {
      const rowVariables = { [repeat]: value };
      const section = {
        title: interpolate(rowTitle, { ...defaults, ...rowVariables }),
        panels: [] as PanelJob[],
      };
      addPanels(section, owned, rowVariables);
      if (repetition < kept.length - 1) rows.push(section);
      else current = section;
    });
  }
  if (current.title !== null || current.panels.length > 0) rows.push(current);
  return { uid, title, rows, unresolvedVariables: [...unresolved] };
}

function repeatPanel(
  panel: Json,
  rowVariables: Readonly<Record<string, string>>,
  defaults: Readonly<Record<string, string>>,
  valuesOf: (name: string) => string[] | undefined,
): PanelJob[] {
  const id = panel.id;
  if (typeof id !== 'number' || !Number.isInteger(id)) return [];
  const base = gridPosOf(panel.gridPos);
  const rawTitle =
    typeof panel.title === 'string'
      ? panel.title
      : typeof (panel.libraryPanel as Json | undefined)?.name === 'string'
        ? ((panel.libraryPanel as Json).name as string)
        : '';
  const description =
    typeof panel.description === 'string' && panel.description !== '' ? panel.description : undefined;
  const job = (variables: Readonly<Record<string, string>>, gridPos: GridPos): PanelJob => ({
    panelId: id,
    title: interpolate(rawTitle, { ...defaults, ...variables }),
    ...(description === undefined
      ? {}
      : { description: interpolate(description, { ...defaults, ...variables }) }),
    gridPos,
    variables,
  });

  const repeat = typeof panel.repeat === 'string' && panel.repeat !== '' ? panel.repeat : undefined;
  const values = repeat === undefined ? undefined : valuesOf(repeat);
  if (repeat === undefined || values === undefined) return [job(rowVariables, base)];
  const maxPerRow =
    typeof panel.maxPerRow === 'number' && panel.maxPerRow > 0 ? panel.maxPerRow : DEFAULT_MAX_PER_ROW;
  const kept = values.slice(0, MAX_REPETITIONS);
  const positions = repeatedPositions(
    base,
    kept.length,
    panel.repeatDirection === 'v' ? 'v' : 'h',
    maxPerRow,
  );
  const jobs = kept.map((value, index) =>
    job({ ...rowVariables, [repeat]: value }, positions[index] as GridPos),
  );
  if (values.length > kept.length) {
    jobs.push({
      ...job(rowVariables, { x: 0, y: Math.max(...positions.map((p) => p.y + p.h)), w: GRID_COLUMNS, h: 2 }),
      title: interpolate(rawTitle, { ...defaults, ...rowVariables }),
      skipped: `${values.length - kept.length} more repetitions (${repeat} has ${values.length} values) not rendered: a report shows at most ${MAX_REPETITIONS}`,
    });
  }
  return jobs;
}

/** Where Grafana puts the repetitions of a panel: side by side (wrapping at maxPerRow) or stacked. */
export function repeatedPositions(
  base: GridPos,
  count: number,
  direction: 'h' | 'v',
  maxPerRow: number,
): GridPos[] {
  if (direction === 'v') {
    return Array.from({ length: count }, (_, index) => ({ ...base, y: base.y + index * base.h }));
  }
  const w = Math.max(1, Math.floor(Math.max(GRID_COLUMNS / count, GRID_COLUMNS / maxPerRow)));
  const positions: GridPos[] = [];
  let x = 0;
  let y = base.y;
  for (let index = 0; index < count; index++) {
    if (x + w > GRID_COLUMNS) {
      x = 0;
      y += base.h;
    }
    positions.push({ x, y, w, h: base.h });
    x += w;
  }
  return positions;
}

/** The values each template variable stands for, as far as the saved model tells. */
function readVariables(model: Json): Map<string, string[]> {
  const list = (model.templating as Json | undefined)?.list;
  const variables = new Map<string, string[]>();
  if (!Array.isArray(list)) return variables;
  for (const entry of list as Json[]) {
    if (typeof entry?.name !== 'string') continue;
    const options = optionValues(entry);
    const current = toStrings((entry.current as Json | undefined)?.value);
    const values = current.includes(ALL_VALUE) || current.length === 0 ? options : current;
    variables.set(entry.name, [...new Set(values)]);
  }
  return variables;
}

function optionValues(variable: Json): string[] {
  const saved = Array.isArray(variable.options)
    ? (variable.options as Json[])
        .flatMap((option) => toStrings(option?.value))
        .filter((v) => v !== ALL_VALUE)
    : [];
  if (saved.length > 0) return saved;
  // A custom variable's options are its query: "a,b,c" or "text : value" pairs.
  if (variable.type === 'custom' && typeof variable.query === 'string') {
    return variable.query
      .split(/(?<!\\),/)
      .map((part) => {
        const pair = /^\s*(.*?)\s+:\s+(.*)$/.exec(part);
        return (pair ? (pair[2] as string) : part).trim().replace(/\\,/g, ',');
      })
      .filter((value) => value !== '');
  }
  return [];
}

function toStrings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value === 'number' || typeof value === 'boolean') return [String(value)];
  if (Array.isArray(value)) return value.flatMap(toStrings);
  return [];
}

function asPanels(value: unknown): readonly Json[] {
  return Array.isArray(value) ? (value.filter((p) => typeof p === 'object' && p !== null) as Json[]) : [];
}

function gridPosOf(value: unknown): GridPos {
  const pos = (typeof value === 'object' && value !== null ? value : {}) as Json;
  const int = (v: unknown, fallback: number, min: number, max: number) =>
    typeof v === 'number' && Number.isFinite(v) ? Math.min(max, Math.max(min, Math.round(v))) : fallback;
  return {
    x: int(pos.x, 0, 0, GRID_COLUMNS - 1),
    y: int(pos.y, 0, 0, 100_000),
    w: int(pos.w, 12, 1, GRID_COLUMNS),
    h: int(pos.h, 8, 1, 100),
  };
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Puts variable values into a title the way Grafana does for `$name`, `${name}`, `${name:format}` and `[[name]]`. */
export function interpolate(text: string, variables: Readonly<Record<string, string>>): string {
  return text.replace(/\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]|\$(\w+)/g, (match, a, b, c) => {
    const name = (a ?? b ?? c) as string;
    return Object.hasOwn(variables, name) ? (variables[name] as string) : match;
  });
}
