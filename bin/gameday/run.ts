/**
 * The game day's entry point: runs the chosen scenarios against a GamedayEnvironment, one after the
 * other, watches what the platform does, and writes the report. `toilless gameday` and the local
 * stack (`npm run gameday:local`, the CI game day) both call runGameday.
 */
import type { Clock } from '../../functions/shared/ports/clock.js';
import type { GamedayEnvironment, ScenarioName } from './environment.js';
import type { GamedayResult } from './result.js';

export type {
  DashboardPdf,
  Expectation,
  ExpectationOutcome,
  GamedayResult,
  ScenarioMilestones,
  ScenarioResult,
} from './result.js';

/** Where progress goes: a bar rewritten in place on a terminal, plain lines elsewhere. */
export type GamedayProgressStream = NodeJS.WritableStream & {
  readonly isTTY?: boolean;
  readonly columns?: number;
};

export interface GamedayRunOptions {
  /** The folder the report files go to (gameday-report.md, gameday-dashboards.pdf); created if absent. */
  readonly outDir: string;
  /** Where progress goes. @default process.stderr */
  readonly progress?: GamedayProgressStream;
  /** Stops the run: load and CPU burn stop, the scenario in progress reports what it saw so far. */
  readonly signal?: AbortSignal | undefined;
  /** Time, and the waits between polls. @default the system clock */
  readonly clock?: Clock;
  /** Where the shipped rules are read from (their `for` and windows set the deadlines). @default stack-config/ */
  readonly stackConfigDir?: string;
  /** How often Prometheus, Alertmanager, the store and Slack are polled. @default 2000 ms, scaled by timeScale */
  readonly pollIntervalMs?: number;
  /** Multiplies every deadline (a slow machine, a busy CI runner). @default 1 */
  readonly timeoutScale?: number;
  /** Render the dashboards' PDF with the weekly report's native renderer. @default true */
  readonly renderDashboards?: boolean;
  /** The HTTP client of every request the game day makes. @default globalThis.fetch */
  readonly fetch?: typeof fetch | undefined;
}

export async function runGameday(
  _environment: GamedayEnvironment,
  _scenarios: readonly ScenarioName[],
  _options: GamedayRunOptions,
): Promise<GamedayResult> {
  throw new Error('not implemented');
}

export function renderGamedayMarkdown(_result: GamedayResult): string {
  throw new Error('not implemented');
}
