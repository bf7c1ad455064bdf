/**
 * A value built on first use and kept; a build that fails is forgotten, so the next use tries again
 * (a cold start that met a throttled Secrets Manager must not stay broken for the environment's life).
 */
export function lazily<T>(build: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= build().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}

/**
 * A value built synchronously on first use and kept: for what a module would otherwise build at import
 * although a given path may never need it (a zod schema of one event type among several).
 */
export function builtOnFirstUse<T>(build: () => T): () => T {
  let built: { readonly value: T } | undefined;
  return () => {
    built ??= { value: build() };
    return built.value;
  };
}
