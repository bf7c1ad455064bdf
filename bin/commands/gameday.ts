/**
 * `toilless gameday [deploy-failure|latency|resource-pressure|all]`: the design's failure scenarios
 * against the platform the environment names, with a progress display and a report. Exit code 0 when
 * every expectation held, 1 when one failed, 2 on bad usage.
 */
import { Argument, Command, type CommanderError, InvalidArgumentError, Option } from 'commander';
import { type CpuPressure, gamedayEnvironmentFrom } from '../gameday/cli-environment.js';
import { SCENARIO_NAMES, type ScenarioName } from '../gameday/environment.js';
import { type GamedayProgressStream, type GamedayRunOptions, runGameday } from '../gameday/run.js';

export interface GamedayCommandOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Where progress goes. @default process.stderr */
  readonly progress?: GamedayProgressStream;
  /** Where the summary goes. @default process.stdout */
  readonly output?: NodeJS.WritableStream;
  /** @default runGameday */
  readonly run?: typeof runGameday;
  /** Sets the exit code. @default assigns process.exitCode */
  readonly setExitCode?: (code: number) => void;
  /** Ends the process on a usage error (after commander printed it). @default process.exit */
  readonly exit?: (code: number) => never;
  /** Passed to the run, e.g. a test's clock. */
  readonly runOptions?: Partial<GamedayRunOptions>;
}

interface GamedayFlags {
  out: string;
  timeoutScale?: number;
  cpuPressure: CpuPressure;
  dashboards: boolean;
  slowDelay?: number;
}

/** The usage exit code: commander's own errors (an unknown scenario or option) get it too. */
export const USAGE_EXIT_CODE = 2;

function timeoutScale(value: string): number {
  const scale = Number(value);
  if (!(Number.isFinite(scale) && scale > 0 && scale <= 100)) {
    throw new InvalidArgumentError(
      'expected a number above 0 and at most 100, e.g. 2 to double every deadline',
    );
  }
  return scale;
}

function slowDelay(value: string): number {
  const ms = Number(value);
  if (!(Number.isInteger(ms) && ms > 500 && ms <= 30_000)) {
    throw new InvalidArgumentError('expected whole milliseconds above 500 and at most 30000, e.g. 1500');
  }
  return ms;
}

export function scenariosOf(choice: string): ScenarioName[] {
  return choice === 'all' ? [...SCENARIO_NAMES] : [choice as ScenarioName];
}

export function gamedayCommand(options: GamedayCommandOptions = {}): Command {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  return new Command('gameday')
    .description('Run the failure scenarios against the platform and report what fired when.')
    .addArgument(
      new Argument('[scenario]', 'which scenario').choices([...SCENARIO_NAMES, 'all']).default('all'),
    )
    .option('--out <dir>', 'the folder the report goes to', 'gameday-report')
    .option('--timeout-scale <n>', 'multiply every deadline (a slow machine or CI runner)', timeoutScale)
    .addOption(
      new Option('--cpu-pressure <where>', 'where resource-pressure burns CPU')
        .choices(['local-host', 'sample-app'])
        .default('local-host'),
    )
    .option('--slow-delay <ms>', 'the delay the latency scenario asks /slow for (default 1500)', slowDelay)
    .option('--no-dashboards', 'skip the PDF of the affected dashboards')
    .addHelpText(
      'after',
      '\nEndpoints: PROMETHEUS_URL, ALERTMANAGER_URL, SAMPLE_APP_URL, TOILLESS_URL (defaults: docker compose on\n' +
        'this machine). Deliveries are signed with GITHUB_WEBHOOK_SECRET, else $TOILLESS_DATA_DIR/secrets/\n' +
        'github-webhook-secret. Slack is read with SLACK_BOT_TOKEN and SLACK_CHANNEL, else the outbox of\n' +
        'TOILLESS_DATA_DIR; incidents from TOILLESS_BUCKET (S3), else TOILLESS_DATA_DIR. LOKI_URL and TEMPO_URL\n' +
        'say whether logs and traces are expected. Exit code: 0 every expectation held, 1 one failed, 2 bad usage.',
    )
    .exitOverride((error: CommanderError) => {
      // Help and version end with 0; every other commander error is bad usage.
      exit(error.exitCode === 0 ? 0 : USAGE_EXIT_CODE);
    })
    .action(async (scenario: string, flags: GamedayFlags) => {
      const env = options.env ?? process.env;
      const output = options.output ?? process.stdout;
      const environment = await gamedayEnvironmentFrom(env, { cpuPressure: flags.cpuPressure });
      const stop = new AbortController();
      const onInterrupt = () => stop.abort();
      process.once('SIGINT', onInterrupt);
      process.once('SIGTERM', onInterrupt);
      try {
        const result = await (options.run ?? runGameday)(environment, scenariosOf(scenario), {
          outDir: flags.out,
          signal: stop.signal,
          renderDashboards: flags.dashboards,
          ...(flags.timeoutScale === undefined ? {} : { timeoutScale: flags.timeoutScale }),
          ...(flags.slowDelay === undefined ? {} : { latency: { delayMs: flags.slowDelay } }),
          ...(options.progress ? { progress: options.progress } : {}),
          ...options.runOptions,
        });
        for (const entry of result.scenarios) {
          const failedCount = entry.expectations.filter((e) => e.outcome.status === 'failed').length;
          output.write(
            `${entry.name}: ${entry.passed ? 'passed' : `FAILED (${failedCount} expectation${failedCount === 1 ? '' : 's'} failed${entry.error ? `; ${entry.error}` : ''})`}\n`,
          );
        }
        output.write(
          `${result.passed ? 'every expectation held' : result.aborted ? 'stopped before the end' : 'some expectations failed'}; report: ${result.report.markdownFile ?? flags.out}\n`,
        );
        (options.setExitCode ?? ((code: number) => (process.exitCode = code)))(result.passed ? 0 : 1);
      } finally {
        process.removeListener('SIGINT', onInterrupt);
        process.removeListener('SIGTERM', onInterrupt);
      }
    });
}
