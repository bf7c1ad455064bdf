/** Reading values out of a parsed YAML tree without trusting its shape. */

export type YamlMap = Readonly<Record<string, unknown>>;

export function isMap(value: unknown): value is YamlMap {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The value at a dot path (`compactor.retention_enabled`), or undefined when any step is missing. */
export function valueAt(tree: unknown, path: string): unknown {
  let node: unknown = tree;
  for (const key of path.split('.')) {
    if (!isMap(node)) return undefined;
    node = node[key];
  }
  return node;
}

/** The list at a dot path; anything else is an empty list. */
export function listAt(tree: unknown, path: string): unknown[] {
  const value = valueAt(tree, path);
  return Array.isArray(value) ? value : [];
}

/** A string or number at a dot path as text, or undefined. */
export function textAt(tree: unknown, path: string): string | undefined {
  const value = valueAt(tree, path);
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}
