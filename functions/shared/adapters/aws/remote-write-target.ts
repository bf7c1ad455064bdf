/**
 * Where a worker on Lambda pushes its metrics. Apart from lambda-metrics.ts so that a handler can decide
 * whether to push without loading prom-client.
 */

/**
 * The remote-write URL to push to when one is configured (PROMETHEUS_REMOTE_WRITE_URL, else
 * PROMETHEUS_URL's /api/v1/write); none when neither is set, rather than the local default.
 */
export function configuredRemoteWriteUrl(env: NodeJS.ProcessEnv, derived: string): string | undefined {
  return env.PROMETHEUS_REMOTE_WRITE_URL || env.PROMETHEUS_URL ? derived : undefined;
}
