/**
 * The logger of the one-off commands (timeline, dora): JSON lines on stderr, warnings and up unless
 * LOG_LEVEL says otherwise, so that stdout carries only the command's output.
 */
import { createLogger, type Logger } from '../../functions/shared/log.js';

export function commandLogger(env: NodeJS.ProcessEnv = process.env): Logger {
  return createLogger({ name: 'toilless', level: env.LOG_LEVEL ?? 'warn', destination: process.stderr });
}
