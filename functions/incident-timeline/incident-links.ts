/** Where people go from an incident: logs in Grafana Explore, runbooks, dashboards, traces. */
import { logSelectorFor, type ToillessConfig } from '../shared/stack-config.js';
import type { IncidentTimeline, TimelineLink } from './model.js';

/** The uid the provisioned Loki data source has in Grafana. */
export const LOKI_DATASOURCE_UID = 'loki';

/** Evidence and log links start this long before the estimated onset. */
export const LOOKBACK_BEFORE_ONSET_MS = 30 * 60_000;

/** The incident's time range: from 30 minutes before onset to resolution (or the last update). */
export function incidentWindow(timeline: IncidentTimeline): { readonly from: Date; readonly to: Date } {
  return {
    from: new Date(Date.parse(timeline.onset) - LOOKBACK_BEFORE_ONSET_MS),
    to: new Date(timeline.resolvedAt ?? timeline.updatedAt),
  };
}

/** An annotation's link: absolute URLs as they are, relative ones below `base` (toilless.yaml `links`). */
export function joinLink(base: string, link: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(link)) return link;
  return `${base.replace(/\/+$/, '')}/${link.replace(/^\/+/, '')}`;
}

/** Grafana Explore (schemaVersion 1 panes) on the Loki data source with the service's log selector. */
export function exploreLogsUrl(config: ToillessConfig, timeline: IncidentTimeline): string {
  const { from, to } = incidentWindow(timeline);
  const panes = {
    incident: {
      datasource: LOKI_DATASOURCE_UID,
      queries: [
        {
          refId: 'A',
          datasource: { type: 'loki', uid: LOKI_DATASOURCE_UID },
          expr: logSelectorFor(config, timeline.service),
          queryType: 'range',
        },
      ],
      range: { from: String(from.getTime()), to: String(to.getTime()) },
    },
  };
  const base = config.links.grafanaUrl.replace(/\/+$/, '');
  return `${base}/explore?schemaVersion=1&orgId=1&panes=${encodeURIComponent(JSON.stringify(panes))}`;
}

/** A link longer than this is never rendered as a link (a crafted generatorURL can be a megabyte). */
export const MAX_LINK_CHARS = 4096;

/**
 * Where links taken from alerts (generatorURL, runbook_url, dashboard_url) may point: the origins of
 * Grafana and of the configured Prometheus URLs, and anything below the runbooks base. A link
 * elsewhere is shown as text naming its host, so an alert cannot put a disguised link in Slack or
 * timeline.md.
 */
export interface LinkPolicy {
  readonly origins: ReadonlySet<string>;
  /** URL prefixes (ending in `/`) a link may start with. */
  readonly prefixes: readonly string[];
}

/** The policy of a configuration: links.grafanaUrl, links.runbooksUrl, prometheus.externalUrls and PROMETHEUS_URL. */
export function linkPolicy(config: ToillessConfig, prometheusUrls: readonly string[] = []): LinkPolicy {
  const origins = new Set<string>();
  for (const url of [config.links.grafanaUrl, ...config.prometheus.externalUrls, ...prometheusUrls]) {
    const parsed = webUrl(url);
    if (parsed) origins.add(parsed.origin);
  }
  const runbooks = webUrl(config.links.runbooksUrl);
  const prefixes = runbooks ? [runbooks.href.endsWith('/') ? runbooks.href : `${runbooks.href}/`] : [];
  return { origins, prefixes };
}

/** How a link from an alert is shown: as a link when the policy allows it, else as text with its host. */
export type ShownLink =
  | { readonly kind: 'link'; readonly title: string; readonly url: string }
  | { readonly kind: 'text'; readonly title: string; readonly host: string };

export function showLink(link: TimelineLink, policy: LinkPolicy): ShownLink {
  const url = link.url.length <= MAX_LINK_CHARS ? webUrl(link.url) : undefined;
  if (
    url &&
    (policy.origins.has(url.origin) || policy.prefixes.some((prefix) => url.href.startsWith(prefix)))
  ) {
    return { kind: 'link', title: link.title, url: link.url };
  }
  return { kind: 'text', title: link.title, host: url?.host ?? hostOf(link.url) };
}

/** The links of an event as they may be shown: links alerts carry go through the policy, toilless' own do not. */
export function shownEventLinks(
  event: { readonly source: string; readonly links: readonly TimelineLink[] },
  policy: LinkPolicy,
): ShownLink[] {
  return event.links.map((link) =>
    event.source === 'alertmanager'
      ? showLink(link, policy)
      : { kind: 'link', title: link.title, url: link.url },
  );
}

function webUrl(text: string): URL | undefined {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** The host of a long or malformed URL, read without parsing it whole. */
function hostOf(text: string): string {
  const match = /^[a-z][a-z0-9+.-]{0,20}:\/\/([^/?#\s]{1,253})/i.exec(text.slice(0, 300));
  return match?.[1] ?? 'an invalid URL';
}

/** Each alert annotation `name` joined to `base`, once each, in alert order. */
function annotationLinks(
  timeline: IncidentTimeline,
  annotation: string,
  base: string,
  title: (alertname: string) => string,
): TimelineLink[] {
  const seen = new Set<string>();
  const links: TimelineLink[] = [];
  for (const alert of timeline.alerts) {
    const value = alert.annotations[annotation]?.trim();
    if (!value) continue;
    const url = joinLink(base, value);
    if (seen.has(url)) continue;
    seen.add(url);
    links.push({ title: title(alert.alertname), url });
  }
  return links;
}

export function runbookLinks(config: ToillessConfig, timeline: IncidentTimeline): TimelineLink[] {
  return annotationLinks(timeline, 'runbook_url', config.links.runbooksUrl, (name) => `Runbook (${name})`);
}

export function dashboardLinks(config: ToillessConfig, timeline: IncidentTimeline): TimelineLink[] {
  return annotationLinks(timeline, 'dashboard_url', config.links.grafanaUrl, (name) => `Dashboard (${name})`);
}

/** The links of trace events (Tempo), once each, in timeline order. */
export function traceLinks(timeline: IncidentTimeline): TimelineLink[] {
  const seen = new Set<string>();
  const links: TimelineLink[] = [];
  for (const event of timeline.events) {
    if (event.kind !== 'trace.error' && event.kind !== 'trace.slow') continue;
    for (const link of event.links) {
      if (seen.has(link.url)) continue;
      seen.add(link.url);
      links.push(link);
    }
  }
  return links;
}
