import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRuntimeConfig } from '../../../functions/shared/config.js';
import { ConfigurationError } from '../../../functions/shared/errors.js';

describe('Runtime configuration from the environment', () => {
  it('defaults every endpoint to the local stack', () => {
    // Act
    const config = loadRuntimeConfig({});

    // Assess
    expect(config).toMatchObject({
      prometheusUrl: 'http://localhost:9090',
      prometheusRemoteWriteUrl: 'http://localhost:9090/api/v1/write',
      lokiUrl: 'http://localhost:3100',
      tempoUrl: 'http://localhost:3200',
      grafanaUrl: 'http://localhost:3000',
      dataDir: resolve('.toilless'),
    });
    expect(config.bucket).toBeUndefined();
    expect(config.eventBusName).toBeUndefined();
  });

  it('derives remote-write from PROMETHEUS_URL and takes empty values as unset', () => {
    // Act
    const config = loadRuntimeConfig({ PROMETHEUS_URL: 'http://prometheus:9090/', LOKI_URL: '' });

    // Assess
    expect(config.prometheusUrl).toBe('http://prometheus:9090');
    expect(config.prometheusRemoteWriteUrl).toBe('http://prometheus:9090/api/v1/write');
    expect(config.lokiUrl).toBe('http://localhost:3100');
  });

  it('refuses a URL that is not http(s), naming the variable', () => {
    // Act
    const load = () => loadRuntimeConfig({ TEMPO_URL: 'file:///etc/passwd' });

    // Assess
    expect(load).toThrow(ConfigurationError);
    expect(load).toThrow(/TEMPO_URL/);
  });
});
