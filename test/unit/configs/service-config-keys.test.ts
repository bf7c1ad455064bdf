/**
 * Loki, Tempo and the collector refuse unknown keys at start, and their binaries cannot run here: the
 * shipped configs are checked against key lists taken from each pinned version's reference
 * (Loki: docs/sources/shared/configuration.md at v3.4.6; Tempo: docs/sources/tempo/configuration/
 * _index.md and manifest.md at v2.7.2; collector: the component config structs at v0.123.0).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { expandEnv } from '../../../functions/service-configs/env-expansion.js';
import {
  FREE_FORM,
  type KeyReference,
  unknownKeys,
} from '../../../functions/service-configs/key-reference.js';
import { LOKI_KEYS } from '../../../functions/service-configs/loki-keys.js';
import { OTEL_COLLECTOR_KEYS } from '../../../functions/service-configs/otel-collector-keys.js';
import { TEMPO_KEYS } from '../../../functions/service-configs/tempo-keys.js';
import {
  LOKI_LARGE_VARIANTS,
  LOKI_VARIANTS,
  TEMPO_LARGE_VARIANTS,
  TEMPO_VARIANTS,
} from '../../../functions/service-configs/variants.js';

const stackConfig = join(import.meta.dirname, '..', '..', '..', 'stack-config');
const read = (path: string) => readFileSync(join(stackConfig, path), 'utf8');

const SHIPPED: readonly {
  name: string;
  file: string;
  reference: KeyReference;
  env: Record<string, string>;
}[] = [
  { name: 'Loki', file: 'loki/loki.yaml', reference: LOKI_KEYS, env: { ...LOKI_VARIANTS[0]?.env } },
  { name: 'Tempo', file: 'tempo/tempo.yaml', reference: TEMPO_KEYS, env: { ...TEMPO_VARIANTS[0]?.env } },
  {
    name: 'Loki (large)',
    file: 'loki/loki-large.yaml',
    reference: LOKI_KEYS,
    env: { ...LOKI_LARGE_VARIANTS[0]?.env },
  },
  {
    name: 'Tempo (large)',
    file: 'tempo/tempo-large.yaml',
    reference: TEMPO_KEYS,
    env: { ...TEMPO_LARGE_VARIANTS[0]?.env },
  },
  { name: 'the collector', file: 'otel-collector/config.yaml', reference: OTEL_COLLECTOR_KEYS, env: {} },
];

function shipped(file: string, env: Record<string, string> = {}): Record<string, unknown> {
  return parseYaml(expandEnv(read(file), env)) as Record<string, unknown>;
}

describe('Keys of the shipped service configs', () => {
  it.each(SHIPPED)(
    '$name: every key of $file is in the reference of the pinned version',
    ({ file, reference, env }) => {
      // Act
      const unknown = unknownKeys(shipped(file, env), reference);

      // Assess
      expect(unknown).toEqual([]);
    },
  );

  it('Loki: the key lists come from the blocks of the 3.4 reference the design uses', () => {
    // Assess
    const keys = (path: string) => LOKI_KEYS.blocks[path];
    expect(keys('compactor')).toEqual(expect.arrayContaining(['retention_enabled', 'delete_request_store']));
    expect(keys('limits_config')).toEqual(
      expect.arrayContaining([
        'retention_period',
        'discover_service_name',
        'otlp_config',
        'allow_structured_metadata',
      ]),
    );
    expect(keys('storage_config.aws')).toEqual(
      expect.arrayContaining(['bucketnames', 'region', 's3forcepathstyle']),
    );
    // shared_store is gone in 3.x
    expect(keys('compactor')).not.toContain('shared_store');
  });

  it('Tempo: the key lists hold the options the 2.7 manifest leaves out because they are empty', () => {
    // Assess
    const keys = (path: string) => TEMPO_KEYS.blocks[path];
    expect(keys('')).toEqual(expect.arrayContaining(['stream_over_http_enabled', 'usage_report']));
    expect(keys('compactor.compaction')).toContain('block_retention');
    expect(keys('metrics_generator.storage')).toEqual(expect.arrayContaining(['path', 'remote_write']));
    expect(keys('overrides.defaults.metrics_generator')).toContain('processors');
    // documented for overrides, but not an option of 2.7.2
    expect(keys('overrides.defaults.ingestion')).not.toContain('max_attribute_bytes');
  });

  it('the collector: the key lists follow the v0.123 component structs', () => {
    // Assess
    const keys = (path: string) => OTEL_COLLECTOR_KEYS.blocks[path];
    expect(keys('processors.memory_limiter')).toEqual(
      expect.arrayContaining(['limit_percentage', 'check_interval']),
    );
    expect(keys('service.telemetry.metrics.readers[].pull.exporter.prometheus')).toContain(
      'without_type_suffix',
    );
  });
});

describe('Finding unknown keys', () => {
  it('reports a misspelled Loki key and suggests the right one', () => {
    // Prepare
    const config = shipped('loki/loki.yaml', { ...LOKI_VARIANTS[0]?.env });
    (config['compactor'] as Record<string, unknown>)['retention_enabeld'] = true;

    // Act
    const unknown = unknownKeys(config, LOKI_KEYS);

    // Assess
    expect(unknown).toEqual([
      {
        block: 'compactor',
        key: 'retention_enabeld',
        message:
          'unknown key "retention_enabeld" in compactor: Loki 3.4.6 refuses to start with it; did you mean "retention_enabled"?',
      },
    ]);
  });

  it('reports a Loki 2.x key that 3.4 no longer knows, naming the reference', () => {
    // Prepare
    const config = shipped('loki/loki.yaml', { ...LOKI_VARIANTS[0]?.env });
    (config['compactor'] as Record<string, unknown>)['shared_store'] = 's3';

    // Act
    const [unknown] = unknownKeys(config, LOKI_KEYS);

    // Assess
    expect(unknown?.message).toMatch(
      /^unknown key "shared_store" in compactor: Loki 3\.4\.6 refuses to start with it/,
    );
  });

  it('reports a key put in the wrong Tempo block', () => {
    // Prepare: block_retention belongs in compactor.compaction
    const config = shipped('tempo/tempo.yaml', { ...TEMPO_VARIANTS[0]?.env });
    (config['compactor'] as Record<string, unknown>)['block_retention'] = '48h';

    // Act
    const unknown = unknownKeys(config, TEMPO_KEYS);

    // Assess
    expect(unknown.map((entry) => `${entry.block}: ${entry.key}`)).toEqual(['compactor: block_retention']);
  });

  it('checks list items and says which block nobody has listed yet', () => {
    // Prepare
    const config = shipped('loki/loki.yaml', { ...LOKI_VARIANTS[0]?.env });
    const [period] = (config['schema_config'] as { configs: Record<string, unknown>[] }).configs;
    if (period === undefined) throw new Error('loki.yaml has no schema period');
    period['shema'] = 'v13';
    config['bloom_gateway'] = { enabled: false };

    // Act
    const messages = unknownKeys(config, LOKI_KEYS).map((entry) => entry.message);

    // Assess
    expect(messages).toEqual([
      'unknown key "shema" in schema_config.configs[]: Loki 3.4.6 refuses to start with it; did you mean "schema"?',
      expect.stringMatching(
        /^block bloom_gateway is not covered by the key list of Loki 3\.4\.6: check its keys against/,
      ),
    ]);
  });

  it('checks a collector component by its type, whatever its name', () => {
    // Prepare
    const config = shipped('otel-collector/config.yaml');
    const exporters = config['exporters'] as Record<string, Record<string, unknown>>;
    exporters['otlphttp/loki'] = { ...exporters['otlphttp/loki'], endpoitn: 'http://loki:3100/otlp' };
    exporters['lokiexporter'] = { endpoint: 'http://loki:3100/loki/api/v1/push' };

    // Act
    const messages = unknownKeys(config, OTEL_COLLECTOR_KEYS).map((entry) => entry.message);

    // Assess
    expect(messages).toEqual([
      expect.stringMatching(
        /^unknown key "endpoitn" in exporters\.otlphttp\/loki: .*did you mean "endpoint"\?$/,
      ),
      expect.stringMatching(/^unknown key "lokiexporter" in exporters: /),
    ]);
  });

  it('accepts any key in a free-form block such as external labels', () => {
    // Prepare
    const reference: KeyReference = {
      service: 'Example 1.0',
      source: 'the example reference',
      blocks: { '': ['labels'], labels: FREE_FORM },
    };

    // Act
    const unknown = unknownKeys({ labels: { team: 'sre', anything: { nested: true } } }, reference);

    // Assess
    expect(unknown).toEqual([]);
  });
});
