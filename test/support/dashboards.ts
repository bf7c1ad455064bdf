/**
 * Reading the shipped dashboards as Grafana would: every query of every panel, variable and Explore
 * link, with Grafana's variables replaced by sample values so real query engines and parsers can
 * check them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const STACK_CONFIG = join(import.meta.dirname, '..', '..', 'stack-config');
export const DASHBOARDS_PATH = join(STACK_CONFIG, 'grafana', 'dashboards');

/** The parts of Grafana's dashboard JSON model the tests read. */
export interface DashboardJson {
  readonly uid: string;
  readonly title: string;
  readonly panels: readonly PanelJson[];
  readonly links?: readonly LinkJson[];
  readonly templating?: { readonly list?: readonly VariableJson[] };
  readonly annotations?: { readonly list?: readonly { readonly datasource?: DataSourceJson }[] };
}

export interface DataSourceJson {
  readonly type?: string;
  readonly uid?: string;
}

export interface LinkJson {
  readonly title: string;
  readonly url?: string;
  readonly type?: string;
}

export interface PanelJson {
  readonly id?: number;
  readonly type: string;
  readonly title: string;
  readonly datasource?: DataSourceJson;
  readonly targets?: readonly TargetJson[];
  readonly links?: readonly LinkJson[];
  readonly fieldConfig?: { readonly defaults?: { readonly links?: readonly LinkJson[] } };
  readonly panels?: readonly PanelJson[];
}

export interface TargetJson {
  readonly datasource?: DataSourceJson;
  readonly expr?: string;
  readonly query?: string;
  readonly queryType?: string;
}

export interface VariableJson {
  readonly name: string;
  readonly type: string;
  readonly datasource?: DataSourceJson;
  readonly definition?: string;
  readonly query?: string | { readonly query?: string };
}

export type QueryLanguage = 'promql' | 'logql' | 'traceql';

/** One query as a dashboard holds it, and where. */
export interface DashboardQuery {
  readonly dashboard: string;
  /** "panel 6 (Latency...)", "variable service", "data link ... of panel 6". */
  readonly where: string;
  readonly language: QueryLanguage;
  readonly datasourceUid: string | undefined;
  /** As written in the dashboard, with Grafana variables. */
  readonly text: string;
}

/** The committed dashboard files, by file name. */
export function shippedDashboards(): Map<string, DashboardJson> {
  const dashboards = new Map<string, DashboardJson>();
  for (const name of readdirSync(DASHBOARDS_PATH)
    .filter((file) => file.endsWith('.json'))
    .sort()) {
    dashboards.set(name, JSON.parse(readFileSync(join(DASHBOARDS_PATH, name), 'utf8')) as DashboardJson);
  }
  return dashboards;
}

/** Every panel, the ones inside collapsed rows included. */
export function allPanels(dashboard: DashboardJson): PanelJson[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

const LANGUAGES: Readonly<Record<string, QueryLanguage>> = {
  prometheus: 'promql',
  loki: 'logql',
  tempo: 'traceql',
};

/** Every query of a dashboard: panel targets, query variables and the queries inside Explore links. */
export function dashboardQueries(dashboard: DashboardJson): DashboardQuery[] {
  const queries: DashboardQuery[] = [];
  for (const panel of allPanels(dashboard)) {
    const where = `panel ${panel.id} (${panel.title})`;
    for (const target of panel.targets ?? []) {
      const datasource = target.datasource ?? panel.datasource;
      const language = LANGUAGES[datasource?.type ?? ''];
      const text = language === 'traceql' ? target.query : target.expr;
      if (language === undefined || text === undefined) {
        throw new Error(
          `${dashboard.uid} ${where}: a target of data source ${JSON.stringify(datasource)} without a query`,
        );
      }
      queries.push({ dashboard: dashboard.uid, where, language, datasourceUid: datasource?.uid, text });
    }
    for (const link of [...(panel.links ?? []), ...(panel.fieldConfig?.defaults?.links ?? [])]) {
      for (const query of exploreQueries(link.url ?? '')) {
        queries.push({ ...query, dashboard: dashboard.uid, where: `link "${link.title}" of ${where}` });
      }
    }
  }
  for (const variable of dashboard.templating?.list ?? []) {
    if (variable.type !== 'query') continue;
    const text = typeof variable.query === 'string' ? variable.query : (variable.query?.query ?? '');
    queries.push({
      dashboard: dashboard.uid,
      where: `variable ${variable.name}`,
      language: 'promql',
      datasourceUid: variable.datasource?.uid,
      text: labelValuesAsPromql(text),
    });
  }
  return queries;
}

/** The queries of a Grafana Explore URL (schemaVersion 1 panes), as Grafana reads them. */
export function exploreQueries(url: string): Omit<DashboardQuery, 'dashboard' | 'where'>[] {
  const match = /^\/explore\?(.*)$/.exec(url);
  if (match === null) return [];
  const panesParam = new URLSearchParams(substituteVariables(match[1] ?? '')).get('panes');
  if (panesParam === null) throw new Error(`Explore link without panes: ${url}`);
  const panes = JSON.parse(panesParam) as Record<
    string,
    { queries: { datasource: DataSourceJson; expr?: string; query?: string }[] }
  >;
  return Object.values(panes).flatMap((pane) =>
    pane.queries.map((query) => {
      const language = LANGUAGES[query.datasource.type ?? ''];
      if (language === undefined) throw new Error(`Explore link to an unknown data source: ${url}`);
      return {
        language,
        datasourceUid: query.datasource.uid,
        text: (language === 'traceql' ? query.query : query.expr) ?? '',
      };
    }),
  );
}

/** label_values(selector, label) -> a PromQL query over the same selector. */
export function labelValuesAsPromql(definition: string): string {
  const match = /^label_values\((.*),\s*(\w+)\)$/s.exec(definition.trim());
  if (match === null) throw new Error(`unsupported variable query ${definition}`);
  return `group by (${match[2]}) (${match[1]})`;
}

/** Sample values for Grafana's variables, as a panel would have them. */
export const SAMPLE_VARIABLES: Readonly<Record<string, string>> = {
  service: 'sample-app',
  slo: 'availability',
  instance: 'node-exporter:9100',
  repository: '.+',
  environment: 'production',
  __rate_interval: '1m',
  __interval: '15s',
  __range: '1h',
  __auto: '1m',
  __from: '1767225600000',
  __to: '1767229200000',
};

/** Replaces $name and ${name} with the sample values; an unknown variable is an error. */
export function substituteVariables(
  text: string,
  values: Readonly<Record<string, string>> = SAMPLE_VARIABLES,
): string {
  return text.replace(
    /\$\{(\w+)\}|\$(\w+)/g,
    (whole, braced: string | undefined, plain: string | undefined) => {
      const name = braced ?? plain ?? '';
      const value = values[name];
      if (value === undefined) throw new Error(`no sample value for the variable in ${whole}: ${text}`);
      return value;
    },
  );
}
