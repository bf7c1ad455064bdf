/**
 * The toilless CLI. `serve` runs the workers on this machine; `check` validates stack-config/.
 * Commands print what went wrong and exit non-zero; they never print a stack trace for bad input.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { checkStackConfig, formatDefects } from '../functions/alerting/check.js';
import { createEvidenceGatherer } from '../functions/incident-timeline/evidence.js';
import { buildTimelineOnce } from '../functions/incident-timeline/worker.js';
import { startLocalServer } from '../functions/local/local-server.js';
import { FsObjectStore } from '../functions/shared/adapters/local/fs-object-store.js';
import { loadRuntimeConfig } from '../functions/shared/config.js';
import { ConfigurationError, ToillessError } from '../functions/shared/errors.js';
import type { AlertmanagerPayload } from '../functions/shared/events/alertmanager.js';
import { createLogger } from '../functions/shared/log.js';
import { systemClock } from '../functions/shared/ports/clock.js';
import { loadToillessConfig, stackConfigDir } from '../functions/shared/stack-config.js';
import { doraCommand } from './commands/dora.js';

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

/** Reads a JSON file, or throws an error naming the file and what is wrong with it. */
function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ToillessError(`cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ToillessError(`${file} is not JSON: ${(error as Error).message}`);
  }
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
    .command('timeline')
    .description('Build an incident timeline now from a saved Alertmanager payload and print it as Markdown.')
    .argument('<payload.json>', 'an Alertmanager webhook body (payload version 4)')
    .option('--json', 'print timeline.json instead of the Markdown draft')
    .addHelpText(
      'after',
      '\nQueries the sources configured by PROMETHEUS_URL, LOKI_URL and TEMPO_URL; an unreachable source is noted\n' +
        'in the timeline, not fatal. Nothing is stored and nothing is posted to Slack.',
    )
    .action(async (file: string, options: { json?: boolean }) => {
      const logger = createLogger({
        name: 'toilless',
        level: process.env.LOG_LEVEL ?? 'warn',
        destination: process.stderr,
      });
      const payload = readJsonFile(file);
      const config = loadRuntimeConfig();
      const configDir = stackConfigDir();
      const toilless = loadToillessConfig(configDir);
      const { timeline, markdown } = await buildTimelineOnce(payload as AlertmanagerPayload, {
        clock: systemClock,
        config: toilless,
        logger,
        gatherEvidence: createEvidenceGatherer({
          config,
          toilless,
          stackConfigDir: configDir,
          store: new FsObjectStore(config.dataDir),
          logger,
        }),
      });
      process.stdout.write(options.json ? `${JSON.stringify(timeline, null, 2)}\n` : markdown);
    });

  program.addCommand(doraCommand());

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
        console.log(`${relative(process.cwd(), options.dir) || '.'}: no defects`);
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
