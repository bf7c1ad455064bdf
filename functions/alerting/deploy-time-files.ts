/**
 * Configs that reference files which only exist where they are deployed (credentials_file,
 * api_url_file, TLS keys...). promtool refuses a config whose credentials file is missing, so the
 * check runs on a temporary copy in which each missing file is a placeholder and every relative path
 * (rule files, templates) points back at the original directory.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

/** Keys whose values are lists of paths or globs, relative to the config file. */
const PATH_LIST_KEYS = new Set(['rule_files', 'scrape_config_files', 'files', 'templates']);

/** A config ready for checking. */
export interface CheckableConfig {
  /** The file to hand to the tool: the original, or the temporary copy. */
  readonly path: string;
  /** The deploy-time files that were replaced by placeholders, as written in the config. */
  readonly substituted: readonly string[];
  /** Removes the temporary copy, if any. */
  cleanup(): Promise<void>;
}

/** The config itself when every referenced file exists, otherwise a temporary copy with placeholders. */
export async function withDeployTimeFiles(configPath: string): Promise<CheckableConfig> {
  const configDir = dirname(resolve(configPath));
  let document: unknown;
  try {
    document = parseYaml(await readFile(configPath, 'utf8'), { merge: true });
  } catch {
    // Not YAML: the tool will say so.
    return { path: configPath, substituted: [], cleanup: async () => {} };
  }
  const missing = new Set<string>();
  visitFiles(document, (key, value) => {
    if (key.endsWith('_file') && !existsSync(resolve(configDir, value))) missing.add(value);
    return value;
  });
  if (missing.size === 0) return { path: configPath, substituted: [], cleanup: async () => {} };

  const tempDir = await mkdtemp(join(tmpdir(), 'toilless-check-'));
  const placeholders = new Map<string, string>();
  let index = 0;
  for (const value of missing) {
    const placeholder = join(tempDir, `placeholder-${index++}-${basename(value)}`);
    // Only existence is checked; a URL keeps *_url_file readers happy should they look inside.
    await writeFile(placeholder, /url/i.test(value) ? 'https://placeholder.invalid/\n' : 'placeholder\n');
    placeholders.set(value, placeholder);
  }
  const copy = visitFiles(structuredClone(document), (key, value) => {
    const placeholder = placeholders.get(value);
    if (key.endsWith('_file') && placeholder !== undefined) return placeholder;
    return isAbsolute(value) ? value : resolve(configDir, value);
  });
  const copyPath = join(tempDir, basename(configPath));
  await writeFile(copyPath, stringifyYaml(copy));
  return {
    path: copyPath,
    substituted: [...missing],
    cleanup: () => rm(tempDir, { recursive: true, force: true }),
  };
}

/** Calls `map` for every path-valued entry (key *_file, or an item of a path list) and stores its result. */
function visitFiles(node: unknown, map: (key: string, value: string) => string): unknown {
  if (Array.isArray(node)) {
    node.forEach((item, i) => {
      node[i] = visitFiles(item, map);
    });
    return node;
  }
  if (node === null || typeof node !== 'object') return node;
  const record = node as Record<string, unknown>;
  for (const [key, value] of Object.entries(record)) {
    if (typeof value === 'string' && key.endsWith('_file') && value !== '') {
      record[key] = map(key, value);
    } else if (PATH_LIST_KEYS.has(key) && Array.isArray(value)) {
      record[key] = value.map((item) => (typeof item === 'string' ? map(key, item) : visitFiles(item, map)));
    } else {
      record[key] = visitFiles(value, map);
    }
  }
  return record;
}
