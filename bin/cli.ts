/**
 * The toilless CLI. `serve` runs the workers on this machine; `check` validates stack-config/.
 * Commands print what went wrong and exit non-zero; they never print a stack trace for bad input.
 * Importing this module runs nothing: bin/toilless.ts calls runCli.
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { ConfigurationError, ToillessError } from '../functions/shared/errors.js';
import { checkCommand } from './commands/check.js';
import { costCommand } from './commands/cost.js';
import { doraCommand } from './commands/dora.js';
import { gamedayCommand } from './commands/gameday.js';
import { reportCommand } from './commands/report.js';
import { serveCommand } from './commands/serve.js';
import { timelineCommand } from './commands/timeline.js';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

export function buildCli(): Command {
  return new Command('toilless')
    .description('Observability platform as code: the LGTM stack on AWS and the workers that do the toil.')
    .version(version)
    .showHelpAfterError('(run with --help for usage)')
    .addCommand(serveCommand())
    .addCommand(timelineCommand())
    .addCommand(reportCommand())
    .addCommand(doraCommand())
    .addCommand(gamedayCommand())
    .addCommand(checkCommand())
    .addCommand(costCommand());
}

/** Runs one command line; an error the user can act on becomes one line on stderr and exit code 2. */
export async function runCli(argv: readonly string[]): Promise<void> {
  try {
    await buildCli().parseAsync([...argv]);
  } catch (error) {
    if (
      error instanceof ConfigurationError ||
      error instanceof ToillessError ||
      error instanceof InvalidArgumentError
    ) {
      console.error(`toilless: ${error.message}`);
      process.exit(2);
    }
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      console.error(
        `toilless: ${(error as Error).message}: another process uses that port; pick one with --port`,
      );
      process.exit(2);
    }
    throw error;
  }
}
