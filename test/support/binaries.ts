import { findBinary } from '../../bin/gameday/local-processes.js';

export { findBinary };

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
