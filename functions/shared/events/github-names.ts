/**
 * The repository and environment names the intake accepts: GitHub's own rules, narrowed to what the
 * store can hold (the DORA worker makes both into key segments, see dora-metrics/store-keys.ts), so a
 * name a worker could never store is refused at the door with a 400 instead of dead-lettered later.
 */

/** GitHub logins: alphanumerics and single hyphens, at most 39, no hyphen first or last. */
const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
/** GitHub repository names: ASCII letters, digits, `.`, `_`, `-`, at most 100. */
const REPOSITORY_NAME = /^[A-Za-z0-9._-]{1,100}$/;
/** The data-dir store keeps its temp and lock files under names starting with this. */
const STORE_INTERNAL_PREFIX = '.toilless';
/** GitHub's limit for environment names. */
export const MAX_ENVIRONMENT_NAME_LENGTH = 255;
/**
 * An environment is one URL-encoded key segment, and `<segment>.json` a file name in the data dir,
 * whose file systems allow 255 bytes per name.
 */
export const MAX_ENVIRONMENT_SEGMENT_BYTES = 255 - '.json'.length;

/** Why `owner/name` is not a repository toilless can record, or undefined when it is one. */
export function repositoryNameProblem(fullName: string): string | undefined {
  const parts = fullName.split('/');
  if (parts.length !== 2) return 'expected owner/name';
  const [owner = '', name = ''] = parts;
  if (!OWNER.test(owner)) {
    return 'the owner must be 1 to 39 letters, digits or single hyphens, not starting or ending with a hyphen';
  }
  if (!REPOSITORY_NAME.test(name)) return 'the name must be 1 to 100 letters, digits, ".", "_" or "-"';
  if (name === '.' || name === '..') return `the name "${name}" is not a repository`;
  if (name.toLowerCase().startsWith(STORE_INTERNAL_PREFIX)) {
    return `names starting with "${STORE_INTERNAL_PREFIX}" are reserved for the store's own files`;
  }
  return undefined;
}

/** Why an environment name cannot be recorded, or undefined when it can. */
export function environmentNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'the environment name is empty';
  if ([...name].length > MAX_ENVIRONMENT_NAME_LENGTH) {
    return `the environment name has more than ${MAX_ENVIRONMENT_NAME_LENGTH} characters`;
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'the environment name contains control characters';
  if (name === '.' || name === '..') return `the environment name "${name}" would be a path step`;
  if (name.toLowerCase().startsWith(STORE_INTERNAL_PREFIX)) {
    return `environment names starting with "${STORE_INTERNAL_PREFIX}" are reserved for the store's own files`;
  }
  let segment: string;
  try {
    segment = encodeURIComponent(name);
  } catch {
    return 'the environment name is not valid Unicode (a lone surrogate)';
  }
  if (segment.length > MAX_ENVIRONMENT_SEGMENT_BYTES) {
    return `the environment name takes ${segment.length} bytes URL-encoded; at most ${MAX_ENVIRONMENT_SEGMENT_BYTES} can be stored`;
  }
  return undefined;
}
