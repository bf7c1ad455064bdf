import { Stack, Token } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { endpointVariables } from '../../../lib/workers/observability-endpoints.js';

describe('Observability endpoints', () => {
  it('sets the variable of each wanted endpoint that is given, and no other', () => {
    // Act
    const variables = endpointVariables(
      {
        prometheusUrl: 'https://prometheus.lgtm.internal:9090',
        remoteWriteUrl: 'https://prometheus.lgtm.internal:9090/api/v1/write',
        lokiUrl: 'http://loki.lgtm.internal:3100',
      },
      ['prometheusUrl', 'lokiUrl', 'tempoUrl'],
    );

    // Assess
    expect(variables).toEqual({
      PROMETHEUS_URL: 'https://prometheus.lgtm.internal:9090',
      LOKI_URL: 'http://loki.lgtm.internal:3100',
    });
  });

  it('derives the remote-write receiver from prometheusUrl for a worker that only writes', () => {
    // Act
    const variables = endpointVariables({ prometheusUrl: 'https://prometheus.example.net/' }, [
      'remoteWriteUrl',
    ]);

    // Assess
    expect(variables).toEqual({
      PROMETHEUS_REMOTE_WRITE_URL: 'https://prometheus.example.net/api/v1/write',
    });
  });

  it('keeps a remote-write receiver given apart from prometheusUrl (a hosted Prometheus)', () => {
    // Act
    const variables = endpointVariables(
      {
        prometheusUrl: 'https://prometheus.example.net/api/prom',
        remoteWriteUrl: 'https://prometheus.example.net/api/prom/push',
      },
      ['remoteWriteUrl'],
    );

    // Assess
    expect(variables).toEqual({
      PROMETHEUS_REMOTE_WRITE_URL: 'https://prometheus.example.net/api/prom/push',
    });
  });

  it('sets nothing when no endpoints are given', () => {
    // Act
    const variables = endpointVariables(undefined, ['prometheusUrl', 'grafanaUrl']);

    // Assess
    expect(variables).toEqual({});
  });

  it('passes an address only known at deploy time through unchecked', () => {
    // Prepare
    const stack = new Stack();
    const grafanaUrl = Token.asString({ 'Fn::ImportValue': 'Toilless-Observability-GrafanaUrl' });

    // Act
    const variables = endpointVariables({ grafanaUrl }, ['grafanaUrl']);

    // Assess
    expect(stack.resolve(variables)).toEqual({
      GRAFANA_URL: { 'Fn::ImportValue': 'Toilless-Observability-GrafanaUrl' },
    });
  });

  it.each([
    ['lokiUrl', 'loki:3100', /observability\.lokiUrl "loki:3100" is not http\(s\)/],
    ['tempoUrl', 'not a url', /observability\.tempoUrl "not a url" is not a URL/],
    ['grafanaUrl', 'ftp://grafana.example.com', /is not http\(s\): use an http:\/\/ or https:\/\/ address/],
    ['prometheusUrl', 'http://localhost:9090', /points at the function itself on Lambda/],
    ['remoteWriteUrl', 'http://127.0.0.1:9090/api/v1/write', /points at the function itself on Lambda/],
  ] as const)('refuses %s %s with a sentence saying what to change', (name, value, message) => {
    // Act
    const act = () => endpointVariables({ [name]: value }, [name]);

    // Assess
    expect(act).toThrow(message);
  });
});
