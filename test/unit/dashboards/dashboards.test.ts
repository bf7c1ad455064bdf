import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser as logqlParser } from '@grafana/lezer-logql';
import { parser as traceqlParser } from '@grafana/lezer-traceql';
import type { LRParser } from '@lezer/lr';
import { describe, expect, it } from 'vitest';
import { alertRules } from '../../../functions/alerting/rule-conventions.js';
import {
  DASHBOARDS,
  dashboardPath,
  runbookUrl,
  SLO_ERROR_BUDGET,
} from '../../../functions/dashboards/catalog.js';
import { buildDashboards, dashboardFiles } from '../../../functions/dashboards/dashboard-files.js';
import { DATASOURCE_UIDS, exploreDataLink, LOKI } from '../../../functions/dashboards/panels.js';
import { LOKI_DATASOURCE_UID } from '../../../functions/incident-timeline/incident-links.js';
import {
  PROMETHEUS_DATASOURCE_UID,
  TEMPO_DATASOURCE_UID,
} from '../../../functions/incident-timeline/sources/explore-links.js';
import { loadSloDefinitions, parseSloDefinitions } from '../../../functions/shared/slo-definitions.js';
import { loadToillessConfig } from '../../../functions/shared/stack-config.js';
import {
  allPanels,
  DASHBOARDS_PATH,
  type DashboardJson,
  dashboardQueries,
  exploreQueries,
  type LinkJson,
  STACK_CONFIG,
  shippedDashboards,
  substituteVariables,
} from '../../support/dashboards.js';

const regenerate = 'out of date: run `npm run generate` (or `toilless check --fix`) and commit the result';
const config = loadToillessConfig(STACK_CONFIG);
const slos = loadSloDefinitions(STACK_CONFIG);
const dashboards = shippedDashboards();
const byUid = new Map([...dashboards.values()].map((dashboard) => [dashboard.uid, dashboard]));

/** Lezer grammars recover from syntax errors: an error shows as an error node in the tree. */
function syntaxErrors(parser: LRParser, query: string): string[] {
  const errors: string[] = [];
  parser.parse(query).iterate({
    enter: (node) => {
      if (node.type.isError)
        errors.push(`at ${node.from}: ${JSON.stringify(query.slice(node.from, node.from + 20))}`);
    },
  });
  return errors;
}

function dashboardLinks(dashboard: DashboardJson): LinkJson[] {
  return [...(dashboard.links ?? [])];
}

function panelLinks(dashboard: DashboardJson): LinkJson[] {
  return allPanels(dashboard).flatMap((panel) => [
    ...(panel.links ?? []),
    ...(panel.fieldConfig?.defaults?.links ?? []),
  ]);
}

describe('Shipped dashboards', () => {
  it('are the committed files, up to date with their code, slos.yaml and toilless.yaml', () => {
    // Prepare
    const expected = dashboardFiles(slos, config);

    // Act
    const committed = readdirSync(DASHBOARDS_PATH).filter((name) => name.endsWith('.json'));

    // Assess
    expect(committed.sort()).toEqual(expected.map((file) => file.path.replace(/^.*\//, '')).sort());
    for (const file of expected) {
      expect(
        readFileSync(join(STACK_CONFIG, file.path), 'utf8'),
        `stack-config/${file.path} ${regenerate}`,
      ).toBe(file.content);
    }
  });

  it('keep the uids alert rules and people link to', () => {
    // Act
    const uids = [...dashboards.values()].map((dashboard) => dashboard.uid).sort();

    // Assess
    expect(uids).toEqual([
      'blackbox-exporter',
      'dora-metrics',
      'node-exporter',
      'slo-error-budget',
      'toilless',
      'unified-observability',
    ]);
    for (const [name, dashboard] of dashboards) expect(name).toBe(`${dashboard.uid}.json`);
  });

  it('give every panel an id of its own', () => {
    for (const dashboard of dashboards.values()) {
      // Act
      const ids = allPanels(dashboard).map((panel) => panel.id);

      // Assess
      expect(
        ids.every((id) => Number.isInteger(id)),
        `${dashboard.uid}: panels without an id`,
      ).toBe(true);
      expect(new Set(ids).size, `${dashboard.uid}: duplicate panel ids`).toBe(ids.length);
    }
  });

  it('link each dashboard to every other one', () => {
    for (const dashboard of dashboards.values()) {
      // Act
      const urls = dashboardLinks(dashboard).map((link) => link.url);

      // Assess
      const others = DASHBOARDS.filter((entry) => entry.uid !== dashboard.uid).map(dashboardPath);
      expect(urls, dashboard.uid).toEqual(expect.arrayContaining(others));
      for (const url of urls.filter((url) => url?.startsWith('/d/'))) {
        expect(byUid.has(url!.split('/')[2]!), `${dashboard.uid} links to ${url}`).toBe(true);
      }
    }
  });

  it('link to runbooks that exist, below links.runbooksUrl', () => {
    const base = runbookUrl(config.links.runbooksUrl, '');
    for (const dashboard of dashboards.values()) {
      // Act
      const runbookLinks = [...dashboardLinks(dashboard), ...panelLinks(dashboard)].filter((link) =>
        link.url?.includes('runbooks/'),
      );

      // Assess
      expect(
        dashboardLinks(dashboard).some((link) => link.url?.startsWith(base)),
        dashboard.uid,
      ).toBe(true);
      for (const link of runbookLinks) {
        expect(link.url?.startsWith(base), `${dashboard.uid}: ${link.url} is not below ${base}`).toBe(true);
        const path = link.url!.slice(base.length);
        expect(existsSync(join(STACK_CONFIG, path)), `${dashboard.uid}: ${link.url} names no file`).toBe(
          true,
        );
      }
    }
  });

  it('use only the provisioned data sources', () => {
    for (const dashboard of dashboards.values()) {
      // Act
      const used = [
        ...allPanels(dashboard).flatMap((panel) => [
          panel.datasource?.uid,
          ...(panel.targets ?? []).map((target) => target.datasource?.uid),
        ]),
        ...(dashboard.templating?.list ?? []).map((variable) => variable.datasource?.uid),
        ...(dashboard.annotations?.list ?? []).map((annotation) => annotation.datasource?.uid),
        ...dashboardQueries(dashboard).map((query) => query.datasourceUid),
      ].filter((uid) => uid !== undefined);

      // Assess
      expect(used.length, dashboard.uid).toBeGreaterThan(0);
      for (const uid of used)
        expect(DATASOURCE_UIDS, `${dashboard.uid} uses data source ${uid}`).toContain(uid);
    }
  });

  it('name the data sources with the uids the workers link Explore to', () => {
    expect(DATASOURCE_UIDS).toEqual(
      expect.arrayContaining([PROMETHEUS_DATASOURCE_UID, LOKI_DATASOURCE_UID, TEMPO_DATASOURCE_UID]),
    );
  });

  it("hold LogQL that parses with Grafana's LogQL grammar", () => {
    // Act
    const queries = [...dashboards.values()].flatMap(dashboardQueries).filter((q) => q.language === 'logql');

    // Assess
    expect(queries.length).toBeGreaterThanOrEqual(3);
    for (const query of queries) {
      expect(
        syntaxErrors(logqlParser, substituteVariables(query.text)),
        `${query.dashboard} ${query.where}: ${query.text}`,
      ).toEqual([]);
    }
  });

  it("hold TraceQL that parses with Grafana's TraceQL grammar", () => {
    // Act
    const queries = [...dashboards.values()]
      .flatMap(dashboardQueries)
      .filter((q) => q.language === 'traceql');

    // Assess
    expect(queries.length).toBeGreaterThanOrEqual(2);
    for (const query of queries) {
      expect(
        syntaxErrors(traceqlParser, substituteVariables(query.text)),
        `${query.dashboard} ${query.where}: ${query.text}`,
      ).toEqual([]);
    }
  });

  it('are named by every dashboard_url of the alert rules, with the variables and panels they pass', () => {
    // Prepare
    const rulesDir = join(STACK_CONFIG, 'prometheus', 'rules');
    const urls = readdirSync(rulesDir)
      .filter((name) => /\.ya?ml$/.test(name))
      .flatMap((name) =>
        alertRules(readFileSync(join(rulesDir, name), 'utf8')).map((rule) => ({
          where: `${name} ${rule.alert}`,
          url: String(rule.annotations['dashboard_url']),
        })),
      );

    // Act + Assess
    expect(urls.length).toBeGreaterThan(10);
    for (const { where, url } of urls) {
      const parsed = new URL(url, 'http://grafana.invalid');
      const [, d, uid] = parsed.pathname.split('/');
      const dashboard = byUid.get(uid ?? '');
      expect(d === 'd' && dashboard !== undefined, `${where}: ${url} names no shipped dashboard`).toBe(true);
      const variables = new Set((dashboard!.templating?.list ?? []).map((variable) => variable.name));
      for (const key of parsed.searchParams.keys()) {
        if (key.startsWith('var-')) {
          expect(variables.has(key.slice(4)), `${where}: ${url} sets a variable ${uid} lacks`).toBe(true);
        }
      }
      for (const key of ['viewPanel', 'editPanel']) {
        const panel = parsed.searchParams.get(key);
        if (panel === null) continue;
        const ids = allPanels(dashboard!).map((p) => String(p.id));
        expect(ids, `${where}: ${url} names panel ${panel} that ${uid} lacks`).toContain(
          panel.replace(/^panel-/, ''),
        );
      }
    }
  });
});

describe('The SLO and error budget dashboard', () => {
  it('gets the panels of a new SLO from slos.yaml', () => {
    // Prepare
    const more = parseSloDefinitions(
      [
        'services:',
        '  checkout:',
        '    availability:',
        '      objective: 99.9',
        '      sli: { type: availability, metric: http_requests_total, selector: \'service="checkout"\', badSelector: \'status_code=~"5.."\' }',
      ].join('\n'),
    );

    // Act
    const slo = buildDashboards([...slos, ...more], config).find((d) => d.uid === SLO_ERROR_BUDGET.uid)!;
    const before = buildDashboards(slos, config).find((d) => d.uid === SLO_ERROR_BUDGET.uid)!;

    // Assess
    const titles = (slo.panels ?? []).map((panel) => panel.title);
    expect(titles).toContain('checkout availability: SLI vs SLO');
    expect(titles).toContain('checkout availability: error budget remaining');
    const gauge = JSON.stringify(
      (slo.panels ?? []).find((panel) => panel.title === 'checkout availability: SLI vs SLO'),
    );
    expect(gauge).toContain('slo:sli_error:ratio_period{service=\\"checkout\\", slo=\\"availability\\"}');
    expect(gauge).toContain('"value":0.999');
    // The panels of the SLOs already there keep their ids.
    const ids = (d: typeof slo) =>
      new Map((d.panels ?? []).map((panel) => [panel.title, 'id' in panel ? panel.id : 0]));
    for (const [title, id] of ids(before)) expect(ids(slo).get(title), title).toBe(id);
  });

  it('draws the burn-rate thresholds of the alerts as yellow and red bands', () => {
    // Act
    const burn = allPanels(byUid.get(SLO_ERROR_BUDGET.uid)!).find((panel) => panel.title === 'Burn rate');

    // Assess
    const text = JSON.stringify(burn);
    expect(text).toContain('{"value":6,"color":"yellow"}');
    expect(text).toContain('{"value":14.4,"color":"red"}');
    expect(text).toContain('"mode":"line+area"');
    expect(text).toContain('slo:burn_rate:ratio_rate1h{service=\\"$service\\", slo=\\"$slo\\"}');
  });
});

describe('Explore data links', () => {
  it('keep Grafana variables for Grafana to fill in and carry the query intact', () => {
    // Act
    const url = exploreDataLink('Logs', {
      datasource: LOKI,
      fields: { expr: '{service_name="$service"} |= "a b"' },
    }).build().url!;

    // Assess
    expect(url).toContain('$service');
    expect(url).toContain('$__from');
    expect(exploreQueries(url)).toEqual([
      { language: 'logql', datasourceUid: 'loki', text: '{service_name="sample-app"} |= "a b"' },
    ]);
  });
});
