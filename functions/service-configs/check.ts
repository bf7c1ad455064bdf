/**
 * The service configs and Grafana provisioning under stack-config, as `toilless check` sees them: each
 * file read once, every problem named with the file it is in.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigurationError } from '../shared/errors.js';
import { parseStackVersions } from '../shared/versions.js';
import { blackboxConfigProblems } from './blackbox.js';
import {
  dashboardProviderProblems,
  datasourceProblems,
  grafanaSettingsProblems,
} from './grafana-provisioning.js';
import { lokiConfigProblems, lokiLargeConfigProblems } from './loki.js';
import { collectorConfigProblems } from './otel-collector.js';
import { missingScrapeJobs } from './prometheus-scrapes.js';
import { tempoConfigProblems, tempoLargeConfigProblems } from './tempo.js';

/** One problem in a file under stack-config. */
export interface ServiceConfigDefect {
  /** Relative to the stack-config directory (loki/loki.yaml). */
  readonly path: string;
  readonly message: string;
}

export const SERVICE_CONFIG_FILES = {
  versions: 'versions.yaml',
  loki: 'loki/loki.yaml',
  tempo: 'tempo/tempo.yaml',
  lokiLarge: 'loki/loki-large.yaml',
  tempoLarge: 'tempo/tempo-large.yaml',
  collector: 'otel-collector/config.yaml',
  blackbox: 'blackbox/blackbox.yml',
  prometheus: 'prometheus/prometheus.yml',
  grafanaSettings: 'grafana/grafana.ini',
  datasources: 'grafana/provisioning/datasources',
  dashboardProviders: 'grafana/provisioning/dashboards',
  dashboards: 'grafana/dashboards',
} as const;

/** Every problem of the service configs and Grafana provisioning in the stack-config directory `root`. */
export function serviceConfigDefects(root: string): ServiceConfigDefect[] {
  const defects: ServiceConfigDefect[] = [];
  const files = SERVICE_CONFIG_FILES;
  const read = (path: string): string | undefined => {
    try {
      return readFileSync(join(root, path), 'utf8');
    } catch {
      defects.push({ path, message: 'missing' });
      return undefined;
    }
  };
  const each = (path: string, text: string | undefined, check: (text: string) => string[]) => {
    if (text === undefined) return;
    for (const message of check(text)) defects.push({ path, message });
  };

  each(files.versions, read(files.versions), (text) => {
    try {
      parseStackVersions(text);
      return [];
    } catch (error) {
      if (!(error instanceof ConfigurationError)) throw error;
      return [error.message.replace(/^(?:invalid )?versions\.yaml:\s*/, '')];
    }
  });
  each(files.loki, read(files.loki), lokiConfigProblems);
  each(files.tempo, read(files.tempo), tempoConfigProblems);
  each(files.lokiLarge, read(files.lokiLarge), lokiLargeConfigProblems);
  each(files.tempoLarge, read(files.tempoLarge), tempoLargeConfigProblems);
  each(files.collector, read(files.collector), collectorConfigProblems);
  const prometheus = read(files.prometheus);
  each(files.prometheus, prometheus, missingScrapeJobs);
  each(files.blackbox, read(files.blackbox), (text) => blackboxConfigProblems(text, prometheus));
  each(files.grafanaSettings, read(files.grafanaSettings), grafanaSettingsProblems);

  const datasources = yamlFiles(root, files.datasources);
  if (datasources === undefined) defects.push({ path: files.datasources, message: 'missing' });
  for (const problem of datasourceProblems(datasources ?? {})) {
    defects.push({ path: `grafana/${problem.file}`, message: problem.message });
  }
  const providers = yamlFiles(root, files.dashboardProviders);
  if (providers === undefined) defects.push({ path: files.dashboardProviders, message: 'missing' });
  const dashboardsDir = join(root, files.dashboards);
  const dashboardsExist = existsSync(dashboardsDir) && statSync(dashboardsDir).isDirectory();
  for (const problem of dashboardProviderProblems(providers ?? {}, dashboardsExist)) {
    defects.push({ path: `grafana/${problem.file}`, message: problem.message });
  }
  return defects;
}

/** The YAML files directly in root/dir by path relative to stack-config/grafana, or undefined when dir is missing. */
function yamlFiles(root: string, dir: string): Record<string, string> | undefined {
  const full = join(root, dir);
  if (!existsSync(full)) return undefined;
  const grafanaRelative = dir.replace(/^grafana\//, '');
  return Object.fromEntries(
    readdirSync(full)
      .filter((name) => /\.ya?ml$/.test(name))
      .sort()
      .map((name) => [`${grafanaRelative}/${name}`, readFileSync(join(full, name), 'utf8')]),
  );
}
