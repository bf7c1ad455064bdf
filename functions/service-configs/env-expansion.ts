/**
 * What Loki and Tempo do to their config file with -config.expand-env=true before parsing it: replace
 * `${VAR}` / `$VAR` with the environment's value (empty when unset) and `${VAR:-default}` /
 * `${VAR-default}` with a fallback (github.com/drone/envsubst, which both use). Checking a config once
 * per environment it will see (S3 on ECS, a volume in docker compose) catches a variant that only
 * breaks in the other deployment.
 */

const REFERENCE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/** `text` with every variable reference replaced from `env`. */
export function expandEnv(text: string, env: Readonly<Record<string, string | undefined>>): string {
  return text.replace(
    REFERENCE,
    (whole, braced?: string, operator?: string, fallback?: string, bare?: string) => {
      if (whole === '$$') return '$';
      const name = (braced ?? bare) as string;
      const value = env[name];
      if (operator === ':-') return value === undefined || value === '' ? (fallback ?? '') : value;
      if (operator === '-') return value === undefined ? (fallback ?? '') : value;
      return value ?? '';
    },
  );
}

/** The names of the variables `text` refers to, sorted, each once. */
export function referencedVariables(text: string): string[] {
  const names = new Set<string>();
  for (const match of text.matchAll(REFERENCE)) {
    const name = match[1] ?? match[4];
    if (name !== undefined) names.add(name);
  }
  return [...names].sort();
}
