import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { LOKI_DATASOURCE_UID } from '../../../functions/incident-timeline/incident-links.js';
import {
  PROMETHEUS_DATASOURCE_UID,
  TEMPO_DATASOURCE_UID,
} from '../../../functions/incident-timeline/sources/explore-links.js';
import {
  dashboardProviderProblems,
  datasourceProblems,
  GRAFANA_DASHBOARDS_PATH,
  grafanaSettingsProblems,
  REQUIRED_DATASOURCES,
} from '../../../functions/service-configs/grafana-provisioning.js';
import { listAt } from '../../../functions/service-configs/yaml-tree.js';

const grafana = join(import.meta.dirname, '..', '..', '..', 'stack-config', 'grafana');
const DATASOURCES_FILE = 'provisioning/datasources/datasources.yaml';
const PROVIDERS_FILE = 'provisioning/dashboards/dashboards.yaml';
const DATASOURCES = readFileSync(join(grafana, DATASOURCES_FILE), 'utf8');
const PROVIDERS = readFileSync(join(grafana, PROVIDERS_FILE), 'utf8');
const SETTINGS = readFileSync(join(grafana, 'grafana.ini'), 'utf8');
const lokiFixtures = join(import.meta.dirname, '..', '..', 'fixtures', 'loki');

interface DerivedField {
  readonly name: string;
  readonly matcherRegex: string;
  readonly matcherType?: string;
  readonly datasourceUid: string;
}

function derivedFields(): DerivedField[] {
  const loki = listAt(parseYaml(DATASOURCES), 'datasources').find(
    (entry) => (entry as { uid?: string }).uid === 'loki',
  ) as { jsonData: { derivedFields: DerivedField[] } };
  return loki.jsonData.derivedFields;
}

/** The lines of a recorded Loki answer, as Grafana shows them. */
function recordedLines(file: string): string[] {
  const recorded = JSON.parse(readFileSync(join(lokiFixtures, file), 'utf8')) as {
    body: { data: { result: { values: [string, string][] }[] } };
  };
  return recorded.body.data.result.flatMap((stream) => stream.values.map(([, line]) => line));
}

describe('Grafana data sources', () => {
  it('are provisioned with every link resolving', () => {
    // Act
    const problems = datasourceProblems({ [DATASOURCES_FILE]: DATASOURCES });

    // Assess
    expect(problems).toEqual([]);
  });

  it('have the uids the workers put in their Explore links', () => {
    // Act
    const uids = listAt(parseYaml(DATASOURCES), 'datasources').map((entry) => (entry as { uid: string }).uid);

    // Assess
    expect(uids).toEqual(
      expect.arrayContaining([LOKI_DATASOURCE_UID, TEMPO_DATASOURCE_UID, PROMETHEUS_DATASOURCE_UID]),
    );
    expect(Object.keys(REQUIRED_DATASOURCES).sort()).toEqual(
      [LOKI_DATASOURCE_UID, TEMPO_DATASOURCE_UID, PROMETHEUS_DATASOURCE_UID].sort(),
    );
  });

  it('turn the trace_id of real Loki 3.4 JSON and logfmt lines into a link to Tempo', () => {
    // Prepare
    const jsonLines = recordedLines('query_range-json-errors-backward.json');
    const logfmtLines = recordedLines('query_range-logfmt-payments-errors.json');
    const regexFields = derivedFields().filter((field) => (field.matcherType ?? 'regex') === 'regex');

    // Act
    const captured = (line: string) =>
      regexFields
        .map((field) => new RegExp(field.matcherRegex).exec(line)?.[1])
        .find((id) => id !== undefined);

    // Assess
    expect(jsonLines.length).toBeGreaterThan(0);
    expect(logfmtLines.length).toBeGreaterThan(0);
    for (const line of [...jsonLines, ...logfmtLines]) {
      const expected = /trace_id"?\s*[:=]\s*"?([0-9a-f]{32})/.exec(line)?.[1];
      expect(captured(line), line).toBe(expected);
    }
    expect(regexFields.every((field) => field.datasourceUid === 'tempo')).toBe(true);
  });

  it('link the trace_id structured metadata of OTLP logs to Tempo', () => {
    // Assess
    expect(derivedFields()).toContainEqual(
      expect.objectContaining({ matcherType: 'label', matcherRegex: 'trace_id', datasourceUid: 'tempo' }),
    );
  });

  it('report a link to a data source that is not provisioned', () => {
    // Prepare
    const text = DATASOURCES.replace('datasourceUid: loki', 'datasourceUid: logs');

    // Act
    const problems = datasourceProblems({ [DATASOURCES_FILE]: text });

    // Assess
    expect(problems).toEqual([
      {
        file: DATASOURCES_FILE,
        message: 'data source tempo: links to data source uid "logs", which is not provisioned',
      },
      {
        file: DATASOURCES_FILE,
        message:
          'data source tempo: jsonData.tracesToLogsV2.datasourceUid must be loki: a span opens its logs',
      },
    ]);
  });

  it('report a $ that Grafana would take for an environment variable', () => {
    // Prepare
    const text = DATASOURCES.replace(`url: "$\${__value.raw}"`, `url: "\${__value.raw}"`);

    // Act
    const messages = datasourceProblems({ [DATASOURCES_FILE]: text }).map((problem) => problem.message);

    // Assess
    expect(messages).toEqual([
      '"${__value" would be replaced from the environment when Grafana reads the file: write $${__value for a literal $',
      'data source loki: derived field trace_id (json) must open the matched id: url "$${__value.raw}" in the file (Grafana reads $$ as $)',
    ]);
  });

  it('report a missing data source the dashboards need', () => {
    // Prepare
    const config = parseYaml(DATASOURCES) as { datasources: { uid: string }[] };
    config.datasources = config.datasources.filter((entry) => entry.uid !== 'tempo');

    // Act
    const messages = datasourceProblems({ [DATASOURCES_FILE]: JSON.stringify(config) }).map(
      (problem) => problem.message,
    );

    // Assess
    expect(messages).toContain('no data source with uid "tempo" (type tempo): dashboards and links name it');
    expect(messages).toContain(
      'data source loki: links to data source uid "tempo", which is not provisioned',
    );
  });
});

describe('Grafana dashboards provider', () => {
  it('reads the generated dashboards, read-only', () => {
    // Act
    const problems = dashboardProviderProblems({ [PROVIDERS_FILE]: PROVIDERS }, true);

    // Assess
    expect(problems).toEqual([]);
    expect(PROVIDERS).toContain(`path: ${GRAFANA_DASHBOARDS_PATH}`);
  });

  it('reports a provider that lets the UI change generated dashboards, or a missing folder', () => {
    // Prepare
    const text = PROVIDERS.replace('allowUiUpdates: false', 'allowUiUpdates: true');

    // Act
    const problems = dashboardProviderProblems({ [PROVIDERS_FILE]: text }, false);

    // Assess
    expect(problems.map((problem) => problem.message)).toEqual([
      'provider toilless: allowUiUpdates must be false (the dashboards are generated from code)',
      'stack-config/grafana/dashboards does not exist: run `npm run generate`',
    ]);
  });
});

describe('grafana.ini', () => {
  it('never starts open: no anonymous access, no sign-up, no password in the file', () => {
    // Act
    const problems = grafanaSettingsProblems(SETTINGS);

    // Assess
    expect(problems).toEqual([]);
  });

  it('reports anonymous access and a password written into the file', () => {
    // Prepare
    const text = SETTINGS.replace(
      '[auth.anonymous]\nenabled = false',
      '[auth.anonymous]\nenabled = true',
    ).replace('[security]\n', '[security]\nadmin_password = admin\n');

    // Act
    const problems = grafanaSettingsProblems(text);

    // Assess
    expect(problems).toEqual([
      '[auth.anonymous] enabled = true lets anyone in: keep it false',
      expect.stringMatching(/^\[security\] admin_password must not be in the file/),
    ]);
  });
});
