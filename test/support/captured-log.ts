/** A logger whose output a test reads back, to check what was logged and what never is. */
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../functions/shared/log.js';

export interface CapturedLog {
  /** Logs at debug level into this capture. */
  readonly logger: Logger;
  /** Everything written so far, as written. */
  text(): string;
  /** Each line written so far, parsed from JSON. */
  records(): Record<string, unknown>[];
}

export function captureLog(name: string): CapturedLog {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const text = () => chunks.join('');
  return {
    logger: createLogger({ name, level: 'debug', destination }),
    text,
    records: () =>
      text()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
