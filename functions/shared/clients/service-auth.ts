/**
 * Credentials for a hosted Prometheus, Loki or Tempo (e.g. Grafana Cloud): a secret holding basic-auth
 * `user:password` or a bearer token becomes the Authorization header, sent only to that service's origin.
 */
import type { SecretName, SecretSource } from '../ports/secrets.js';

/** The secret of each external service the workers query or write to. */
export const SERVICE_AUTH_SECRETS = {
  prometheus: 'PROMETHEUS_AUTH',
  loki: 'LOKI_AUTH',
  tempo: 'TEMPO_AUTH',
} as const satisfies Record<string, SecretName>;

export type AuthenticatedService = keyof typeof SERVICE_AUTH_SECRETS;

/** The Authorization header of each service whose credentials are set. */
export type ServiceAuthorizations = Partial<Record<AuthenticatedService, string>>;

/** The Authorization header value of a secret: `user:password` is basic auth, anything else a bearer token. */
export function authorizationHeader(secret: string): string | undefined {
  const value = secret.trim();
  if (value.length === 0) return undefined;
  if (/^(basic|bearer) /i.test(value)) return value;
  const colon = value.indexOf(':');
  return colon > 0 ? `Basic ${Buffer.from(value, 'utf8').toString('base64')}` : `Bearer ${value}`;
}

/** The Authorization header for each service whose secret is set. */
export async function serviceAuthorizations(secrets: SecretSource): Promise<ServiceAuthorizations> {
  const entries = await Promise.all(
    Object.entries(SERVICE_AUTH_SECRETS).map(async ([service, name]) => {
      const value = await secrets.get(name).catch(unsetSecret);
      return [service, value === undefined ? undefined : authorizationHeader(value)] as const;
    }),
  );
  return Object.fromEntries(entries.filter(([, header]) => header !== undefined));
}

/**
 * A secret the stack created but nobody put a value in (self-hosted services need none) is not set;
 * any other failure, e.g. access denied, stands.
 */
function unsetSecret(error: unknown): undefined {
  if ((error as { name?: unknown } | null)?.name === 'ResourceNotFoundException') return undefined;
  throw error;
}

/**
 * A fetch that adds `authorization` to requests for `baseUrl`'s origin only, so a redirect or a link
 * to another host never carries the credential. Without one, the fetch itself.
 */
export function authorizedFetch(
  baseUrl: string,
  authorization: string | undefined,
  fetchImpl: typeof fetch | undefined,
): typeof fetch | undefined {
  if (authorization === undefined) return fetchImpl;
  const origin = new URL(baseUrl).origin;
  const wrapped = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const doFetch = fetchImpl ?? globalThis.fetch;
    const url = input instanceof Request ? input.url : String(input);
    if (new URL(url).origin !== origin) return doFetch(input, init);
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    headers.set('authorization', authorization);
    return doFetch(input, { ...init, headers });
  };
  return wrapped as typeof fetch;
}
