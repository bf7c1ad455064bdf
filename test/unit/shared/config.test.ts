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
      slackApiUrl: 'https://slack.com/api/',
      dataDir: resolve('.toilless'),
    });
    expect(config.bucket).toBeUndefined();
    expect(config.eventBusName).toBeUndefined();
    expect(config.githubApiUrl).toBeUndefined();
    expect(config.slackChannel).toBeUndefined();
  });

  it('takes what the environment sets: remote-write, GitHub Enterprise, the channel, the bucket and bus', () => {
    // Act
    const config = loadRuntimeConfig({
      PROMETHEUS_URL: 'http://prometheus:9090',
      PROMETHEUS_REMOTE_WRITE_URL: 'https://mimir.example.com/api/v1/push',
      GITHUB_API_URL: 'https://github.example.com/api/v3/',
      SLACK_CHANNEL: '#incidents-eu',
      TOILLESS_BUCKET: 'toilless-store-111122223333',
      TOILLESS_EVENT_BUS: 'toilless',
      TOILLESS_DATA_DIR: 'var/toilless',
    });

    // Assess
    expect(config).toMatchObject({
      prometheusRemoteWriteUrl: 'https://mimir.example.com/api/v1/push',
      githubApiUrl: 'https://github.example.com/api/v3',
      slackChannel: '#incidents-eu',
      bucket: 'toilless-store-111122223333',
      eventBusName: 'toilless',
      dataDir: resolve('var/toilless'),
    });
  });

  it('ends the Slack API URL with one slash, as the Slack client joins method names to it', () => {
    // Act
    const bare = loadRuntimeConfig({ SLACK_API_URL: 'http://127.0.0.1:4010/api' });
    const slashed = loadRuntimeConfig({ SLACK_API_URL: 'http://127.0.0.1:4010/api/' });

    // Assess
    expect(bare.slackApiUrl).toBe('http://127.0.0.1:4010/api/');
    expect(slashed.slackApiUrl).toBe('http://127.0.0.1:4010/api/');
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

  it('names every variable that is wrong at once', () => {
    // Act
    const load = () =>
      loadRuntimeConfig({ LOKI_URL: 'loki:3100', GITHUB_API_URL: 'ftp://github.example.com' });

    // Assess
    expect(load).toThrow(/^invalid environment: .*LOKI_URL: .*; GITHUB_API_URL: /);
  });
});
