/** `toilless serve`: the workers on this machine, until SIGTERM or SIGINT. */
import { Command, InvalidArgumentError } from 'commander';
import { startLocalServer } from '../../functions/local/local-server.js';
import { createLogger } from '../../functions/shared/log.js';

function port(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65_535) {
    throw new InvalidArgumentError('expected a TCP port between 0 and 65535');
  }
  return parsed;
}

export function serveCommand(): Command {
  return new Command('serve')
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
      // A server's log: every level from info, on stdout, as a service's log is collected.
      const logger = createLogger({ name: 'toilless' });
      const server = await startLocalServer({
        port: options.port,
        host: options.host,
        dataDir: options.dataDir,
        logger,
        // Webhook answers never wait behind a timeline build or a report.
        processors: 'process',
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
}
