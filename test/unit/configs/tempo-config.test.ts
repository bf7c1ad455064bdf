import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { expandEnv, referencedVariables } from '../../../functions/service-configs/env-expansion.js';
import { tempoConfigProblems } from '../../../functions/service-configs/tempo.js';
import { TEMPO_LOCAL_ENV } from '../../../functions/service-configs/variants.js';
import { valueAt } from '../../../functions/service-configs/yaml-tree.js';

const SHIPPED = readFileSync(
  join(import.meta.dirname, '..', '..', '..', 'stack-config', 'tempo', 'tempo.yaml'),
  'utf8',
);

function asStarted(env: Record<string, string>): unknown {
  return parseYaml(expandEnv(SHIPPED, env));
}

describe('stack-config/tempo/tempo.yaml', () => {
  it('has everything the design needs, in the S3 and the local variant', () => {
    // Act
    const problems = tempoConfigProblems(SHIPPED);

    // Assess
    expect(problems).toEqual([]);
  });

  it('writes blocks to the S3 bucket of the region from the environment by default', () => {
    // Act
    const config = asStarted({ TEMPO_S3_BUCKET: 'acme-traces', AWS_REGION: 'us-east-2' });

    // Assess
    expect(valueAt(config, 'storage.trace.backend')).toBe('s3');
    expect(valueAt(config, 'storage.trace.s3')).toEqual({
      bucket: 'acme-traces',
      endpoint: 's3.us-east-2.amazonaws.com',
      region: 'us-east-2',
    });
    expect(valueAt(config, 'compactor.compaction.block_retention')).toBe('336h');
  });

  it('writes blocks to the /var/tempo volume with the environment docker compose sets', () => {
    // Act
    const config = asStarted(TEMPO_LOCAL_ENV);

    // Assess
    expect(valueAt(config, 'storage.trace.backend')).toBe('local');
    expect(valueAt(config, 'storage.trace.local.path')).toBe('/var/tempo/blocks');
  });

  it('generates service graphs and span metrics into Prometheus with exemplars', () => {
    // Act
    const config = asStarted({});

    // Assess
    expect(valueAt(config, 'overrides.defaults.metrics_generator.processors')).toEqual([
      'service-graphs',
      'span-metrics',
    ]);
    expect(valueAt(config, 'metrics_generator.storage.remote_write')).toEqual([
      { url: 'http://prometheus:9090/api/v1/write', send_exemplars: true },
    ]);
  });

  it('reads only the variables the ECS task and docker compose set', () => {
    // Assess
    expect(referencedVariables(SHIPPED)).toEqual(['AWS_REGION', 'TEMPO_S3_BUCKET', 'TEMPO_STORAGE']);
  });

  it('reports a generator without the span-metrics processor and a missing retention', () => {
    // Prepare
    const text = SHIPPED.replace(
      'processors: [service-graphs, span-metrics]',
      'processors: [service-graphs]',
    ).replace('    block_retention: 336h\n', '    compaction_window: 1h\n');

    // Act
    const problems = tempoConfigProblems(text);

    // Assess
    expect(problems).toEqual([
      'compactor.compaction.block_retention must be set: it is how long traces are kept',
      'overrides.defaults.metrics_generator.processors must include span-metrics',
    ]);
  });

  it('reports an S3 endpoint left incomplete by a missing region', () => {
    // Prepare
    const text = SHIPPED.replace(
      `endpoint: s3.\${AWS_REGION}.amazonaws.com`,
      `endpoint: s3.\${REGION}.amazonaws.com`,
    );

    // Act
    const problems = tempoConfigProblems(text);

    // Assess
    expect(problems).toContain(
      'with the s3 variant (TEMPO_S3_BUCKET=toilless-tempo-blocks AWS_REGION=eu-west-1): storage.trace.s3.endpoint is empty or incomplete ("s3..amazonaws.com"): set TEMPO_S3_BUCKET and AWS_REGION',
    );
  });
});
