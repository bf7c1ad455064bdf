/**
 * stack-config/tempo/tempo.yaml: the keys Tempo 2.7 knows, and what the design needs from it in both
 * variants (S3 on ECS, a volume in docker compose).
 */
import { tempoClusterProblems } from './cluster.js';
import { TEMPO_KEYS } from './tempo-keys.js';
import {
  type ConfigVariant,
  NAMESPACE_ENV,
  TEMPO_LARGE_VARIANTS,
  TEMPO_VARIANTS,
  variantConfigProblems,
} from './variants.js';
import { isMap, listAt, textAt, valueAt } from './yaml-tree.js';

/** The port the workers (TEMPO_URL) and Grafana use. */
export const TEMPO_HTTP_PORT = 3200;

/** The metrics generator's processors behind the service map and traces-to-metrics. */
export const TEMPO_PROCESSORS = ['service-graphs', 'span-metrics'] as const;

/** What is wrong with tempo.yaml, one line each; empty when Tempo 2.7 will start with it as designed. */
export function tempoConfigProblems(text: string): string[] {
  return configProblems(text, TEMPO_VARIANTS, () => []);
}

/**
 * What is wrong with tempo-large.yaml (the large profile's scaled-out Tempo, on ECS only): the same
 * needs as tempo.yaml in its S3 variant, plus memberlist, the query frontends and the cluster's ports.
 */
export function tempoLargeConfigProblems(text: string): string[] {
  return configProblems(text, TEMPO_LARGE_VARIANTS, (config) =>
    tempoClusterProblems(config, NAMESPACE_ENV.TOILLESS_NAMESPACE),
  );
}

function configProblems(
  text: string,
  variants: readonly ConfigVariant[],
  extra: (config: unknown) => string[],
): string[] {
  return variantConfigProblems(text, variants, TEMPO_KEYS, (config, variant) => [
    ...variantProblems(config, variant),
    ...extra(config),
  ]);
}

function variantProblems(config: unknown, variant: 's3' | 'local'): string[] {
  if (!isMap(config)) return ['the file is empty or not a mapping'];
  const problems: string[] = [];

  if (Number(textAt(config, 'server.http_listen_port')) !== TEMPO_HTTP_PORT) {
    problems.push(`server.http_listen_port must be ${TEMPO_HTTP_PORT}: the workers and Grafana use it`);
  }
  if (valueAt(config, 'stream_over_http_enabled') !== true) {
    problems.push('stream_over_http_enabled must be true: the Grafana data source streams search results');
  }
  for (const protocol of ['grpc', 'http']) {
    if (!isMap(valueAt(config, `distributor.receivers.otlp.protocols.${protocol}`))) {
      problems.push(`distributor.receivers.otlp.protocols.${protocol} must be set: traces arrive over OTLP`);
    }
  }

  const backend = textAt(config, 'storage.trace.backend') ?? '';
  if (variant === 's3') {
    if (backend !== 's3') problems.push(`storage.trace.backend is "${backend}", expected s3`);
    for (const key of ['bucket', 'endpoint', 'region']) {
      const value = textAt(config, `storage.trace.s3.${key}`) ?? '';
      if (value === '' || value.includes('..')) {
        problems.push(
          `storage.trace.s3.${key} is empty or incomplete ("${value}"): set TEMPO_S3_BUCKET and AWS_REGION`,
        );
      }
    }
  } else {
    if (backend !== 'local') problems.push(`storage.trace.backend is "${backend}", expected local`);
    if (!textAt(config, 'storage.trace.local.path')) problems.push('storage.trace.local.path must be set');
  }
  if (!textAt(config, 'storage.trace.wal.path')) problems.push('storage.trace.wal.path must be set');
  if (!textAt(config, 'compactor.compaction.block_retention')) {
    problems.push('compactor.compaction.block_retention must be set: it is how long traces are kept');
  }

  if (!textAt(config, 'metrics_generator.storage.path')) {
    problems.push('metrics_generator.storage.path must be set: the generator keeps its WAL there');
  }
  const remoteWrites = listAt(config, 'metrics_generator.storage.remote_write');
  if (!remoteWrites.some((entry) => /\/api\/v1\/write$/.test(textAt(entry, 'url') ?? ''))) {
    problems.push(
      'metrics_generator.storage.remote_write needs a url ending in /api/v1/write (Prometheus): service graphs and span metrics go there',
    );
  }
  const processors = listAt(config, 'overrides.defaults.metrics_generator.processors');
  const missing = TEMPO_PROCESSORS.filter((processor) => !processors.includes(processor));
  if (missing.length > 0) {
    problems.push(`overrides.defaults.metrics_generator.processors must include ${missing.join(', ')}`);
  }
  return problems;
}
