/**
 * `npm run gameday:local [scenario...|all] [--out dir] [--time-scale 1/30] [--keep]`: starts the whole
 * platform on this machine (local-stack.ts), runs the game day against it, prints the Markdown report
 * and leaves it (and the dashboards' PDF) in --out, stops everything, and exits with the game day's
 * code: 0 every expectation held, 1 one failed or the stack did not start, 2 bad usage.
 * Progress goes to stderr; Ctrl-C stops the scenario in progress, then the stack.
 */
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { SCENARIO_NAMES, type ScenarioName } from './environment.js';
import { DEFAULT_TIME_SCALE_FACTOR, type LocalGamedayStack, startLocalGamedayStack } from './local-stack.js';
import { renderGamedayMarkdown, runGameday } from './run.js';
import { describeFactor, parseTimeScaleFactor } from './time-scale.js';

export const EXIT_HELD = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** The scenarios named on the command line: none or `all` means every one, in the design's order. */
export function parseScenarioArguments(args: readonly string[]): ScenarioName[] {
  if (args.length === 0 || (args.length === 1 && args[0] === 'all')) return [...SCENARIO_NAMES];
  const unknown = args.filter((arg) => !(SCENARIO_NAMES as readonly string[]).includes(arg));
  if (unknown.length > 0) {
    throw new InvalidArgumentError(
      `unknown scenario ${unknown.map((name) => JSON.stringify(name)).join(', ')}: use ${SCENARIO_NAMES.join(', ')} or all`,
    );
  }
  return SCENARIO_NAMES.filter((name) => args.includes(name));
}

interface LocalMainOptions {
  readonly out: string;
  readonly timeScale: number;
  readonly timeoutScale: number;
  readonly keep: boolean;
}

function positiveNumber(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new InvalidArgumentError('expected a number above 0');
  return value;
}

function timeScaleArgument(text: string): number {
  try {
    return parseTimeScaleFactor(text);
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
}

export function localGamedayCommand(
  run: (scenarios: ScenarioName[], options: LocalMainOptions) => Promise<number>,
) {
  return new Command('gameday:local')
    .description(
      'Start Prometheus, Alertmanager, the node and blackbox exporters, toilless serve and the sample app on ' +
        'this machine, with the shipped rules and routing shortened, and run the game day against them.',
    )
    .argument('[scenarios...]', `${SCENARIO_NAMES.join(', ')} or all (the default)`)
    .option('-o, --out <dir>', 'where the report files go', 'gameday-report')
    .addOption(
      new Option('--time-scale <factor>', 'multiplier of the shipped rule windows and routing timers')
        .argParser(timeScaleArgument)
        .default(DEFAULT_TIME_SCALE_FACTOR, describeFactor(DEFAULT_TIME_SCALE_FACTOR)),
    )
    .option(
      '--timeout-scale <n>',
      'multiplies every deadline of the game day (a slow machine)',
      positiveNumber,
      1,
    )
    .option('--keep', "keep the stack's folder (configs, data, logs) after the run", false)
    .exitOverride()
    .action(async (args: string[] | undefined, options: LocalMainOptions) => {
      let scenarios: ScenarioName[];
      try {
        scenarios = parseScenarioArguments(args ?? []);
      } catch (error) {
        process.stderr.write(`error: ${(error as Error).message}\n`);
        process.exitCode = EXIT_USAGE;
        return;
      }
      process.exitCode = await run(scenarios, options);
    });
}

/** Starts the stack, runs the game day, stops the stack; the exit code. */
async function runLocalGameday(scenarios: ScenarioName[], options: LocalMainOptions): Promise<number> {
  const log = (line: string) => process.stderr.write(`gameday:local: ${line}\n`);
  const abort = new AbortController();
  let stack: LocalGamedayStack | undefined;
  let interrupts = 0;
  const onInterrupt = (signal: NodeJS.Signals) => {
    interrupts += 1;
    if (interrupts === 1) {
      log(`${signal}: stopping the scenario in progress, then the stack (again to stop at once)`);
      abort.abort(new Error(`interrupted by ${signal}`));
      return;
    }
    log(`${signal} again: stopping the stack now`);
    void (stack?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);

  try {
    log(`starting the local stack (timings x ${describeFactor(options.timeScale)})`);
    stack = await startLocalGamedayStack({ factor: options.timeScale, keep: options.keep, log });
    if (abort.signal.aborted) return EXIT_FAILED;
    log(`running ${scenarios.join(', ')}`);
    const result = await runGameday(stack.environment, scenarios, {
      outDir: options.out,
      progress: process.stderr,
      signal: abort.signal,
      timeoutScale: options.timeoutScale,
    });
    process.stdout.write(`${renderGamedayMarkdown(result)}\n`);
    if (result.report.markdownFile !== undefined) log(`report written to ${result.report.markdownFile}`);
    if (result.report.pdf.status === 'written') log(`dashboards written to ${result.report.pdf.file}`);
    return result.passed ? EXIT_HELD : EXIT_FAILED;
  } catch (error) {
    log(error instanceof Error ? error.message : String(error));
    return EXIT_FAILED;
  } finally {
    if (stack !== undefined) {
      log(options.keep ? `stopping the stack; its folder stays: ${stack.dir}` : 'stopping the stack');
      await stack.stop();
    }
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
  }
}

/** Runs the command over `argv` and returns the exit code. */
export async function localMain(argv: readonly string[]): Promise<number> {
  try {
    await localGamedayCommand(runLocalGameday).parseAsync([...argv], { from: 'user' });
    return Number(process.exitCode ?? EXIT_HELD);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_HELD : EXIT_USAGE;
    throw error;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exit(await localMain(process.argv.slice(2)));
}
