import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { expandEnv } from '../../../functions/service-configs/env-expansion.js';
import { lokiLargeConfigProblems } from '../../../functions/service-configs/loki.js';
import { tempoLargeConfigProblems } from '../../../functions/service-configs/tempo.js';
import { LOKI_LARGE_VARIANTS, TEMPO_LARGE_VARIANTS } from '../../../functions/service-configs/variants.js';
import { valueAt } from '../../../functions/service-configs/yaml-tree.js';

const stackConfig = join(import.meta.dirname, '..', '..', '..', 'stack-config');
const LOKI_LARGE = readFileSync(join(stackConfig, 'loki', 'loki-large.yaml'), 'utf8');
const TEMPO_LARGE = readFileSync(join(stackConfig, 'tempo', 'tempo-large.yaml'), 'utf8');

function changed(text: string, from: string | RegExp, to: string): string {
  const after = text.replace(from, to);
  if (after === text) throw new Error(`the fixture no longer contains ${from}`);
  return after;
}

describe('stack-config/loki/loki-large.yaml', () => {
  it('has everything the design needs in simple scalable mode on S3', () => {
    // Act
    const problems = lokiLargeConfigProblems(LOKI_LARGE);

    // Assess
    expect(problems).toEqual([]);
  });

  it('joins the write, read and backend tasks through their Cloud Map records in the namespace', () => {
    // Act
    const config = parseYaml(
      expandEnv(LOKI_LARGE, { ...LOKI_LARGE_VARIANTS[0]?.env, TOILLESS_NAMESPACE: 'obs.internal' }),
    );

    // Assess
    expect(valueAt(config, 'memberlist.join_members')).toEqual([
      'dns+loki-write.obs.internal:7946',
      'dns+loki-read.obs.internal:7946',
      'dns+loki-backend.obs.internal:7946',
    ]);
    expect(valueAt(config, 'storage_config.tsdb_shipper.index_gateway_client.server_address')).toBe(
      'dns+loki-backend.obs.internal:9095',
    );
    expect(valueAt(config, 'common.compactor_address')).toBe('http://loki-backend.obs.internal:3100');
    // No frontend or scheduler address: Loki finds the schedulers in their ring.
    expect(valueAt(config, 'frontend')).toBeUndefined();
    expect(valueAt(config, 'querier.frontend_worker')).toBeUndefined();
  });

  it('reports rings kept in memory, which would split the cluster into lone tasks', () => {
    // Prepare
    const text = changed(LOKI_LARGE, 'store: memberlist', 'store: inmemory');

    // Act
    const problems = lokiLargeConfigProblems(text);

    // Assess
    expect(problems).toEqual([
      'common.ring.kvstore.store is "inmemory", expected memberlist: the write, read and backend tasks share their rings through it',
    ]);
  });

  it('reports a missing peer service and a gRPC port the security groups do not open', () => {
    // Prepare
    const text = changed(
      changed(LOKI_LARGE, / {4}- dns\+loki-backend\.\S+\n/, ''),
      'grpc_listen_port: 9095',
      'grpc_listen_port: 9096',
    );

    // Act
    const problems = lokiLargeConfigProblems(text);

    // Assess
    expect(problems).toEqual([
      'server.grpc_listen_port must be 9095: the security groups open that port between the members',
      'memberlist.join_members must include dns+loki-backend.toilless.local:7946: the loki-backend tasks are found through that record',
    ]);
  });

  it('reports an unknown key as Loki would refuse it', () => {
    // Prepare
    const text = changed(LOKI_LARGE, 'rejoin_interval: 1m', 'rejoin_intervall: 1m');

    // Act
    const problems = lokiLargeConfigProblems(text);

    // Assess
    expect(problems).toEqual([
      'unknown key "rejoin_intervall" in memberlist: Loki 3.4.6 refuses to start with it; did you mean "rejoin_interval"?',
    ]);
  });
});

describe('stack-config/tempo/tempo-large.yaml', () => {
  it('has everything the design needs scaled out on S3', () => {
    // Act
    const problems = tempoLargeConfigProblems(TEMPO_LARGE);

    // Assess
    expect(problems).toEqual([]);
  });

  it('finds the other tasks and their query frontends through the tempo record', () => {
    // Act
    const config = parseYaml(expandEnv(TEMPO_LARGE, { ...TEMPO_LARGE_VARIANTS[0]?.env }));

    // Assess
    expect(valueAt(config, 'memberlist.join_members')).toEqual(['dns+tempo.toilless.local:7946']);
    expect(valueAt(config, 'querier.frontend_worker.frontend_address')).toBe('tempo.toilless.local:9095');
    expect(valueAt(config, 'storage.trace.backend')).toBe('s3');
  });

  it('reports a ring that would advertise the link-local metadata address every Fargate task shares', () => {
    // Prepare: the metrics generator ring back on the default interface.
    const text = changed(
      TEMPO_LARGE,
      /(metrics_generator:\n(?:.*\n)*?\s+)instance_interface_names: \[eth0, eth1\]/,
      '$1instance_interface_names: [eth0]',
    );

    // Act
    const problems = tempoLargeConfigProblems(text);

    // Assess
    expect(problems).toEqual([
      'metrics_generator.ring.instance_interface_names must include eth1: on Fargate eth0 is the link-local metadata network, the same address in every task',
    ]);
  });

  it('reports queriers that would reach no query frontend', () => {
    // Prepare
    const text = changed(TEMPO_LARGE, /frontend_address: \S+/, 'parallelism: 2');

    // Act
    const problems = tempoLargeConfigProblems(text);

    // Assess
    expect(problems).toEqual([
      'querier.frontend_worker.frontend_address must be tempo.toilless.local:9095: each querier connects to the frontends of all tasks',
    ]);
  });
});
