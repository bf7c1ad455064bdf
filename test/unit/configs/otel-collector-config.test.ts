import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { collectorConfigProblems } from '../../../functions/service-configs/otel-collector.js';
import { valueAt } from '../../../functions/service-configs/yaml-tree.js';

const SHIPPED = readFileSync(
  join(import.meta.dirname, '..', '..', '..', 'stack-config', 'otel-collector', 'config.yaml'),
  'utf8',
);

describe('stack-config/otel-collector/config.yaml', () => {
  it('routes logs, traces and metrics as the design says, with nothing unknown', () => {
    // Act
    const problems = collectorConfigProblems(SHIPPED);

    // Assess
    expect(problems).toEqual([]);
  });

  it('sends logs to Loki /otlp, traces to Tempo and metrics to remote-write, after memory_limiter and batch', () => {
    // Act
    const config = parseYaml(SHIPPED) as unknown;

    // Assess
    expect(valueAt(config, 'service.pipelines')).toEqual({
      logs: { receivers: ['otlp'], processors: ['memory_limiter', 'batch'], exporters: ['otlphttp/loki'] },
      traces: { receivers: ['otlp'], processors: ['memory_limiter', 'batch'], exporters: ['otlp/tempo'] },
      metrics: {
        receivers: ['otlp'],
        processors: ['memory_limiter', 'batch'],
        exporters: ['prometheusremotewrite'],
      },
    });
    expect(valueAt(config, 'exporters.otlphttp/loki.endpoint')).toBe('http://loki:3100/otlp');
    expect(valueAt(config, 'exporters.otlp/tempo.endpoint')).toBe('tempo:4317');
    expect(valueAt(config, 'exporters.prometheusremotewrite.endpoint')).toBe(
      'http://prometheus:9090/api/v1/write',
    );
  });

  it('reports a pipeline that batches before limiting memory, and a component nobody defined', () => {
    // Prepare
    const text = SHIPPED.replace(
      '      processors: [memory_limiter, batch]\n      exporters: [otlp/tempo]',
      '      processors: [batch, memory_limiter]\n      exporters: [otlp/jaeger]',
    );

    // Act
    const problems = collectorConfigProblems(text);

    // Assess
    expect(text).not.toBe(SHIPPED);
    expect(problems).toEqual([
      'pipeline traces uses exporter "otlp/jaeger", which exporters does not define',
      'pipeline traces: memory_limiter must be the first processor, so that it refuses data before memory runs out',
      "the traces pipeline must export with otlp to Tempo's OTLP gRPC receiver (tempo:4317)",
    ]);
  });

  it("reports logs sent to Loki's push API instead of its OTLP endpoint", () => {
    // Prepare
    const text = SHIPPED.replace(
      'endpoint: http://loki:3100/otlp',
      'endpoint: http://loki:3100/loki/api/v1/push',
    );

    // Act
    const problems = collectorConfigProblems(text);

    // Assess
    expect(problems).toEqual([
      "the logs pipeline must export with otlphttp to Loki's OTLP endpoint (http://loki:3100/otlp)",
    ]);
  });

  it('reports receivers and own metrics that listen on localhost only', () => {
    // Prepare
    const text = SHIPPED.replace('endpoint: 0.0.0.0:4317', 'endpoint: localhost:4317').replace(
      'host: 0.0.0.0',
      'host: localhost',
    );

    // Act
    const problems = collectorConfigProblems(text);

    // Assess
    expect(problems).toEqual([
      expect.stringMatching(
        /^receivers\.otlp\.protocols\.grpc\.endpoint is "localhost:4317": listen on 0\.0\.0\.0/,
      ),
      expect.stringMatching(
        /^service\.telemetry\.metrics\.readers needs a pull reader with prometheus host 0\.0\.0\.0 and port 8888/,
      ),
    ]);
  });
});
