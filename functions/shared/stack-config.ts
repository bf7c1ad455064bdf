/**
 * stack-config/toilless.yaml: the one file of values an operator sets. The CDK app and the workers
 * both read it from here, so a value is never copied between them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseDurationMs } from './duration.js';
import { ConfigurationError } from './errors.js';
import { parseWith } from './validation.js';

const duration = z.string().refine(
  (value) => {
    try {
      parseDurationMs(value);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected a duration such as 30s, 5m, 2h or 7d' },
);

const regex = z.string().refine(
  (value) => {
    try {
      new RegExp(value);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected a valid regular expression' },
);

const serviceSchema = z.strictObject({
  /** LogQL stream selector for the service's logs. @default {service_name="<service>"} */
  logSelector: z.string().min(3).optional(),
  /** GitHub repositories (owner/name) whose deployments change this service. */
  repositories: z.array(z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'expected owner/name')).default([]),
});

export const toillessConfigSchema = z.strictObject({
  links: z
    .strictObject({
      /** The Grafana people open: dashboard_url annotations are paths below it. */
      grafanaUrl: z.url().default('http://localhost:3000'),
      /** Where stack-config/ is browsable: runbook_url annotations are paths below it. */
      runbooksUrl: z.url().default('http://localhost:8080/stack-config'),
    })
    .prefault({}),
  slack: z
    .strictObject({
      channel: z.string().min(1).default('#toilless'),
    })
    .prefault({}),
  services: z
    .record(
      z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'service names are lower-case kebab-case'),
      serviceSchema,
    )
    .default({}),
  incidents: z
    .strictObject({
      /** Overall time budget for querying the sources of one timeline. */
      sourceBudget: duration.default('20s'),
      /** How far before onset a deployment is still a suspect. */
      deployLookback: duration.default('2h'),
      /** Bound on error log lines sampled per incident. */
      maxErrorLines: z.number().int().min(1).max(5000).default(200),
    })
    .prefault({}),
  dora: z
    .strictObject({
      /** GitHub environment names that count as production. */
      productionEnvironments: regex.default('^(production|prod)$'),
      /** Workflow names that are deployments. */
      deployWorkflows: regex.default('deploy'),
      /** A critical incident on a mapped service this soon after a deployment counts against it. */
      incidentAttributionWindow: duration.default('1h'),
    })
    .prefault({}),
});

export type ToillessConfig = z.output<typeof toillessConfigSchema>;

/** The repository's stack-config directory; TOILLESS_STACK_CONFIG overrides it (tests, other layouts). */
export function stackConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.TOILLESS_STACK_CONFIG ?? join(import.meta.dirname, '..', '..', 'stack-config');
}

export function parseToillessConfig(text: string, source = 'toilless.yaml'): ToillessConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (error) {
    throw new ConfigurationError(`${source}: not valid YAML: ${(error as Error).message}`, { cause: error });
  }
  try {
    return parseWith(toillessConfigSchema, raw, source);
  } catch (error) {
    throw new ConfigurationError((error as Error).message, { cause: error });
  }
}

export function loadToillessConfig(dir: string = stackConfigDir()): ToillessConfig {
  const path = join(dir, 'toilless.yaml');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigurationError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  return parseToillessConfig(text, 'stack-config/toilless.yaml');
}

/** The LogQL selector of a service: its configured one, or {service_name="<service>"}. */
export function logSelectorFor(config: ToillessConfig, service: string): string {
  return config.services[service]?.logSelector ?? `{service_name=${JSON.stringify(service)}}`;
}
