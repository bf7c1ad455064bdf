/**
 * Known configuration keys per block, taken from a service's upstream configuration reference. Loki,
 * Tempo and the OpenTelemetry Collector refuse a config with an unknown key at start; their binaries
 * cannot run where the tests and `toilless check` run, so a misspelled key is caught here instead.
 */

/** A block whose keys are names the operator chooses (labels, tags, headers): any key is valid. */
export const FREE_FORM = 'free-form';

/** A block whose keys are names (compose services, volumes): any name, each entry checked as `<block>.*`. */
export const NAMED_ENTRIES = 'named-entries';

/** The keys a service accepts, block by block, for one pinned version. */
export interface KeyReference {
  /** The service and version, e.g. "Loki 3.4.6". */
  readonly service: string;
  /** Where the lists come from (the reference documents at the release tag). */
  readonly source: string;
  /**
   * Known keys by block path: '' is the top level, keys are joined with '.', and `[]` stands for the
   * items of a list (`schema_config.configs[]`). A path missing here is a block nobody has checked yet.
   */
  readonly blocks: Readonly<Record<string, readonly string[] | typeof FREE_FORM | typeof NAMED_ENTRIES>>;
  /**
   * Blocks whose keys name components as `type` or `type/name` (the collector's exporters/otlp/tempo):
   * the type selects the block below, so `exporters.otlphttp/loki` is checked as `exporters.otlphttp`.
   */
  readonly namedComponents?: readonly string[];
  /** Keys valid in any block and not checked further (compose's `x-` extensions). @default none */
  readonly extensionKeys?: RegExp;
}

/** One key the reference does not know. */
export interface UnknownKey {
  /** The block it is in ('' for the top level). */
  readonly block: string;
  readonly key: string;
  /** What is wrong and what to do, in one line. */
  readonly message: string;
}

/** Every key of `config` (parsed YAML) that the reference does not list, with a suggestion when one is close. */
export function unknownKeys(config: unknown, reference: KeyReference): UnknownKey[] {
  const found: UnknownKey[] = [];
  const named = new Set(reference.namedComponents ?? []);

  // `path` selects the key list (entries of a named block as `*`); `shown` is what messages say.
  const visit = (node: unknown, path: string, shown: string): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item, `${path}[]`, `${shown}[]`);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const known = reference.blocks[path];
    if (known === FREE_FORM) return;
    if (known === NAMED_ENTRIES) {
      for (const [name, entry] of Object.entries(node as Record<string, unknown>)) {
        visit(entry, `${path}.*`, `${shown}.${name}`);
      }
      return;
    }
    const where = path === '' ? 'at the top level' : `in ${shown}`;
    if (known === undefined) {
      found.push({
        block: path,
        key: '',
        message:
          `block ${path} is not covered by the key list of ${reference.service}: check its keys against ` +
          `${reference.source} and add them`,
      });
      return;
    }
    for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
      if (reference.extensionKeys?.test(key)) continue;
      const segment = named.has(path) ? componentType(key) : key;
      if (!known.includes(segment)) {
        const close = closest(segment, known);
        found.push({
          block: path,
          key,
          message:
            `unknown key "${key}" ${where}: ${reference.service} refuses to start with it` +
            (close === undefined ? ` (see ${reference.source})` : `; did you mean "${close}"?`),
        });
        continue;
      }
      visit(value, path === '' ? segment : `${path}.${segment}`, shown === '' ? key : `${shown}.${key}`);
    }
  };

  visit(config, '', '');
  return found;
}

/** `otlphttp/loki` -> `otlphttp`: the collector names component instances `type/name`. */
export function componentType(key: string): string {
  const slash = key.indexOf('/');
  return slash === -1 ? key : key.slice(0, slash);
}

/** The known key within edit distance 2 of `key`, if there is exactly one best. */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = editDistance(key, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] as number;
}
