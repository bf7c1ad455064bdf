/**
 * The parts of Grafana's dashboard JSON model the native renderer reads, and reading the shipped
 * dashboards from stack-config/grafana/dashboards/<uid>.json (written by functions/dashboards).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigurationError } from '../../shared/errors.js';

export interface DataSourceRef {
  readonly type?: string;
  readonly uid?: string;
}

export interface TargetJson {
  readonly refId?: string;
  readonly datasource?: DataSourceRef | null;
  readonly expr?: string;
  readonly query?: string;
  readonly queryType?: string;
  readonly legendFormat?: string;
  readonly instant?: boolean;
  readonly range?: boolean;
  readonly format?: string;
  readonly hide?: boolean;
  readonly interval?: string;
}

export interface ThresholdJson {
  readonly value: number | null;
  readonly color: string;
}

export interface FieldOverrideJson {
  readonly matcher?: { readonly id?: string; readonly options?: unknown };
  readonly properties?: readonly { readonly id?: string; readonly value?: unknown }[];
}

export interface PanelJson {
  readonly id?: number;
  readonly type: string;
  readonly title?: string;
  readonly description?: string | null;
  readonly gridPos?: { readonly x?: number; readonly y?: number; readonly w?: number; readonly h?: number };
  readonly datasource?: DataSourceRef | null;
  readonly targets?: readonly TargetJson[];
  readonly collapsed?: boolean;
  readonly panels?: readonly PanelJson[];
  readonly repeat?: string;
  readonly repeatDirection?: 'h' | 'v';
  readonly maxPerRow?: number;
  readonly interval?: string | null;
  readonly fieldConfig?: {
    readonly defaults?: {
      readonly unit?: string;
      readonly decimals?: number;
      readonly min?: number;
      readonly max?: number;
      readonly thresholds?: { readonly steps?: readonly ThresholdJson[] };
      readonly mappings?: readonly unknown[];
    } | null;
    readonly overrides?: readonly FieldOverrideJson[] | null;
  } | null;
  readonly options?: {
    readonly reduceOptions?: { readonly calcs?: readonly string[] };
  } | null;
  readonly transformations?: readonly { readonly id: string; readonly options?: unknown }[];
}

export interface VariableJson {
  readonly name: string;
  readonly type: string;
  readonly query?: string | { readonly query?: string };
  readonly definition?: string;
  readonly current?: { readonly text?: unknown; readonly value?: unknown } | null;
  readonly includeAll?: boolean;
  readonly allValue?: string | null;
  readonly multi?: boolean;
  readonly options?: readonly { readonly value?: unknown; readonly selected?: boolean }[];
}

export interface DashboardJson {
  readonly uid: string;
  readonly title: string;
  readonly panels?: readonly PanelJson[];
  readonly templating?: { readonly list?: readonly VariableJson[] };
}

/** Where the generated dashboards are below the stack-config directory. */
export const SHIPPED_DASHBOARDS_DIR = join('grafana', 'dashboards');

function isDashboard(value: unknown): value is DashboardJson {
  const candidate = value as Partial<DashboardJson> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.uid === 'string' &&
    typeof candidate.title === 'string' &&
    (candidate.panels === undefined || Array.isArray(candidate.panels))
  );
}

/**
 * The shipped dashboards with these uids, in the order asked; every shipped dashboard (by file name)
 * when `uids` is empty. An unknown uid or a broken file is an error that names it.
 */
export async function loadShippedDashboards(
  stackConfigDir: string,
  uids: readonly string[],
): Promise<DashboardJson[]> {
  const dir = join(stackConfigDir, SHIPPED_DASHBOARDS_DIR);
  let files: string[];
  try {
    files = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort();
  } catch (error) {
    throw new ConfigurationError(
      `the dashboards directory ${dir} cannot be read (${(error as Error).message}): run \`npm run generate\` or point the runtime at the stack-config directory`,
      { cause: error },
    );
  }
  const byUid = new Map<string, DashboardJson>();
  for (const file of files) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(join(dir, file), 'utf8'));
    } catch (error) {
      throw new ConfigurationError(
        `${join(SHIPPED_DASHBOARDS_DIR, file)} is not valid JSON: regenerate it with \`npm run generate\``,
        { cause: error },
      );
    }
    if (!isDashboard(parsed)) {
      throw new ConfigurationError(
        `${join(SHIPPED_DASHBOARDS_DIR, file)} is not a Grafana dashboard (no uid, title or panels): regenerate it with \`npm run generate\``,
      );
    }
    byUid.set(parsed.uid, parsed);
  }
  if (uids.length === 0) return [...byUid.values()];
  return uids.map((uid) => {
    const dashboard = byUid.get(uid);
    if (dashboard === undefined) {
      throw new ConfigurationError(
        `no shipped dashboard has uid ${JSON.stringify(uid)}: use one of ${[...byUid.keys()].sort().join(', ')}`,
      );
    }
    return dashboard;
  });
}
