/**
 * What every dashboard is built from: the provisioned data sources, a dashboard skeleton with the links
 * bar, threshold and mapping shorthands, and Explore links that keep the dashboard's variables.
 */
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common';
import {
  type AnnotationQuery,
  type Dashboard,
  DashboardBuilder,
  DashboardCursorSync,
  type DashboardLink,
  DashboardLinkBuilder,
  DashboardLinkType,
  type DynamicConfigValue,
  MappingType,
  type MatcherConfig,
  QueryVariableBuilder,
  type Threshold,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  type ValueMapping,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import type { ToillessConfig } from '../shared/stack-config.js';
import { DASHBOARD_TAG, type DashboardEntry, inDashboardBar, withDashboardLinks } from './catalog.js';

/**
 * The data source uids the provisioned Grafana gives Prometheus, Loki and Tempo; the workers' Explore
 * links use the same ones.
 */
export const PROMETHEUS: DataSourceRef = { type: 'prometheus', uid: 'prometheus' };
export const LOKI: DataSourceRef = { type: 'loki', uid: 'loki' };
export const TEMPO: DataSourceRef = { type: 'tempo', uid: 'tempo' };
/** Grafana's built-in data source: annotations stored in Grafana itself (deployment markers). */
export const GRAFANA: DataSourceRef = { type: 'grafana', uid: '-- Grafana --' };

/** The data source uids a shipped dashboard may use. */
export const DATASOURCE_UIDS: readonly string[] = [PROMETHEUS, LOKI, TEMPO, GRAFANA].map((ref) => ref.uid!);

/** A dashboard with its uid, tags, defaults and the links bar; panels are added by the caller. */
export function newDashboard(
  entry: DashboardEntry,
  config: ToillessConfig,
  description: string,
): DashboardBuilder {
  const builder = new DashboardBuilder(entry.title)
    .uid(entry.uid)
    .description(description)
    .tags([DASHBOARD_TAG])
    .timezone('browser')
    .time({ from: 'now-6h', to: 'now' })
    .refresh('1m')
    .tooltip(DashboardCursorSync.Crosshair);
  return withDashboardLinks(builder, entry, config.links.runbooksUrl);
}

/** A variable listing the values of a label, refreshed with the time range. */
export function labelVariable(name: string, label: string, query: string): QueryVariableBuilder {
  return new QueryVariableBuilder(name)
    .label(label)
    .datasource(PROMETHEUS)
    .query({ qryType: 1, query, refId: 'PrometheusVariableQueryEditor-VariableQuery' })
    .definition(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc);
}

/** The "All" option of a multi-value variable, selected by default. */
export const ALL = { text: ['All'], value: ['$__all'] };

/** Absolute thresholds from a base colour and [value, colour] steps above it. */
export function thresholds(
  base: string,
  ...steps: readonly (readonly [number, string])[]
): ThresholdsConfigBuilder {
  const list: Threshold[] = [
    { value: null, color: base },
    ...steps.map(([value, color]) => ({ value, color })),
  ];
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(list);
}

/** Value mappings from exact values to text and colour (e.g. a level number to its name). */
export function valueTexts(texts: Readonly<Record<string, { text: string; color: string }>>): ValueMapping[] {
  const options: Record<string, { text: string; color: string; index: number }> = {};
  Object.entries(texts).forEach(([value, result], index) => {
    options[value] = { ...result, index };
  });
  return [{ type: MappingType.ValueToText, options }];
}

/** Range mappings: [from, to, text, colour], from and to inclusive, null for unbounded. */
export function rangeTexts(
  ranges: readonly (readonly [number | null, number | null, string, string])[],
): ValueMapping[] {
  return ranges.map(([from, to, text, color], index) => ({
    type: MappingType.RangeToText,
    options: { from, to, result: { text, color, index } },
  }));
}

/** A query of one Explore pane, as Grafana's Explore URL carries it. */
export interface ExplorePaneQuery {
  readonly datasource: DataSourceRef;
  /** The query's own fields besides refId and datasource (expr, query, queryType...). */
  readonly fields: Readonly<Record<string, unknown>>;
}

/**
 * A data link into Explore (the schemaVersion 1 panes URL the workers' links use) over the dashboard's
 * time range. Variables in the query stay literal so Grafana fills them in when the link is
 * clicked: $service is the dashboard variable, $__from and $__to the range shown (zoomed in on a
 * spike, that is the spike's window).
 */
export function exploreDataLink(title: string, query: ExplorePaneQuery): cog.Builder<DashboardLink> {
  const panes = {
    link: {
      datasource: query.datasource.uid,
      queries: [{ refId: 'A', datasource: query.datasource, ...query.fields }],
      range: { from: '$__from', to: '$__to' },
    },
  };
  // Placeholders ($name, ${name}) stay unencoded, or Grafana would not see them to fill them in.
  const encoded = encodeURIComponent(JSON.stringify(panes)).replace(
    /%24%7B([\w.:]+)%7D|%24(\w+)/g,
    (_, braced: string | undefined, plain: string | undefined) =>
      braced === undefined ? `$${plain}` : `\${${braced}}`,
  );
  return inDashboardBar(
    new DashboardLinkBuilder(title)
      .type(DashboardLinkType.Link)
      .url(`/explore?schemaVersion=1&orgId=1&panes=${encoded}`)
      .targetBlank(true),
  );
}

/** The tag the DORA worker puts on every deployment annotation (functions/shared/clients/grafana.ts). */
export const DEPLOYMENT_ANNOTATION_TAG = 'deploy';

/**
 * Adds the deployment markers: Grafana annotations tagged `deploy` (one per successful production
 * deployment, written by the DORA worker). The SDK types a query target only through data-source
 * builders, and the built-in data source has none, so the annotation is added to the built model.
 */
export function withDeploymentAnnotations(dashboard: Dashboard): Dashboard {
  const deployments = {
    name: 'Deployments',
    datasource: GRAFANA,
    enable: true,
    hide: false,
    iconColor: 'blue',
    target: {
      refId: 'deployments',
      type: 'tags',
      tags: [DEPLOYMENT_ANNOTATION_TAG],
      limit: 100,
      matchAny: false,
    },
  } as unknown as AnnotationQuery;
  return { ...dashboard, annotations: { list: [...(dashboard.annotations?.list ?? []), deployments] } };
}

/** A field override for the series of one query (by refId). */
export interface QueryOverride {
  readonly matcher: MatcherConfig;
  readonly properties: DynamicConfigValue[];
}

/** Draws the series of `refId` below the axis: the outgoing half of an in/out pair. */
export function belowTheAxis(refId: string): QueryOverride {
  return {
    matcher: { id: 'byFrameRefID', options: refId },
    properties: [{ id: 'custom.transform', value: 'negative-Y' }],
  };
}

/** Plots the series of `refId` in bytes on a right-hand axis, beside a left axis in another unit. */
export function bytesOnTheRightAxis(refId: string): QueryOverride {
  return {
    matcher: { id: 'byFrameRefID', options: refId },
    properties: [
      { id: 'unit', value: 'bytes' },
      { id: 'custom.axisPlacement', value: 'right' },
    ],
  };
}
