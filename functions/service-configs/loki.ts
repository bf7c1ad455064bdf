/**
 * stack-config/loki/loki.yaml: the keys Loki 3.4 knows, and what the design needs from it in both
 * variants (S3 on ECS, a volume in docker compose).
 */
import { lokiClusterProblems } from './cluster.js';
import { LOKI_KEYS } from './loki-keys.js';
import {
  type ConfigVariant,
  LOKI_LARGE_VARIANTS,
  LOKI_VARIANTS,
  NAMESPACE_ENV,
  variantConfigProblems,
} from './variants.js';
import { isMap, listAt, textAt, valueAt } from './yaml-tree.js';

/** The port the workers (LOKI_URL), Grafana and the collector use. */
export const LOKI_HTTP_PORT = 3100;

const S3_STORES = new Set(['s3', 'aws']);

/** What is wrong with loki.yaml, one line each; empty when Loki 3.4 will start with it as designed. */
export function lokiConfigProblems(text: string): string[] {
  return configProblems(text, LOKI_VARIANTS, () => []);
}

/**
 * What is wrong with loki-large.yaml (the large profile's simple scalable mode, on ECS only): the same
 * needs as loki.yaml in its S3 variant, plus memberlist rings and the cluster's ports.
 */
export function lokiLargeConfigProblems(text: string): string[] {
  return configProblems(text, LOKI_LARGE_VARIANTS, (config) =>
    lokiClusterProblems(config, NAMESPACE_ENV.TOILLESS_NAMESPACE),
  );
}

function configProblems(
  text: string,
  variants: readonly ConfigVariant[],
  extra: (config: unknown) => string[],
): string[] {
  return variantConfigProblems(text, variants, LOKI_KEYS, (config, variant) => [
    ...variantProblems(config, variant),
    ...extra(config),
  ]);
}

function variantProblems(config: unknown, variant: 's3' | 'local'): string[] {
  const problems: string[] = [];
  if (!isMap(config)) return ['the file is empty or not a mapping'];

  if (valueAt(config, 'auth_enabled') !== false) {
    problems.push(
      'auth_enabled must be false: the stack has one tenant and its clients send no X-Scope-OrgID',
    );
  }
  if (Number(textAt(config, 'server.http_listen_port')) !== LOKI_HTTP_PORT) {
    problems.push(
      `server.http_listen_port must be ${LOKI_HTTP_PORT}: the workers, Grafana and the collector use it`,
    );
  }

  const periods = listAt(config, 'schema_config.configs');
  const current = periods.at(-1);
  if (!isMap(current)) {
    problems.push('schema_config.configs is empty: add a period with store tsdb, schema v13');
    return problems;
  }
  if (current['store'] !== 'tsdb' || current['schema'] !== 'v13') {
    problems.push(
      `the newest schema_config period uses ${String(current['store'])}/${String(current['schema'])}: ` +
        'structured metadata (OTLP attributes, trace_id) needs store tsdb with schema v13',
    );
  }
  const store = textAt(current, 'object_store') ?? '';
  const expected = variant === 's3' ? 'S3 (s3 or aws)' : 'filesystem';
  if (variant === 's3' ? !S3_STORES.has(store) : store !== 'filesystem') {
    problems.push(`object_store is "${store}", expected ${expected}`);
  }
  problems.push(...storeProblems(config, store, 'object_store'));

  if (valueAt(config, 'compactor.retention_enabled') === true) {
    const deletes = textAt(config, 'compactor.delete_request_store');
    if (deletes === undefined || deletes === '') {
      problems.push('compactor.delete_request_store is required when retention_enabled is true');
    } else if (deletes !== store) {
      problems.push(
        `compactor.delete_request_store is "${deletes}" but chunks go to "${store}": use the same store`,
      );
    }
    const retention = textAt(config, 'limits_config.retention_period');
    if (retention === undefined || /^0+[a-z]*$/.test(retention)) {
      problems.push('limits_config.retention_period must be set: with 0 the compactor keeps everything');
    }
  } else {
    problems.push('compactor.retention_enabled must be true: without it logs are never deleted');
  }

  if (valueAt(config, 'limits_config.allow_structured_metadata') === false) {
    problems.push('limits_config.allow_structured_metadata must not be false: OTLP logs keep trace_id there');
  }
  if (!keepsServiceName(config)) {
    problems.push(
      'limits_config.otlp_config.resource_attributes.attributes_config must make service.name an index_label: ' +
        'every query selects on service_name',
    );
  }
  return problems;
}

function storeProblems(config: unknown, store: string, setting: string): string[] {
  if (S3_STORES.has(store)) {
    const problems: string[] = [];
    if (!textAt(config, 'storage_config.aws.bucketnames')) {
      problems.push(
        `${setting} is ${store} but storage_config.aws.bucketnames is empty (set LOKI_S3_BUCKET)`,
      );
    }
    if (!textAt(config, 'storage_config.aws.region')) {
      problems.push(`${setting} is ${store} but storage_config.aws.region is empty (set AWS_REGION)`);
    }
    return problems;
  }
  if (store === 'filesystem') {
    return textAt(config, 'storage_config.filesystem.directory')
      ? []
      : [`${setting} is filesystem but storage_config.filesystem.directory is not set`];
  }
  return [`${setting} "${store}" is neither S3 nor filesystem, the two stores this stack configures`];
}

function keepsServiceName(config: unknown): boolean {
  return listAt(config, 'limits_config.otlp_config.resource_attributes.attributes_config').some(
    (entry) =>
      isMap(entry) &&
      entry['action'] === 'index_label' &&
      Array.isArray(entry['attributes']) &&
      entry['attributes'].includes('service.name'),
  );
}
