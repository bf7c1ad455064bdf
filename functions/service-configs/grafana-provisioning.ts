/**
 * stack-config/grafana/: the provisioned data sources and their links to each other, the dashboards
 * provider, and the settings that keep Grafana from starting open (grafana.ini).
 */
import { parse as parseYaml } from 'yaml';
import { isMap, listAt, textAt, valueAt, type YamlMap } from './yaml-tree.js';

/** The data sources everything else names by uid: dashboards, the links below, the workers' Explore links. */
export const REQUIRED_DATASOURCES: Readonly<Record<string, string>> = {
  prometheus: 'prometheus',
  loki: 'loki',
  tempo: 'tempo',
};

/** Where Grafana reads the generated dashboards: stack-config/grafana/dashboards is mounted here. */
export const GRAFANA_DASHBOARDS_PATH = '/var/lib/grafana/dashboards';
/** Where Grafana reads provisioning: stack-config/grafana/provisioning is mounted here. */
export const GRAFANA_PROVISIONING_PATH = '/etc/grafana/provisioning';

/** Log lines the Loki derived fields must turn into trace links, by how the line carries the id. */
export const TRACE_ID_LINES = {
  json: '{"level":"error","msg":"POST /checkout 500","trace_id":"476d76e68531f8c73ce06a33bb479e9b"}',
  logfmt:
    'level=error msg="charge failed" trace_id=476d76e68531f8c73ce06a33bb479e9b span_id=1a2b3c4d5e6f7a8b',
} as const;
const TRACE_ID = '476d76e68531f8c73ce06a33bb479e9b';

/** A problem in one provisioning file. */
export interface ProvisioningProblem {
  /** The file, relative to stack-config/grafana (provisioning/datasources/datasources.yaml). */
  readonly file: string;
  readonly message: string;
}

interface ProvisionedDatasource {
  readonly file: string;
  readonly entry: YamlMap;
}

/**
 * Problems of the data source files (name -> text, under provisioning/datasources/). Every uid a
 * link names must be provisioned, and the drill-downs between metrics, logs and traces must exist.
 */
export function datasourceProblems(files: Readonly<Record<string, string>>): ProvisioningProblem[] {
  const problems: ProvisioningProblem[] = [];
  const datasources: ProvisionedDatasource[] = [];
  for (const [file, text] of Object.entries(files)) {
    const report = (message: string) => problems.push({ file, message });
    // Grafana replaces $NAME and ${NAME} in provisioning files with environment variables.
    for (const match of text.matchAll(/(?<!\$)\$\{?__\w+/g)) {
      report(
        `"${match[0]}" would be replaced from the environment when Grafana reads the file: write $${match[0]} for a literal $`,
      );
    }
    let config: unknown;
    try {
      config = parseYaml(text);
    } catch (error) {
      report(`not valid YAML: ${(error as Error).message.split('\n')[0]}`);
      continue;
    }
    for (const entry of listAt(config, 'datasources')) {
      if (!isMap(entry)) continue;
      for (const key of ['name', 'type', 'uid', 'url']) {
        if (!textAt(entry, key)) report(`data source ${textAt(entry, 'name') ?? '(unnamed)'} has no ${key}`);
      }
      datasources.push({ file, entry });
    }
  }

  const byUid = new Map<string, ProvisionedDatasource>();
  for (const datasource of datasources) {
    const uid = textAt(datasource.entry, 'uid');
    if (uid === undefined) continue;
    if (byUid.has(uid))
      problems.push({ file: datasource.file, message: `uid "${uid}" is provisioned twice` });
    byUid.set(uid, datasource);
  }
  const anyFile = Object.keys(files)[0] ?? 'provisioning/datasources';
  for (const [uid, type] of Object.entries(REQUIRED_DATASOURCES)) {
    const found = byUid.get(uid);
    if (found === undefined) {
      problems.push({
        file: anyFile,
        message: `no data source with uid "${uid}" (type ${type}): dashboards and links name it`,
      });
    } else if (textAt(found.entry, 'type') !== type) {
      problems.push({ file: found.file, message: `data source "${uid}" must have type ${type}` });
    }
  }

  for (const datasource of datasources) {
    const name = textAt(datasource.entry, 'uid') ?? textAt(datasource.entry, 'name') ?? '?';
    const report = (message: string) =>
      problems.push({ file: datasource.file, message: `data source ${name}: ${message}` });
    for (const uid of linkedUids(datasource.entry['jsonData'])) {
      if (!byUid.has(uid)) report(`links to data source uid "${uid}", which is not provisioned`);
    }
    const type = textAt(datasource.entry, 'type');
    if (type === 'loki') lokiLinkProblems(datasource.entry).forEach(report);
    if (type === 'tempo') tempoLinkProblems(datasource.entry).forEach(report);
    if (type === 'prometheus') prometheusLinkProblems(datasource.entry).forEach(report);
  }
  return problems;
}

/** Every `datasourceUid` anywhere below a node. */
function linkedUids(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(linkedUids);
  if (!isMap(node)) return [];
  return Object.entries(node).flatMap(([key, value]) =>
    key === 'datasourceUid' && typeof value === 'string' ? [value] : linkedUids(value),
  );
}

function lokiLinkProblems(entry: YamlMap): string[] {
  const problems: string[] = [];
  const fields = listAt(entry, 'jsonData.derivedFields').filter(isMap);
  const toTempo = fields.filter((field) => field['datasourceUid'] === 'tempo');
  for (const field of toTempo) {
    const url = textAt(field, 'url') ?? '';
    if (!url.includes('$${__value.raw}')) {
      problems.push(
        `derived field ${String(field['name'])} must open the matched id: url "$\${__value.raw}" in the file (Grafana reads $$ as $)`,
      );
    }
  }
  const regexFields = toTempo.filter((field) => (field['matcherType'] ?? 'regex') === 'regex');
  const compiled = regexFields.flatMap((field) => {
    try {
      return [new RegExp(String(field['matcherRegex']))];
    } catch (error) {
      problems.push(
        `derived field ${String(field['name'])}: matcherRegex is not a valid regular expression (${(error as Error).message})`,
      );
      return [];
    }
  });
  for (const [format, line] of Object.entries(TRACE_ID_LINES)) {
    if (!compiled.some((regex) => regex.exec(line)?.[1] === TRACE_ID)) {
      problems.push(
        `no derived field captures the trace_id of a ${format} line (e.g. ${line}) and links it to Tempo`,
      );
    }
  }
  const fromMetadata = toTempo.some(
    (field) => field['matcherType'] === 'label' && field['matcherRegex'] === 'trace_id',
  );
  if (!fromMetadata) {
    problems.push(
      'no derived field links the trace_id structured metadata of OTLP logs (matcherType: label, matcherRegex: trace_id) to Tempo',
    );
  }
  return problems;
}

function tempoLinkProblems(entry: YamlMap): string[] {
  const problems: string[] = [];
  if (textAt(entry, 'jsonData.tracesToLogsV2.datasourceUid') !== 'loki') {
    problems.push('jsonData.tracesToLogsV2.datasourceUid must be loki: a span opens its logs');
  }
  const logTags = listAt(entry, 'jsonData.tracesToLogsV2.tags');
  if (
    !logTags.some((tag) => textAt(tag, 'key') === 'service.name' && textAt(tag, 'value') === 'service_name')
  ) {
    problems.push('jsonData.tracesToLogsV2.tags must map service.name to service_name (the Loki label)');
  }
  if (valueAt(entry, 'jsonData.tracesToLogsV2.filterByTraceID') !== true) {
    problems.push(
      'jsonData.tracesToLogsV2.filterByTraceID must be true: the logs of the trace, not of the whole service',
    );
  }
  if (textAt(entry, 'jsonData.tracesToMetrics.datasourceUid') !== 'prometheus') {
    problems.push('jsonData.tracesToMetrics.datasourceUid must be prometheus');
  }
  if (textAt(entry, 'jsonData.serviceMap.datasourceUid') !== 'prometheus') {
    problems.push(
      "jsonData.serviceMap.datasourceUid must be prometheus: the service map reads Tempo's service-graph metrics there",
    );
  }
  return problems;
}

function prometheusLinkProblems(entry: YamlMap): string[] {
  const destinations = listAt(entry, 'jsonData.exemplarTraceIdDestinations');
  return destinations.some((destination) => textAt(destination, 'datasourceUid') === 'tempo')
    ? []
    : ['jsonData.exemplarTraceIdDestinations must send exemplar trace ids to tempo'];
}

/**
 * Problems of the dashboard provider files (name -> text, under provisioning/dashboards/), given
 * whether stack-config/grafana/dashboards exists.
 */
export function dashboardProviderProblems(
  files: Readonly<Record<string, string>>,
  dashboardsDirExists: boolean,
): ProvisioningProblem[] {
  const problems: ProvisioningProblem[] = [];
  let generated = false;
  for (const [file, text] of Object.entries(files)) {
    let config: unknown;
    try {
      config = parseYaml(text);
    } catch (error) {
      problems.push({ file, message: `not valid YAML: ${(error as Error).message.split('\n')[0]}` });
      continue;
    }
    for (const provider of listAt(config, 'providers')) {
      if (textAt(provider, 'type') !== 'file') continue;
      const name = textAt(provider, 'name') ?? '?';
      const path = textAt(provider, 'options.path');
      if (path !== GRAFANA_DASHBOARDS_PATH) {
        problems.push({
          file,
          message: `provider ${name} reads ${path ?? '(no options.path)'}: the generated dashboards are mounted at ${GRAFANA_DASHBOARDS_PATH}`,
        });
        continue;
      }
      generated = true;
      if (valueAt(provider, 'allowUiUpdates') !== false) {
        problems.push({
          file,
          message: `provider ${name}: allowUiUpdates must be false (the dashboards are generated from code)`,
        });
      }
    }
  }
  const anyFile = Object.keys(files)[0] ?? 'provisioning/dashboards';
  if (!generated) {
    problems.push({
      file: anyFile,
      message: `no file provider reads ${GRAFANA_DASHBOARDS_PATH}, where the generated dashboards are mounted`,
    });
  }
  if (!dashboardsDirExists) {
    problems.push({
      file: anyFile,
      message: 'stack-config/grafana/dashboards does not exist: run `npm run generate`',
    });
  }
  return problems;
}

/** Problems of grafana.ini: Grafana must never start open (anonymous admin, sign-up, a password in the file). */
export function grafanaSettingsProblems(ini: string): string[] {
  const settings = parseIni(ini);
  const problems: string[] = [];
  if (settings.get('auth.anonymous')?.get('enabled')?.toLowerCase() === 'true') {
    problems.push('[auth.anonymous] enabled = true lets anyone in: keep it false');
  }
  if (settings.get('users')?.get('allow_sign_up')?.toLowerCase() !== 'false') {
    problems.push('[users] allow_sign_up must be false');
  }
  const password = settings.get('security')?.get('admin_password');
  if (password !== undefined) {
    problems.push(
      '[security] admin_password must not be in the file: it comes from GF_SECURITY_ADMIN_PASSWORD__FILE (docker compose) or Secrets Manager (ECS)',
    );
  }
  return problems;
}

/** Sections of an ini file, each a map of key to value (comments and blank lines dropped). */
export function parseIni(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current = new Map<string, string>();
  sections.set('', current);
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue;
    const section = /^\[([^\]]+)\]$/.exec(line);
    if (section) {
      current = sections.get(section[1] as string) ?? new Map<string, string>();
      sections.set(section[1] as string, current);
      continue;
    }
    const equals = line.indexOf('=');
    if (equals > 0) current.set(line.slice(0, equals).trim(), line.slice(equals + 1).trim());
  }
  return sections;
}
