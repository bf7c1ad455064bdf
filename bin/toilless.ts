/**
 * The toilless CLI. `serve` runs the workers on this machine; `check` validates stack-config/.
 * Commands print what went wrong and exit non-zero; they never print a stack trace for bad input.
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { checkStackConfig, formatDefects } from '../functions/alerting/check.js';
import { startLocalServer } from '../functions/local/local-server.js';
import { ConfigurationError, ToillessError } from '../functions/shared/errors.js';
import { createLogger } from '../functions/shared/log.js';
import { stackConfigDir } from '../functions/shared/stack-config.js';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

function port(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65_535) {
    throw new InvalidArgumentError('expected a TCP port between 0 and 65535');
  }
  return parsed;
}

export function buildCli(): Command {
  const program = new Command('toilless')
    .description('Observability platform as code: the LGTM stack on AWS and the workers that do the toil.')
    .version(version)
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('serve')
    .description(
      'Run the workers locally: webhook intake, in-process bus, data directory store, Slack or a local outbox.',
    )
    .option('-p, --port <port>', 'port to listen on', port, Number(process.env.PORT ?? 8080))
    .option(
      '--host <host>',
      'address to listen on (0.0.0.0 to accept deliveries from other machines)',
      '127.0.0.1',
    )
    .option(
      '-d, --data-dir <dir>',
      'where the store, outbox and dead letters live',
      process.env.TOILLESS_DATA_DIR ?? '.toilless',
    )
    .addHelpText(
      'after',
      `
Routes: POST /webhooks/alertmanager, POST /webhooks/github, GET /healthz, GET /metrics.
Without ALERTMANAGER_WEBHOOK_TOKEN / GITHUB_WEBHOOK_SECRET in the environment, credentials are generated
under <data-dir>/secrets/ on first start. Without SLACK_BOT_TOKEN, messages go to <data-dir>/outbox/slack/.`,
    )
    .action(async (options: { port: number; host: string; dataDir: string }) => {
      const logger = createLogger({ name: 'toilless' });
      const server = await startLocalServer({
        port: options.port,
        host: options.host,
        dataDir: options.dataDir,
        logger,
      });
      let signals = 0;
      const stop = (signal: NodeJS.Signals) => {
        signals += 1;
        if (signals > 1) {
          logger.warn({ signal }, 'second signal: exiting without waiting for in-flight work');
          process.exit(1);
        }
        logger.info({ signal }, 'shutting down: finishing in-flight requests and deliveries');
        server.close().then(
          () => logger.flush(() => process.exit(0)),
          (error: unknown) => {
            logger.error({ err: error }, 'shutdown failed');
            logger.flush(() => process.exit(1));
          },
        );
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });

  program
    .command('check')
    .description(
      'Validate stack-config/: rules, rule tests, Alertmanager config, SLOs, generated files, runbooks.',
    )
    .option('--fix', 'regenerate the generated files (SLO rules, links template) before checking')
    .option('--dir <dir>', 'the stack-config directory', stackConfigDir())
    .addHelpText(
      'after',
      '\nEach defect is printed on its own line, naming the file; the exit code is 1 when there is any.',
    )
    .action(async (options: { fix?: boolean; dir: string }) => {
      const defects = await checkStackConfig(options.dir, { fix: options.fix ?? false });
      if (defects.length === 0) {
        console.log(`${options.dir}: no defects`);
        return;
      }
      console.error(formatDefects(defects));
      process.exitCode = 1;
    });

  return program;
}

try {
  await buildCli().parseAsync(process.argv);
} catch (error) {
  if (error instanceof ConfigurationError || error instanceof ToillessError) {
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
