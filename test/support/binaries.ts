import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, resolve } from 'node:path';

/**
 * The absolute path of an executable on PATH. A missing binary fails the test that needs it:
 * the tests exercise the real tools, so running without them would prove nothing.
 */
export function requireBinary(name: string, debianPackage: string): string {
  const path = findBinary(name);
  if (path !== undefined) return path;
  throw new Error(
    `${name} was not found on PATH: it comes from the Debian package "${debianPackage}". ` +
      `Run "npm run test:deps" to install it (as root on Debian), or ` +
      `"sudo apt-get install --no-install-recommends ${debianPackage}".`,
  );
}

/** The absolute path of an executable on PATH, or undefined when there is none. */
export function findBinary(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = resolve(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
