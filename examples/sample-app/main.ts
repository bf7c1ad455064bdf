/**
 * The instrumented sample app: `npm run sample-app`. Settings come from the environment (README.md).
 * SIGTERM / SIGINT stop accepting, let requests in flight finish (up to 10 s), flush the exporters, exit.
 */
import { once } from 'node:events';
import { loadSampleAppConfig, SampleAppConfigError } from './config.js';
import { createSampleAppServer } from './server.js';
import { startTelemetry } from './telemetry.js';

const SHUTDOWN_GRACE_MS = 10_000;

let config: ReturnType<typeof loadSampleAppConfig>;
try {
  config = loadSampleAppConfig(process.env);
} catch (error) {
  if (!(error instanceof SampleAppConfigError)) throw error;
  console.error(`sample-app: ${error.message}`);
  process.exit(2);
}

const telemetry = startTelemetry(config);
const { logger } = telemetry;
const server = createSampleAppServer(config, logger);
server.listen(config.port, config.host);
try {
  await once(server, 'listening');
} catch (error) {
  console.error(`sample-app: cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`);
  process.exit(1);
}
const address = server.address();
logger.info(
  {
    port: typeof address === 'object' && address !== null ? address.port : config.port,
    host: config.host,
    otlp: config.otlpEndpoint ?? 'off',
  },
  'sample-app listening',
);

let stopping = false;
const stop = async (signal: string): Promise<void> => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'sample-app stopping');
  const closed = new Promise<void>((resolveClose) => server.close(() => resolveClose()));
  server.closeIdleConnections();
  const grace = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
  await closed;
  clearTimeout(grace);
  try {
    await telemetry.shutdown();
  } catch (error) {
    logger.warn({ err: error }, 'could not export the last traces and logs');
  }
  logger.info('sample-app stopped');
  logger.flush();
  process.exit(0);
};
process.once('SIGTERM', () => void stop('SIGTERM'));
process.once('SIGINT', () => void stop('SIGINT'));
