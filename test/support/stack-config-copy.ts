/**
 * Test copies of the shipped stack-config: the same rules, routes, templates and inhibitions, with
 * only what points at the deployed stack (service hosts, secret files, external URLs) rewritten to
 * servers the test runs on 127.0.0.1.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { type AlertmanagerOptions, DIR_PLACEHOLDER } from './alertmanager.js';

/** The repository's stack-config/ directory. */
export const STACK_CONFIG_DIR = join(import.meta.dirname, '..', '..', 'stack-config');

const PROMETHEUS_DIR = join(STACK_CONFIG_DIR, 'prometheus');

/**
 * Throwaway copies of the whole shipped stack-config, like `cp -r stack-config <tmp>/stack-config`,
 * removed after the test file. Call it once at the top of the file; `copy()` makes one.
 */
export function useStackConfigCopies(prefix: string): { copy(): Promise<string> } {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
  return {
    copy: async () => {
      const dir = await mkdtemp(join(tmpdir(), prefix));
      dirs.push(dir);
      const copy = join(dir, 'stack-config');
      await cp(STACK_CONFIG_DIR, copy, { recursive: true });
      return copy;
    },
  };
}

/** Rewrites a file of a copy; fails when `change` changes nothing, so a stale fixture is noticed. */
export async function editCopiedFile(path: string, change: (text: string) => string): Promise<void> {
  const before = await readFile(path, 'utf8');
  const after = change(before);
  if (after === before) throw new Error(`the edit of ${path} changed nothing: the fixture no longer matches`);
  await writeFile(path, after);
}
const ALERTMANAGER_DIR = join(STACK_CONFIG_DIR, 'alertmanager');

/** Where the copy of prometheus.yml sends alerts and scrapes. */
export interface PrometheusConfigTargets {
  /** host:port of the Alertmanager that receives the alerts. */
  readonly alertmanager: string;
  /** host:port each kept scrape job scrapes, by job name; shipped jobs not listed are left out. */
  readonly scrapeTargets: Readonly<Record<string, string>>;
  /** Replaces the global scrape_interval. @default 1s */
  readonly scrapeInterval?: string;
  /** Replaces the global evaluation_interval (the shipped rules' `for` is unchanged). @default 1s */
  readonly evaluationInterval?: string;
}

interface ScrapeConfig {
  readonly job_name: string;
  static_configs?: { targets: string[]; labels?: Record<string, string> }[];
  [key: string]: unknown;
}

interface PrometheusConfig {
  global?: Record<string, unknown>;
  rule_files?: string[];
  alerting?: unknown;
  scrape_configs?: ScrapeConfig[];
}

/**
 * The shipped prometheus.yml with its global labels and `rule_files` unchanged, alerts sent to the
 * test's Alertmanager, and only the listed jobs kept, each scraping its one target at the given
 * address with its shipped labels (`service`).
 */
export function shippedPrometheusConfig(targets: PrometheusConfigTargets): string {
  const config = parseYaml(readFileSync(join(PROMETHEUS_DIR, 'prometheus.yml'), 'utf8')) as PrometheusConfig;
  const jobs = config.scrape_configs ?? [];
  for (const job of Object.keys(targets.scrapeTargets)) {
    if (!jobs.some((shipped) => shipped.job_name === job)) {
      throw new Error(
        `prometheus.yml has no scrape job "${job}": use one of ${jobs.map((j) => j.job_name).join(', ')}`,
      );
    }
  }
  config.global = {
    ...config.global,
    scrape_interval: targets.scrapeInterval ?? '1s',
    evaluation_interval: targets.evaluationInterval ?? '1s',
  };
  config.alerting = { alertmanagers: [{ static_configs: [{ targets: [targets.alertmanager] }] }] };
  config.scrape_configs = jobs.flatMap((job) => {
    const address = targets.scrapeTargets[job.job_name];
    if (address === undefined) return [];
    const [only, ...more] = job.static_configs ?? [];
    if (only?.targets.length !== 1 || more.length > 0) {
      throw new Error(
        `scrape job "${job.job_name}" does not have exactly one static target: only such jobs can be redirected`,
      );
    }
    return [{ ...job, static_configs: [{ ...only, targets: [address] }] }];
  });
  return stringifyYaml(config);
}

/**
 * Copies stack-config/prometheus/rules/ unchanged to `<configDir>/rules/`, where the shipped
 * `rule_files` (rules/*.yml, relative to prometheus.yml) finds it. Returns the file names.
 */
export async function copyShippedRuleFiles(configDir: string): Promise<string[]> {
  const source = join(PROMETHEUS_DIR, 'rules');
  await cp(source, join(configDir, 'rules'), { recursive: true });
  return readdirSync(source).filter((name) => name.endsWith('.yml'));
}

/** Where the copy of alertmanager.yml delivers, in place of the deployed stack's endpoints. */
export interface AlertmanagerEndpoints {
  /** URL of every webhook receiver, by receiver name (the toilless webhook, the dead man's switch). */
  readonly webhookUrls: Readonly<Record<string, string>>;
  /** Content of every secret file the config names (credentials_file, api_url_file), by file name. */
  readonly secretFiles: Readonly<Record<string, string>>;
}

interface ReceiverConfig {
  readonly name: string;
  webhook_configs?: { url?: string; [key: string]: unknown }[];
  [key: string]: unknown;
}

/**
 * The shipped alertmanager.yml and templates/ as {@link AlertmanagerOptions}: routes, grouping,
 * inhibitions and templates unchanged; webhook URLs and secret file paths rewritten. Fails when a
 * receiver or secret file has no replacement, so that nothing is ever sent beyond 127.0.0.1.
 */
export function shippedAlertmanager(endpoints: AlertmanagerEndpoints): AlertmanagerOptions {
  const config = parseYaml(readFileSync(join(ALERTMANAGER_DIR, 'alertmanager.yml'), 'utf8')) as {
    receivers: ReceiverConfig[];
  };
  const files: Record<string, string> = {};
  for (const receiver of config.receivers) {
    for (const webhook of receiver.webhook_configs ?? []) {
      const url = endpoints.webhookUrls[receiver.name];
      if (url === undefined) {
        throw new Error(
          `give a webhook URL for the receiver "${receiver.name}" (it posts to ${webhook.url})`,
        );
      }
      webhook.url = url;
    }
  }
  // Secret files are mounted into the deployed task; here they live in the test's directory.
  const relocateSecrets = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(relocateSecrets);
    if (node === null || typeof node !== 'object') return;
    const fields = node as Record<string, unknown>;
    for (const [key, value] of Object.entries(fields)) {
      if ((key === 'credentials_file' || key === 'api_url_file') && typeof value === 'string') {
        const name = basename(value);
        const content = endpoints.secretFiles[name];
        if (content === undefined) throw new Error(`give the content of the secret file "${name}" (${key})`);
        files[`secrets/${name}`] = content;
        fields[key] = `${DIR_PLACEHOLDER}/secrets/${name}`;
      } else {
        relocateSecrets(value);
      }
    }
  };
  relocateSecrets(config.receivers);

  // templates: [templates/*.tmpl] resolves against the config's directory, where these are written.
  const templatesDir = join(ALERTMANAGER_DIR, 'templates');
  for (const name of readdirSync(templatesDir)) {
    files[`templates/${name}`] = readFileSync(join(templatesDir, name), 'utf8');
  }
  return { config: stringifyYaml(config), files };
}
