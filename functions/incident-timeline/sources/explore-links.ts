/**
 * Links from evidence to Grafana Explore (schemaVersion 1 panes), below toilless.yaml `links.grafanaUrl`.
 * The data source uids are the ones the provisioned Grafana gives Loki, Tempo and Prometheus.
 */
import { LOKI_DATASOURCE_UID } from '../incident-links.js';

export const TEMPO_DATASOURCE_UID = 'tempo';
export const PROMETHEUS_DATASOURCE_UID = 'prometheus';

interface ExploreQuery {
  readonly type: 'loki' | 'tempo' | 'prometheus';
  readonly uid: string;
  /** The query's own fields besides refId and datasource (expr, query, queryType...). */
  readonly fields: Readonly<Record<string, unknown>>;
}

function exploreUrl(grafanaUrl: string, query: ExploreQuery, from: Date, to: Date): string {
  const panes = {
    evidence: {
      datasource: query.uid,
      queries: [{ refId: 'A', datasource: { type: query.type, uid: query.uid }, ...query.fields }],
      range: { from: String(from.getTime()), to: String(to.getTime()) },
    },
  };
  const base = grafanaUrl.replace(/\/+$/, '');
  return `${base}/explore?schemaVersion=1&orgId=1&panes=${encodeURIComponent(JSON.stringify(panes))}`;
}

export function exploreTraceUrl(grafanaUrl: string, traceId: string, from: Date, to: Date): string {
  return exploreUrl(
    grafanaUrl,
    { type: 'tempo', uid: TEMPO_DATASOURCE_UID, fields: { queryType: 'traceql', query: traceId } },
    from,
    to,
  );
}

export function exploreTraceSearchUrl(grafanaUrl: string, traceql: string, from: Date, to: Date): string {
  return exploreUrl(
    grafanaUrl,
    { type: 'tempo', uid: TEMPO_DATASOURCE_UID, fields: { queryType: 'traceql', query: traceql, limit: 20 } },
    from,
    to,
  );
}

export function exploreLogsUrl(grafanaUrl: string, logql: string, from: Date, to: Date): string {
  return exploreUrl(
    grafanaUrl,
    { type: 'loki', uid: LOKI_DATASOURCE_UID, fields: { expr: logql, queryType: 'range' } },
    from,
    to,
  );
}

export function exploreMetricsUrl(grafanaUrl: string, promql: string, from: Date, to: Date): string {
  return exploreUrl(
    grafanaUrl,
    { type: 'prometheus', uid: PROMETHEUS_DATASOURCE_UID, fields: { expr: promql, range: true } },
    from,
    to,
  );
}
