/**
 * Which PromQL runs against Prometheus: only an alert's expression from a generatorURL on a configured
 * Prometheus and within the length cap; otherwise the configured rule of the alert's name, or nothing.
 */
import { createServer, type Server } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IncidentAlert } from '../../../../functions/incident-timeline/model.js';
import { SourceFindings } from '../../../../functions/incident-timeline/sources/findings.js';
import {
  alertQuerySource,
  gatherPrometheusEvidence,
  MAX_EXPRESSION_LENGTH,
  originsOf,
  parseAlertCondition,
  rulesOf,
} from '../../../../functions/incident-timeline/sources/prometheus.js';
import { PrometheusClient } from '../../../../functions/shared/clients/prometheus.js';
import { closeServer, listenOnLoopback } from '../../../support/http-test-server.js';
import { evidenceRequest, fastBurnAlert } from './incident-data.js';

const LEAK = 'count({__name__=~".+"}) by (__name__)';
const RULE_QUERY = 'slo:sli_error:ratio_rate5m{service="sample-app"} > 0.144';

const generatorUrl = (origin: string, expr: string) =>
  `${origin}/graph?g0.expr=${encodeURIComponent(expr)}&g0.tab=1`;

describe('Trusted alert expressions', () => {
  const trusted = originsOf(['http://localhost:9090', 'https://prometheus.example.com/']);

  it('uses the expression of a generatorURL on a configured Prometheus', () => {
    expect(alertQuerySource(generatorUrl('https://prometheus.example.com', 'up == 0'), trusted)).toEqual({
      kind: 'expression',
      expr: 'up == 0',
    });
  });

  it('looks the rule up instead when the generatorURL is on any other host, and says why', () => {
    for (const origin of [
      'https://evil.example',
      'http://localhost:9091',
      'https://prometheus.example.com.evil.example',
    ]) {
      expect(alertQuerySource(generatorUrl(origin, LEAK), trusted)).toEqual({
        kind: 'lookup',
        reason: expect.stringContaining('which is not a Prometheus toilless knows'),
      });
    }
  });

  it('looks the rule up for a relative, malformed or empty generatorURL', () => {
    for (const url of ['/graph?g0.expr=up', 'http://[not a url', '', 'javascript:alert(1)']) {
      expect(alertQuerySource(url, trusted)).toEqual({ kind: 'lookup' });
    }
  });

  it('ignores an expression over 8 KiB even from a configured Prometheus', () => {
    const long = `${'('.repeat(MAX_EXPRESSION_LENGTH)}up${')'.repeat(MAX_EXPRESSION_LENGTH)}`;

    expect(alertQuerySource(generatorUrl('http://localhost:9090', long), trusted)).toEqual({
      kind: 'lookup',
      reason: `its expression is ${long.length} characters long, over the limit of ${MAX_EXPRESSION_LENGTH}`,
    });
  });

  it('parses an expression nested to the length cap in one pass', () => {
    const depth = MAX_EXPRESSION_LENGTH / 2 - 8;
    const expr = `${'('.repeat(depth)}errors > 3${')'.repeat(depth)}`;
    const started = performance.now();

    const condition = parseAlertCondition(expr);

    expect(performance.now() - started).toBeLessThan(50);
    expect(condition).toMatchObject({ kind: 'threshold', lhs: 'errors', operator: '>', threshold: 3 });
  });

  it('does not recurse without bound into a deeply nested constant', () => {
    const expr = `errors > ${'('.repeat(3000)}1${')'.repeat(3000)}`;

    expect(parseAlertCondition(expr)).toEqual({ kind: 'expression', expr });
  });
});

describe('Rules an alert can come from', () => {
  it('matches a rule by name and static labels, and ignores labels the rule templates per alert', () => {
    // Prepare
    const alert = fastBurnAlert({
      alertname: 'InstanceDown',
      labels: { severity: 'critical', service: 'node' },
    });
    const templated = {
      name: 'InstanceDown',
      query: 'up == 0',
      labels: {
        severity: 'critical',
        service: '{{ with $labels.service }}{{ . }}{{ else }}{{ $labels.job }}{{ end }}',
      },
    };
    const otherSeverity = { name: 'InstanceDown', query: 'up == 0', labels: { severity: 'warning' } };
    const otherName = { name: 'TargetDown', query: 'up == 0', labels: { severity: 'critical' } };

    // Act
    const found = rulesOf([templated, otherSeverity, otherName], alert);

    // Assess
    expect(found).toEqual([templated]);
  });
});

describe('Prometheus evidence from untrusted alerts', () => {
  let server: Server;
  let url: string;
  let queries: string[];
  let rules: unknown[];

  beforeEach(async () => {
    queries = [];
    rules = [];
    server = createServer((request, response) => {
      const target = new URL(request.url ?? '/', 'http://localhost');
      response.setHeader('content-type', 'application/json');
      if (target.pathname === '/api/v1/rules') {
        response.end(JSON.stringify({ status: 'success', data: { groups: [{ name: 'slo', rules }] } }));
        return;
      }
      queries.push(target.searchParams.get('query') ?? '');
      response.end(JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [] } }));
    });
    url = await listenOnLoopback(server);
  });

  afterEach(async () => {
    await closeServer(server);
  });

  async function gather(alerts: readonly IncidentAlert[]) {
    const findings = new SourceFindings();
    await gatherPrometheusEvidence(evidenceRequest({ alerts }), new AbortController().signal, findings, {
      client: new PrometheusClient({ baseUrl: url }),
      grafanaUrl: 'https://grafana.example.com',
      trustedUrls: [url],
    });
    return { events: findings.events(), problems: findings.problems };
  }

  it('never runs the expression of a generatorURL on an unknown host; runs the configured rule instead', async () => {
    // Prepare
    rules = [
      { type: 'alerting', name: 'FastBurnRate', query: RULE_QUERY, labels: { severity: 'critical' } },
      { type: 'alerting', name: 'FastBurnRate', query: 'other_service > 1', labels: { service: 'checkout' } },
      { type: 'recording', name: 'FastBurnRate', query: 'recorded' },
    ];
    const hostile = fastBurnAlert({ generatorURL: generatorUrl('https://evil.example', LEAK) });

    // Act
    const { events, problems } = await gather([hostile]);

    // Assess
    expect(problems).toEqual([]);
    expect(queries).not.toContain(LEAK);
    expect(queries).toContain('slo:sli_error:ratio_rate5m{service="sample-app"}');
    expect(queries).not.toContain('other_service');
    expect(events.filter((event) => event.kind === 'note')).toEqual([
      expect.objectContaining({
        source: 'prometheus',
        summary:
          'The expression of FastBurnRate is not used: its generatorURL is on evil.example, which is not a Prometheus toilless knows (PROMETHEUS_URL, prometheus.externalUrls in toilless.yaml); the query of the alerting rule of that name in Prometheus is used instead',
      }),
    ]);
  });

  it('skips an alert with a note when Prometheus has no rule of its name', async () => {
    const hostile = fastBurnAlert({ generatorURL: generatorUrl('https://evil.example', LEAK) });

    const { events } = await gather([hostile]);

    expect(queries).toEqual([expect.stringMatching(/^ALERTS\{/)]);
    expect(events.filter((event) => event.kind === 'note').map((event) => event.summary)).toEqual([
      expect.stringMatching(/Prometheus has no alerting rule of that name, so it is skipped$/),
    ]);
  });

  it('runs the expression of a generatorURL on the configured Prometheus without asking for rules', async () => {
    const own = fastBurnAlert({ generatorURL: generatorUrl(url, 'errors > 3') });

    const { events } = await gather([own]);

    expect(queries.sort()).toEqual([expect.stringMatching(/^ALERTS\{/), 'errors']);
    expect(events.filter((event) => event.kind === 'note')).toEqual([]);
  });
});
