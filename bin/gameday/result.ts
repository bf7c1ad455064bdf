/**
 * What a game day found: per scenario, the milestones it timed and every expectation it checked.
 * Plain data, so the report, the CLI's exit code and the local stack's CI test read the same thing.
 */
import type { ScenarioName, TimeScale } from './environment.js';

/** The moments a scenario times, as ISO instants; absent when it was not seen before its deadline. */
export interface ScenarioMilestones {
  /** The fault was injected (first delivery sent, load or CPU burn started). */
  readonly trigger?: string;
  /** The first expected alert was firing in Prometheus (/api/v1/alerts). */
  readonly firing?: string;
  /** Alertmanager held it, routed (v2 API /api/v2/alerts). */
  readonly routed?: string;
  /** toilless had opened the incident (the incident's timeline in the store). */
  readonly notified?: string;
  /** toilless's Slack message about it was seen (outbox or channel history). */
  readonly slack?: string;
  /** The scenario's alerts had resolved in Prometheus; for latency, the load had stopped. */
  readonly resolved?: string;
}

export type MilestoneName = keyof ScenarioMilestones;

/** One expectation's outcome: `held` (with when), `failed` (with what was seen), `not-applicable` (why). */
export type ExpectationOutcome =
  | { readonly status: 'held'; readonly at?: string; readonly detail?: string }
  | { readonly status: 'failed'; readonly seen: string }
  | { readonly status: 'not-applicable'; readonly why: string };

export interface Expectation {
  /** Stable id, e.g. `alert-firing:HighChangeFailureRate` (tests and the CI game day look them up). */
  readonly id: string;
  /** One line for the report: what should happen. */
  readonly description: string;
  readonly outcome: ExpectationOutcome;
}

export interface ScenarioResult {
  readonly name: ScenarioName;
  /** True when every applicable expectation held. */
  readonly passed: boolean;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly milestones: ScenarioMilestones;
  readonly expectations: readonly Expectation[];
  /** The incident toilless opened for it, when one was found. */
  readonly incidentId?: string;
  /** Why the scenario stopped early (aborted, an endpoint refused), when it did. */
  readonly error?: string;
}

/** The dashboards' PDF: written, or why not. */
export type DashboardPdf =
  | { readonly status: 'written'; readonly file: string; readonly dashboards: readonly string[] }
  | { readonly status: 'skipped'; readonly why: string };

export interface GamedayResult {
  /** True only when every applicable expectation of every scenario held. */
  readonly passed: boolean;
  readonly startedAt: string;
  readonly finishedAt: string;
  /** The run was stopped (SIGINT, the caller's signal) before it finished. */
  readonly aborted: boolean;
  readonly timeScale?: TimeScale;
  readonly scenarios: readonly ScenarioResult[];
  /** Files written to outDir (the Markdown report is always attempted). */
  readonly report: {
    readonly markdownFile?: string;
    readonly pdf: DashboardPdf;
  };
}

export function expectationsPassed(expectations: readonly Expectation[]): boolean {
  return expectations.every((expectation) => expectation.outcome.status !== 'failed');
}
