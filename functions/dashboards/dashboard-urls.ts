/**
 * Whether a dashboard_url annotation leads somewhere: the dashboard with its uid is in
 * stack-config/grafana/dashboards/, and the variables and panel it names exist there.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { alertRules } from '../alerting/rule-conventions.js';
import { DASHBOARDS_DIR } from './dashboard-files.js';

/** What a dashboard_url can name in one dashboard. */
export interface DashboardTargets {
  readonly file: string;
  readonly variables: ReadonlySet<string>;
  readonly panelIds: ReadonlySet<string>;
}

interface DashboardModel {
  readonly uid?: unknown;
  readonly panels?: readonly {
    readonly id?: unknown;
    readonly panels?: readonly { readonly id?: unknown }[];
  }[];
  readonly templating?: { readonly list?: readonly { readonly name?: unknown }[] };
}

/** The dashboards in stack-config/grafana/dashboards by uid; an unreadable file is left out. */
export function dashboardTargets(stackConfigDir: string): Map<string, DashboardTargets> {
  const dir = join(stackConfigDir, DASHBOARDS_DIR);
  const targets = new Map<string, DashboardTargets>();
  if (!existsSync(dir)) return targets;
  for (const name of readdirSync(dir).filter((file) => file.endsWith('.json'))) {
    let model: DashboardModel;
    try {
      model = JSON.parse(readFileSync(join(dir, name), 'utf8')) as DashboardModel;
    } catch {
      continue; // the staleness check reports a broken generated file
    }
    if (typeof model.uid !== 'string') continue;
    const panels = (model.panels ?? []).flatMap((panel) => [panel, ...(panel.panels ?? [])]);
    targets.set(model.uid, {
      file: `${DASHBOARDS_DIR}/${name}`,
      variables: new Set((model.templating?.list ?? []).map((variable) => String(variable.name))),
      panelIds: new Set(panels.map((panel) => String(panel.id))),
    });
  }
  return targets;
}

/** What is wrong with a dashboard_url (a /d/<uid>/... path), or undefined when it leads somewhere. */
export function dashboardUrlProblem(
  url: string,
  dashboards: ReadonlyMap<string, DashboardTargets>,
): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url, 'http://grafana.invalid');
  } catch {
    return `dashboard_url ${JSON.stringify(url)} is not a URL path`;
  }
  const uid = /^\/d\/([^/]+)/.exec(parsed.pathname)?.[1];
  if (uid === undefined) return undefined; // rule-conventions reports a path that is not /d/...
  const dashboard = dashboards.get(decodeURIComponent(uid));
  if (dashboard === undefined) {
    return (
      `dashboard_url ${JSON.stringify(url)} names dashboard uid ${uid}, which no file in ` +
      `stack-config/${DASHBOARDS_DIR} has: use one of ${[...dashboards.keys()].sort().join(', ')}`
    );
  }
  for (const key of parsed.searchParams.keys()) {
    if (key.startsWith('var-') && !dashboard.variables.has(key.slice(4))) {
      return `dashboard_url ${JSON.stringify(url)} sets ${key}, but dashboard ${uid} has no variable ${key.slice(4)}`;
    }
  }
  for (const key of ['viewPanel', 'editPanel']) {
    const panel = parsed.searchParams.get(key)?.replace(/^panel-/, '');
    if (panel !== undefined && !dashboard.panelIds.has(panel)) {
      return `dashboard_url ${JSON.stringify(url)} shows panel ${panel}, which dashboard ${uid} does not have`;
    }
  }
  return undefined;
}

/** The dashboard_url problems of the alerts in these rule files (paths below stack-config/). */
export function dashboardUrlDefects(
  stackConfigDir: string,
  ruleFiles: readonly string[],
): { file: string; message: string }[] {
  const dashboards = dashboardTargets(stackConfigDir);
  const defects: { file: string; message: string }[] = [];
  for (const file of ruleFiles) {
    for (const rule of alertRules(readFileSync(join(stackConfigDir, file), 'utf8'))) {
      const url = rule.annotations['dashboard_url'];
      const problem = typeof url === 'string' ? dashboardUrlProblem(url, dashboards) : undefined;
      if (problem !== undefined)
        defects.push({ file, message: `alert ${rule.alert} (group ${rule.group}): ${problem}` });
    }
  }
  return defects;
}
