/**
 * Structured JSON logs, one object per line, on Lambda (CloudWatch) and locally.
 * Secrets are redacted by key at the top level and one level down under any key, so a stray
 * `log.info({ config })` or `log.info({ headers })` cannot leak one.
 */
import { type Logger, pino } from 'pino';
import { SECRET_NAMES } from './ports/secrets.js';

export type { Logger } from 'pino';

/** Keys whose value is a secret: our option and config names, the headers, and the secrets' own names. */
export const REDACTED_KEYS: readonly string[] = [
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
  ...SECRET_NAMES,
];

/**
 * The pino redaction paths: every REDACTED_KEYS at the top level and one level down under any key
 * (`{ config }`, `{ headers }`, `{ env }`, an options object under a name nobody thought of). The
 * wildcard costs a few microseconds a line; deeper wildcards would cost a walk of every logged object,
 * and nothing of ours nests a secret deeper.
 */
export function redactedPaths(): string[] {
  const keyPath = (key: string) => (/^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`);
  return REDACTED_KEYS.flatMap((key) => [keyPath(key).replace(/^\./, ''), `*${keyPath(key)}`]);
}

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
      redact: { paths: redactedPaths(), censor: '[redacted]' },
    },
    // On Lambda a buffered line can be lost when the invocation freezes the process: write synchronously there.
    options.destination ?? pino.destination({ sync: process.env.AWS_LAMBDA_FUNCTION_NAME !== undefined }),
  );
}

/** A logger that drops everything: the default in unit tests of pure cores. */
export const silentLogger: Logger = pino({ level: 'silent' });
