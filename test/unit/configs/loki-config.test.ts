import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { expandEnv, referencedVariables } from '../../../functions/service-configs/env-expansion.js';
import { lokiConfigProblems } from '../../../functions/service-configs/loki.js';
import { LOKI_LOCAL_ENV, LOKI_VARIANTS } from '../../../functions/service-configs/variants.js';
import { valueAt } from '../../../functions/service-configs/yaml-tree.js';

const SHIPPED = readFileSync(
  join(import.meta.dirname, '..', '..', '..', 'stack-config', 'loki', 'loki.yaml'),
  'utf8',
);
const S3_ENV = { LOKI_S3_BUCKET: 'acme-logs', AWS_REGION: 'eu-central-1' };

function asStarted(env: Record<string, string>): unknown {
  return parseYaml(expandEnv(SHIPPED, env));
}

describe('stack-config/loki/loki.yaml', () => {
  it('has everything the design needs, in the S3 and the local variant', () => {
    // Act
    const problems = lokiConfigProblems(SHIPPED);

    // Assess
    expect(problems).toEqual([]);
    expect(LOKI_VARIANTS.map((variant) => variant.name)).toEqual(['s3', 'local']);
  });

  it('stores chunks, index and delete requests in the S3 bucket from the environment by default', () => {
    // Act
    const config = asStarted(S3_ENV);

    // Assess
    expect(valueAt(config, 'schema_config.configs')).toEqual([
      expect.objectContaining({ store: 'tsdb', schema: 'v13', object_store: 's3' }),
    ]);
    expect(valueAt(config, 'storage_config.aws')).toEqual({
      bucketnames: 'acme-logs',
      region: 'eu-central-1',
    });
    expect(valueAt(config, 'compactor.delete_request_store')).toBe('s3');
    expect(valueAt(config, 'compactor.retention_enabled')).toBe(true);
    expect(valueAt(config, 'limits_config.retention_period')).toBe('720h');
  });

  it('stores everything on the /loki volume with the environment docker compose sets', () => {
    // Act
    const config = asStarted(LOKI_LOCAL_ENV);

    // Assess
    expect(valueAt(config, 'schema_config.configs')).toEqual([
      expect.objectContaining({ object_store: 'filesystem' }),
    ]);
    expect(valueAt(config, 'compactor.delete_request_store')).toBe('filesystem');
    expect(valueAt(config, 'storage_config.filesystem.directory')).toBe('/loki/chunks');
  });

  it('keeps service.name as the service_name index label of OTLP logs and discovers it for other pushes', () => {
    // Act
    const config = asStarted(S3_ENV);

    // Assess
    expect(valueAt(config, 'limits_config.otlp_config.resource_attributes.attributes_config')).toContainEqual(
      {
        action: 'index_label',
        attributes: expect.arrayContaining(['service.name']),
      },
    );
    expect(valueAt(config, 'limits_config.discover_service_name')).toEqual(
      expect.arrayContaining(['service', 'app']),
    );
    expect(valueAt(config, 'limits_config.allow_structured_metadata')).toBe(true);
  });

  it('reads only the variables the ECS task and docker compose set', () => {
    // Act
    const variables = referencedVariables(SHIPPED);

    // Assess
    expect(variables).toEqual(['AWS_REGION', 'LOKI_S3_BUCKET', 'LOKI_STORAGE']);
  });

  it('reports retention without a delete request store', () => {
    // Prepare
    const text = SHIPPED.replace(`  delete_request_store: \${LOKI_STORAGE:-s3}\n`, '');

    // Act
    const problems = lokiConfigProblems(text);

    // Assess
    expect(text).not.toBe(SHIPPED);
    expect(problems).toContain('compactor.delete_request_store is required when retention_enabled is true');
  });

  it('reports an S3 variant without a bucket, and a schema older than v13', () => {
    // Prepare
    const text = SHIPPED.replace(`bucketnames: \${LOKI_S3_BUCKET}`, `bucketnames: \${LOKI_BUCKET}`).replace(
      'schema: v13',
      'schema: v12',
    );

    // Act
    const problems = lokiConfigProblems(text);

    // Assess
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /s3 variant .*storage_config\.aws\.bucketnames is empty \(set LOKI_S3_BUCKET\)$/,
        ),
        'the newest schema_config period uses tsdb/v12: structured metadata (OTLP attributes, trace_id) needs store tsdb with schema v13',
      ]),
    );
  });

  it('reports a variable default that sends the local variant to S3', () => {
    // Prepare: the local variant's variable renamed, so docker compose would select S3 without a bucket.
    const text = SHIPPED.replaceAll(`\${LOKI_STORAGE:-s3}`, `\${LOKI_OBJECT_STORE:-s3}`);

    // Act
    const problems = lokiConfigProblems(text);

    // Assess
    expect(problems).toContain(
      'with the local variant (LOKI_STORAGE=filesystem): object_store is "s3", expected filesystem',
    );
  });
});
