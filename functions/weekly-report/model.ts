/**
 * The weekly report as data. Renderers (grafana: panel images from Chromium; native: the panels' PromQL
 * evaluated against Prometheus) produce RenderedDashboards; the summary is gathered from the store and
 * Prometheus; the PDF assembly turns both into one document. No module here does I/O.
 */

/** The time range a report covers; by default the previous ISO week, Monday 00:00 to Monday 00:00 UTC. */
export interface ReportWindow {
  readonly from: Date;
  readonly to: Date;
  /** The ISO week of `from`, as in the store key: "2026-W49". */
  readonly isoWeek: string;
}

/** A threshold step as Grafana defines it: from `value` upwards (null: the base step) the colour applies. */
export interface ThresholdStep {
  readonly value: number | null;
  readonly color: string;
}

/** How a panel's numbers are shown: Grafana's unit id (e.g. "percentunit", "s", "reqps"), decimals, thresholds. */
export interface FieldFormat {
  readonly unit?: string;
  readonly decimals?: number;
  readonly min?: number;
  readonly max?: number;
  readonly thresholds?: readonly ThresholdStep[];
}

export interface Series {
  /** The legend text (the query's legendFormat applied to the labels). */
  readonly name: string;
  /** [unix seconds, value]; NaN marks a gap. */
  readonly points: readonly (readonly [number, number])[];
  /** This series' own format when a field override gives it another unit (memory in bytes beside CPU in %): drawn on a right axis. */
  readonly format?: FieldFormat;
}

/** One value of a stat, gauge or bar gauge panel. */
export interface PanelValue {
  readonly name: string;
  readonly value: number | null;
  /** This value's own format when a field override changes it (e.g. a DORA level shown as a plain number). */
  readonly format?: FieldFormat;
  /** The text and colour of a value mapping that matched ("Elite", green), shown instead of the number. */
  readonly text?: string;
  readonly color?: string;
}

/** What a panel shows, independent of how it was produced. */
export type PanelContent =
  /** A picture of the panel as Grafana draws it (grafana mode). */
  | { readonly kind: 'image'; readonly png: Buffer; readonly widthPx: number; readonly heightPx: number }
  /** Native mode: a time series panel's data, drawn by the PDF assembly. */
  | { readonly kind: 'timeseries'; readonly series: readonly Series[]; readonly format: FieldFormat }
  /** Native mode: stat, gauge and bar gauge panels reduce each series to one value. */
  | {
      readonly kind: 'stat' | 'gauge' | 'bargauge';
      readonly values: readonly PanelValue[];
      readonly format: FieldFormat;
    }
  /** Native mode: a table; its full data also goes to the appendix. */
  | {
      readonly kind: 'table';
      readonly columns: readonly string[];
      readonly rows: readonly (readonly (string | number | null)[])[];
      readonly format: FieldFormat;
    }
  /** Log and trace panels (and any panel a report cannot draw): listed with a link to open them. */
  | { readonly kind: 'link'; readonly url: string; readonly note: string }
  /** A panel that could not be rendered: the PDF shows a box naming the panel and the reason. */
  | { readonly kind: 'failed'; readonly reason: string };

export interface RenderedPanel {
  readonly title: string;
  readonly description?: string;
  /** The panel's place in the dashboard grid (24 columns wide), for a layout that follows Grafana's. */
  readonly gridPos: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
  readonly content: PanelContent;
}

export interface RenderedDashboard {
  readonly uid: string;
  readonly title: string;
  /** The dashboard in Grafana over the report window, when GRAFANA_URL is known. */
  readonly url?: string;
  /** Rows of the dashboard as section headings: each panel belongs to the row above it (or none). */
  readonly rows: readonly { readonly title: string | null; readonly panels: readonly RenderedPanel[] }[];
}

/** How far the error budget is spent, as in stack-config/runbooks/error-budget-policy.md. */
/** `review-50`: 50% consumed, `approval-75`: 75%, `freeze-100`: 100% (remaining at most 0.5, 0.25, 0). */
export type BudgetPolicyState = 'healthy' | 'review-50' | 'approval-75' | 'freeze-100';

export interface SloSummary {
  readonly service: string;
  readonly objective: string;
  /** The target as a ratio, e.g. 0.999. */
  readonly target: number;
  /** Compliance (good / valid) over the report window and over 30 days up to its end; null without data. */
  readonly week: number | null;
  readonly thirtyDays: number | null;
  /** The share of the 30-day error budget left, 1 = untouched, negative when overspent. */
  readonly budgetRemaining: number | null;
  readonly policy: BudgetPolicyState | null;
}

export interface IncidentSummary {
  readonly title: string;
  readonly severity: string;
  readonly openedAt: Date;
  readonly resolvedAt: Date | null;
  /** Where its timeline is (the Slack thread permalink or the stored timeline.md), when known. */
  readonly link?: string;
}

export type DoraLevel = 'elite' | 'high' | 'medium' | 'low';

export interface DoraMetricSummary {
  /** null: no data in the window. `previous` is the week before, for the change. */
  readonly value: number | null;
  readonly previous: number | null;
  readonly level: DoraLevel | null;
}

export interface DoraSummary {
  readonly repository: string;
  readonly deploymentFrequencyPerDay: DoraMetricSummary;
  readonly leadTimeSeconds: DoraMetricSummary;
  readonly changeFailureRate: DoraMetricSummary;
  readonly timeToRestoreSeconds: DoraMetricSummary;
}

export interface FiringAlertSummary {
  readonly alertname: string;
  readonly severity: string;
  /** How many times it started firing in the window, and for how long it fired in all. */
  readonly firings: number;
  readonly firingSeconds: number;
}

/** The summary page: what a manager reads first. A part that could not be gathered carries why. */
export interface ReportSummary {
  readonly slos: readonly SloSummary[] | { readonly unavailable: string };
  readonly incidents: readonly IncidentSummary[] | { readonly unavailable: string };
  readonly dora: readonly DoraSummary[] | { readonly unavailable: string };
  readonly topAlerts: readonly FiringAlertSummary[] | { readonly unavailable: string };
}

/** Everything the PDF is made of. */
export interface ReportDocument {
  /** The stack name from toilless.yaml, on the cover. */
  readonly stackName: string;
  readonly window: ReportWindow;
  readonly generatedAt: Date;
  readonly mode: RenderMode;
  readonly summary: ReportSummary;
  readonly dashboards: readonly RenderedDashboard[];
}

export type RenderMode = 'grafana' | 'native';

/** Told as each panel finishes, for the CLI's progress bar and the logs. */
export type RenderProgress = (done: number, total: number, panel: string) => void;

/** A rendering mode: both produce the same RenderedDashboards from the dashboards the report covers. */
export interface DashboardRenderer {
  readonly mode: RenderMode;
  render(
    dashboards: readonly string[],
    window: ReportWindow,
    options: { readonly signal?: AbortSignal; readonly onProgress?: RenderProgress },
  ): Promise<readonly RenderedDashboard[]>;
}
