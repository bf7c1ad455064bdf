/**
 * The dashboards as the files Grafana provisions: stack-config/grafana/dashboards/<uid>.json, generated
 * from code (and from slos.yaml and toilless.yaml). Pure: the same inputs always give the same bytes,
 * so the committed files can be checked for staleness byte for byte.
 */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import type { GeneratedFile } from '../alerting/generated-files.js';
import type { SloDefinition } from '../shared/slo-definitions.js';
import type { ToillessConfig } from '../shared/stack-config.js';
import { blackboxExporterDashboard } from './blackbox-exporter.js';
import { doraMetricsDashboard } from './dora-metrics.js';
import { nodeExporterDashboard } from './node-exporter.js';
import { sloErrorBudgetDashboard } from './slo-error-budget.js';
import { toillessDashboard } from './toilless.js';
import { unifiedObservabilityDashboard } from './unified-observability.js';

/** Where the generated dashboards live, below stack-config/ (the Grafana dashboards provider reads it). */
export const DASHBOARDS_DIR = 'grafana/dashboards';

/** Every shipped dashboard as Grafana's dashboard JSON model. */
export function buildDashboards(slos: readonly SloDefinition[], config: ToillessConfig): Dashboard[] {
  return [
    unifiedObservabilityDashboard(config),
    sloErrorBudgetDashboard(slos, config),
    doraMetricsDashboard(config),
    nodeExporterDashboard(config),
    blackboxExporterDashboard(config),
    toillessDashboard(config),
  ];
}

/** The dashboard files for these SLOs and this toilless.yaml. */
export function dashboardFiles(slos: readonly SloDefinition[], config: ToillessConfig): GeneratedFile[] {
  return buildDashboards(slos, config).map((dashboard) => ({
    path: `${DASHBOARDS_DIR}/${dashboard.uid}.json`,
    content: `${JSON.stringify(dashboard, null, 2)}\n`,
    source: dashboard.uid === 'slo-error-budget' ? 'slos.yaml and toilless.yaml' : 'toilless.yaml',
  }));
}
