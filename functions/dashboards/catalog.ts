/**
 * The shipped Grafana dashboards: their uids (alert rules link to them by uid, so a uid never changes),
 * titles, the runbooks each links to, and the links every dashboard carries to the others.
 */
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import {
  type DashboardBuilder,
  type DashboardLink,
  DashboardLinkBuilder,
  DashboardLinkType,
} from '@grafana/grafana-foundation-sdk/dashboard';

/** A shipped dashboard: what people and alert rules know it by. */
export interface DashboardEntry {
  /** The uid in /d/<uid>/...: alert rules' dashboard_url annotations name it. */
  readonly uid: string;
  readonly title: string;
  /** Runbooks the dashboard links to, as paths below stack-config/ (runbooks/<name>.md). */
  readonly runbooks: readonly string[];
}

export const UNIFIED_OBSERVABILITY: DashboardEntry = {
  uid: 'unified-observability',
  title: 'Unified observability',
  runbooks: ['runbooks/high-latency-p95.md', 'runbooks/traffic-drop.md', 'runbooks/instance-down.md'],
};

export const SLO_ERROR_BUDGET: DashboardEntry = {
  uid: 'slo-error-budget',
  title: 'SLO and error budget',
  runbooks: ['runbooks/error-budget-policy.md', 'runbooks/fast-burn-rate.md', 'runbooks/slow-burn-rate.md'],
};

export const DORA_METRICS: DashboardEntry = {
  uid: 'dora-metrics',
  title: 'DORA metrics',
  runbooks: ['runbooks/high-change-failure-rate.md'],
};

export const NODE_EXPORTER: DashboardEntry = {
  uid: 'node-exporter',
  title: 'Node exporter',
  runbooks: [
    'runbooks/high-cpu-warning.md',
    'runbooks/high-memory-warning.md',
    'runbooks/disk-space-warning.md',
    'runbooks/instance-down.md',
  ],
};

export const BLACKBOX_EXPORTER: DashboardEntry = {
  uid: 'blackbox-exporter',
  title: 'Blackbox exporter',
  runbooks: ['runbooks/probe-failed.md', 'runbooks/ssl-cert-expiring-soon.md'],
};

export const TOILLESS: DashboardEntry = {
  uid: 'toilless',
  title: 'toilless',
  runbooks: [
    'runbooks/webhook-errors.md',
    'runbooks/too-many-worker-failures.md',
    'runbooks/dead-letters-appeared.md',
    'runbooks/evidence-source-unavailable.md',
    'runbooks/report-run-failed.md',
    'runbooks/watchdog.md',
    'runbooks/instance-down.md',
  ],
};

/** Every shipped dashboard, in the order of the links bar. */
export const DASHBOARDS: readonly DashboardEntry[] = [
  UNIFIED_OBSERVABILITY,
  SLO_ERROR_BUDGET,
  DORA_METRICS,
  NODE_EXPORTER,
  BLACKBOX_EXPORTER,
  TOILLESS,
];

/** The tag every shipped dashboard carries, so Grafana's dashboard list can show them together. */
export const DASHBOARD_TAG = 'toilless';

/** The Grafana path of a dashboard (below links.grafanaUrl), the form dashboard_url annotations use. */
export function dashboardPath(entry: DashboardEntry): string {
  return `/d/${entry.uid}/${entry.uid}`;
}

/** A runbook's URL: the path below stack-config/ joined to toilless.yaml links.runbooksUrl. */
export function runbookUrl(runbooksUrl: string, path: string): string {
  return `${runbooksUrl.replace(/\/+$/, '')}/${path}`;
}

/** The runbook's name as a person reads it: runbooks/fast-burn-rate.md -> fast burn rate. */
export function runbookTitle(path: string): string {
  return path
    .replace(/^.*\//, '')
    .replace(/\.md$/, '')
    .replaceAll('-', ' ')
    .replace(/\bcpu\b/, 'CPU')
    .replace(/\bssl\b/, 'SSL')
    .replace(/\bp95\b/, 'p95')
    .replace(/^./, (first) => first.toUpperCase());
}

/**
 * The dashboard links bar: every other shipped dashboard (keeping the time range and the variables, so
 * `service` carries over), then this dashboard's runbooks.
 */
export function withDashboardLinks(
  builder: DashboardBuilder,
  self: DashboardEntry,
  runbooksUrl: string,
): DashboardBuilder {
  for (const other of DASHBOARDS) {
    if (other.uid === self.uid) continue;
    builder.link(
      inDashboardBar(
        new DashboardLinkBuilder(other.title)
          .type(DashboardLinkType.Link)
          .url(dashboardPath(other))
          .icon('dashboard')
          .tooltip(`Open the ${other.title} dashboard`)
          .keepTime(true)
          .includeVars(true)
          .targetBlank(false),
      ),
    );
  }
  for (const path of self.runbooks) {
    builder.link(
      inDashboardBar(
        new DashboardLinkBuilder(`Runbook: ${runbookTitle(path)}`)
          .type(DashboardLinkType.Link)
          .url(runbookUrl(runbooksUrl, path))
          .icon('doc')
          .tooltip(`stack-config/${path}`)
          .keepTime(false)
          .includeVars(false)
          .targetBlank(true),
      ),
    );
  }
  return builder;
}

/** A panel link to a runbook (shown in the panel's corner menu). */
export function runbookPanelLink(runbooksUrl: string, path: string): cog.Builder<DashboardLink> {
  return inDashboardBar(
    new DashboardLinkBuilder(`Runbook: ${runbookTitle(path)}`)
      .type(DashboardLinkType.Link)
      .url(runbookUrl(runbooksUrl, path))
      .targetBlank(true),
  );
}

/**
 * A link without the SDK's default `placement: inControlsMenu`, which Grafana 12 reads as "hide in the
 * controls menu": the links belong in the dashboard bar, where Grafana 11 puts them too.
 */
export function inDashboardBar(link: DashboardLinkBuilder): cog.Builder<DashboardLink> {
  return {
    build: () => {
      const { placement: _placement, ...rest } = link.build();
      return rest;
    },
  };
}
