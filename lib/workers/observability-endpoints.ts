import { Token } from 'aws-cdk-lib';

/**
 * Where the workers reach the LGTM stack. The observability stack provides these; each one left out
 * leaves its variable unset.
 */
export interface ObservabilityEndpoints {
  /** Prometheus HTTP API base URL (PROMETHEUS_URL). @default - not set */
  readonly prometheusUrl?: string;
  /** Prometheus remote-write receiver (PROMETHEUS_REMOTE_WRITE_URL). @default - `<prometheusUrl>/api/v1/write` when prometheusUrl is given */
  readonly remoteWriteUrl?: string;
  /** Loki base URL (LOKI_URL). @default - not set */
  readonly lokiUrl?: string;
  /** Tempo base URL (TEMPO_URL). @default - not set */
  readonly tempoUrl?: string;
  /** Grafana base URL for its HTTP API (GRAFANA_URL). @default - not set */
  readonly grafanaUrl?: string;
}

/** The runtime variable each endpoint sets. */
export const ENDPOINT_VARIABLES = {
  prometheusUrl: 'PROMETHEUS_URL',
  remoteWriteUrl: 'PROMETHEUS_REMOTE_WRITE_URL',
  lokiUrl: 'LOKI_URL',
  tempoUrl: 'TEMPO_URL',
  grafanaUrl: 'GRAFANA_URL',
} as const satisfies Record<keyof ObservabilityEndpoints, string>;

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\]|0\.0\.0\.0)$/i;

/**
 * The variables of the endpoints a worker uses, for those that are set. URLs known at synth must be
 * http(s) and must not be loopback, which from Lambda is the function itself.
 */
export function endpointVariables(
  endpoints: ObservabilityEndpoints | undefined,
  wanted: readonly (keyof ObservabilityEndpoints)[],
): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const name of wanted) {
    const value = name === 'remoteWriteUrl' ? remoteWriteUrlOf(endpoints) : endpoints?.[name];
    if (value === undefined) continue;
    if (!Token.isUnresolved(value)) checkEndpoint(name, value);
    variables[ENDPOINT_VARIABLES[name]] = value;
  }
  return variables;
}

/**
 * The remote-write receiver: the one given, else Prometheus's own below the given prometheusUrl (as the
 * runtime derives it), so that a worker that only writes needs no PROMETHEUS_URL.
 */
function remoteWriteUrlOf(endpoints: ObservabilityEndpoints | undefined): string | undefined {
  if (endpoints?.remoteWriteUrl !== undefined) return endpoints.remoteWriteUrl;
  const base = endpoints?.prometheusUrl;
  if (base === undefined) return undefined;
  return `${Token.isUnresolved(base) ? base : base.replace(/\/+$/, '')}/api/v1/write`;
}

/** Throws when an endpoint known at synth cannot be reached from Lambda. */
function checkEndpoint(name: keyof ObservabilityEndpoints, value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(
      `observability.${name} "${value}" is not a URL: use the http(s) address of the service, e.g. the output of the observability stack.`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`observability.${name} "${value}" is not http(s): use an http:// or https:// address.`);
  }
  if (LOOPBACK.test(url.hostname)) {
    throw new Error(
      `observability.${name} "${value}" points at the function itself on Lambda: use an address the function can reach, or leave it out.`,
    );
  }
}
