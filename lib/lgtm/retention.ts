import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseDurationMs } from '../../functions/shared/duration.js';

const DAY_MS = 86_400_000;

/**
 * Whole days of a retention set in a service's own config file (Loki's limits_config.retention_period,
 * Tempo's compactor.compaction.block_retention), rounded up: the bucket lifecycle is derived from the
 * file, never copied.
 */
export function configuredRetentionDays(
  stackConfigDir: string,
  file: string,
  keyPath: readonly string[],
): number {
  const path = join(stackConfigDir, file);
  let value: unknown = parseYaml(readFileSync(path, 'utf8'));
  for (const key of keyPath) {
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  }
  if (typeof value !== 'string') {
    throw new Error(
      `${file}: ${keyPath.join('.')} is not set: the bucket's expiry is derived from it, so set a duration such as 720h.`,
    );
  }
  return Math.max(1, Math.ceil(parseDurationMs(value) / DAY_MS));
}
