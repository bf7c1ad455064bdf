/**
 * The game day's entry point: runs the chosen scenarios against a GamedayEnvironment, one after the
 * other, watches what the platform does, and writes the report. `toilless gameday` and the local
 * stack (`npm run gameday:local`, the CI game day) both call runGameday.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigurationError } from '../../functions/shared/errors.js';
import { type Clock, systemClock } from '../../functions/shared/ports/clock.js';
import { stackConfigDir as defaultStackConfigDir } from '../../functions/shared/stack-config.js';
import { reportProgress } from '../commands/report.js';
import { renderDashboardsPdf } from './dashboards-pdf.js';
import type { GamedayEnvironment, ScenarioName } from './environment.js';
import { IncidentWatch, storeOf } from './incident-watch.js';
import { PlatformApi } from './platform-api.js';
import { renderGamedayMarkdown } from './report-markdown.js';
import type { DashboardPdf, GamedayResult, ScenarioResult } from './result.js';
import { loadPlatformTimings } from './rule-timings.js';
import type { ScenarioContext, ScenarioProgress } from './scenario-kit.js';
import { runDeployFailure } from './scenarios/deploy-failure.js';
import { type LatencyOptions, runLatency } from './scenarios/latency.js';
import { type ResourcePressureOptions, runResourcePressure } from './scenarios/resource-pressure.js';
import { createSlackWatch } from './slack-watch.js';

export { renderGamedayMarkdown } from './report-markdown.js';
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
  /** The folder the report files go to (gameday-report.md, gameday-result.json, gameday-dashboards.pdf); created if absent. */
  readonly outDir: string;
  /** Where progress goes. @default process.stderr */
  readonly progress?: GamedayProgressStream;
  /** Stops the run: load and CPU burn stop, the scenario in progress reports what it saw so far. */
  readonly signal?: AbortSignal | undefined;
  /** Time, and the waits between polls. @default the system clock */
  readonly clock?: Clock;
  /** Where the shipped rules are read from (their `for` and windows set the deadlines). @default stack-config/ */
  readonly stackConfigDir?: string;
  /** How often Prometheus, Alertmanager, the store and Slack are polled. @default half an evaluation interval (time-scaled), 250 ms to 2 s */
  readonly pollIntervalMs?: number;
  /** Multiplies every deadline (a slow machine, a busy CI runner). @default 1 */
  readonly timeoutScale?: number;
  /** Render the dashboards' PDF with the weekly report's native renderer. @default true */
  readonly renderDashboards?: boolean;
  /** The HTTP client of every request the game day makes. @default globalThis.fetch */
  readonly fetch?: typeof fetch | undefined;
  /** The latency scenario's load. @default 8 requests at a time, 1500 ms each */
  readonly latency?: LatencyOptions;
  /** The resource-pressure scenario's local burn. @default every core */
  readonly resourcePressure?: ResourcePressureOptions;
}

export const MARKDOWN_REPORT = 'gameday-report.md';
export const JSON_RESULT = 'gameday-result.json';

const SCENARIOS: Readonly<
  Record<ScenarioName, (context: ScenarioContext, options: GamedayRunOptions) => Promise<ScenarioResult>>
> = {
  'deploy-failure': (context) => runDeployFailure(context),
  latency: (context, options) => runLatency(context, options.latency),
  'resource-pressure': (context, options) => runResourcePressure(context, options.resourcePressure),
};

export async function runGameday(
  environment: GamedayEnvironment,
  scenarios: readonly ScenarioName[],
  options: GamedayRunOptions,
): Promise<GamedayResult> {
  const clock = options.clock ?? systemClock;
  const timeoutScale = options.timeoutScale ?? 1;
  const factor = environment.timeScale?.factor ?? 1;
  if (!(timeoutScale > 0 && timeoutScale <= 100)) {
    throw new ConfigurationError(`the timeout scale must be above 0 and at most 100, not ${timeoutScale}`);
  }
  if (!(factor > 0 && factor <= 1)) {
    throw new ConfigurationError(`the time-scale factor must be above 0 and at most 1, not ${factor}`);
  }
  const stackDir = options.stackConfigDir ?? defaultStackConfigDir();
  const timings = loadPlatformTimings(stackDir);
  const bar = reportProgress(options.progress ?? process.stderr);
  const tty = (options.progress ?? process.stderr).isTTY === true;
  const progress: ScenarioProgress = {
    step: (text) => bar.stage(text),
    waiting: (label, elapsedMs, deadlineMs) => {
      // Plain output gets the step lines only: a line per poll would bury them.
      if (tty)
        bar.panel(
          Math.min(Math.round(elapsedMs / 1000), Math.round(deadlineMs / 1000)),
          Math.round(deadlineMs / 1000),
          label,
        );
    },
  };
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  if (options.signal?.aborted) stop.abort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });

  const context: ScenarioContext = {
    environment,
    api: new PlatformApi(environment.prometheusUrl, environment.alertmanagerUrl, options.fetch),
    incidents: new IncidentWatch(await storeOf(environment.store)),
    slack: createSlackWatch(environment.slack),
    timings,
    scale: { factor, timeoutScale },
    clock,
    signal: stop.signal,
    pollMs:
      options.pollIntervalMs ??
      Math.min(2000, Math.max(250, Math.round((timings.evaluationIntervalMs * factor) / 2))),
    progress,
    fetch: options.fetch,
  };

  const startedAt = clock.now();
  const results: ScenarioResult[] = [];
  try {
    for (const name of [...new Set(scenarios)]) {
      if (stop.signal.aborted) break;
      bar.stage(`scenario ${name}`);
      results.push(await runScenario(name, context, options));
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  const finishedAt = clock.now();
  const aborted = stop.signal.aborted;

  await mkdir(options.outDir, { recursive: true });
  let pdf: DashboardPdf;
  if (options.renderDashboards === false) pdf = { status: 'skipped', why: 'not asked for' };
  else if (aborted) pdf = { status: 'skipped', why: 'the run was stopped' };
  else {
    bar.stage('rendering the affected dashboards');
    pdf = await renderDashboardsPdf({
      prometheusUrl: environment.prometheusUrl,
      grafanaUrl: environment.grafanaUrl ?? 'http://localhost:3000',
      stackConfigDir: stackDir,
      scenarios: results.map((result) => result.name),
      // Five minutes before the first trigger show the baseline the scenarios departed from.
      from: new Date(startedAt.getTime() - 300_000),
      to: finishedAt,
      outDir: options.outDir,
      fetch: options.fetch,
      ...(tty ? { onProgress: bar.panel } : {}),
    });
  }
  const markdownFile = join(options.outDir, MARKDOWN_REPORT);
  const result: GamedayResult = {
    passed: !aborted && results.length > 0 && results.every((scenario) => scenario.passed),
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    aborted,
    ...(environment.timeScale ? { timeScale: environment.timeScale } : {}),
    scenarios: results,
    report: { markdownFile, pdf },
  };
  await writeFile(markdownFile, renderGamedayMarkdown(result));
  await writeFile(join(options.outDir, JSON_RESULT), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

/** One scenario; whatever it throws becomes its result's error, so the others still run. */
async function runScenario(
  name: ScenarioName,
  context: ScenarioContext,
  options: GamedayRunOptions,
): Promise<ScenarioResult> {
  const started = context.clock.now().toISOString();
  try {
    return await SCENARIOS[name](context, options);
  } catch (error) {
    return {
      name,
      passed: false,
      startedAt: started,
      finishedAt: context.clock.now().toISOString(),
      milestones: {},
      expectations: [],
      error: (error as Error).message,
    };
  }
}
