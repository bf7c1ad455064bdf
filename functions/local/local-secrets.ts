/**
 * Secrets for the local runtime: the environment wins; otherwise files under <data-dir>/secrets/.
 * The two webhook credentials are generated there on first start, so `npm start` works out of the box
 * and still refuses unauthenticated deliveries. Values are never logged; the file paths are.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigurationError } from '../shared/errors.js';
import type { SecretName, SecretSource } from '../shared/ports/secrets.js';

/** The credentials a local server generates when none are configured. */
export const GENERATED_SECRETS: readonly SecretName[] = [
  'ALERTMANAGER_WEBHOOK_TOKEN',
  'GITHUB_WEBHOOK_SECRET',
];

export function secretFileName(name: SecretName): string {
  return name.toLowerCase().replaceAll('_', '-');
}

export class LocalSecretSource implements SecretSource {
  readonly dir: string;

  constructor(
    dataDir: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.dir = join(dataDir, 'secrets');
  }

  async get(name: SecretName): Promise<string | undefined> {
    const fromEnv = this.env[name];
    if (fromEnv) return fromEnv;
    const path = this.pathOf(name);
    try {
      const value = (await readFile(path, 'utf8')).trim();
      return value === '' ? undefined : value;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw unreadableSecretFile(name, path, error);
    }
  }

  pathOf(name: SecretName): string {
    return join(this.dir, secretFileName(name));
  }

  /**
   * Creates a random value for each generated secret that is neither in the environment nor on disk.
   * Returns the files it wrote, so the caller can tell the operator where to find them.
   */
  async ensureGenerated(): Promise<string[]> {
    const written: string[] = [];
    for (const name of GENERATED_SECRETS) {
      if (await this.get(name)) continue;
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      const path = this.pathOf(name);
      try {
        // 'wx': two servers starting on one data dir must not overwrite each other's secret.
        await writeFile(path, `${randomBytes(32).toString('base64url')}\n`, { flag: 'wx', mode: 0o600 });
        await chmod(path, 0o600);
        written.push(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
    return written;
  }
}

/** One sentence an operator can act on: which file, what is wrong with it, what to do. */
export function unreadableSecretFile(name: SecretName, path: string, error: unknown): ConfigurationError {
  const code = (error as NodeJS.ErrnoException).code;
  const remedy =
    code === 'EISDIR'
      ? 'it is a directory: replace it with a file holding the secret, or remove it to have one generated'
      : code === 'EACCES' || code === 'EPERM'
        ? 'permission denied: make it readable by the user running toilless (chmod 600 and chown to that user)'
        : `${code ?? (error instanceof Error ? error.message : String(error))}: fix or remove the file`;
  return new ConfigurationError(
    `the ${name} file ${path} cannot be read: ${remedy}, or set ${name} in the environment`,
    {
      cause: error,
    },
  );
}
