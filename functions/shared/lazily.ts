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
