/**
 * Structured JSON logs, one object per line, on Lambda (CloudWatch) and locally.
 * Secrets are redacted by key wherever they appear, so a stray `log.info({ config })` cannot leak one.
 */
import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

const REDACTED_KEYS = [
  'authorization',
  'token',
  'secret',
  'password',
  'githubWebhookSecret',
  'githubToken',
  'slackBotToken',
  'grafanaToken',
  'alertmanagerWebhookToken',
  'x-hub-signature-256',
];

export interface LoggerOptions {
  readonly name: string;
  readonly level?: string;
  /** Where lines go; defaults to stdout. Tests pass a stream to read them back. */
  readonly destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const level = options.level ?? process.env.LOG_LEVEL ?? 'info';
  return pino(
    {
      name: options.name,
      level,
      base: { service: 'toilless' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        // Top level and one level down (`{ config }`, `{ headers }`): deeper wildcards cost a walk of
        // every logged object, and nothing of ours nests a secret deeper.
        paths: REDACTED_KEYS.flatMap((key) => [key, `*.${key}`]),
        censor: '[redacted]',
      },
    },
    // On Lambda a buffered line can be lost when the invocation freezes the process: write synchronously there.
    options.destination ?? pino.destination({ sync: process.env.AWS_LAMBDA_FUNCTION_NAME !== undefined }),
  );
}

/** A logger that drops everything: the default in unit tests of pure cores. */
export const silentLogger: Logger = pino({ level: 'silent' });
