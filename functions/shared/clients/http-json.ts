import { UpstreamError } from '../errors.js';
import { DEFAULT_MAX_RESPONSE_BYTES, readBodyWithin } from './bounded-body.js';
import { authorizedFetch } from './service-auth.js';

export interface JsonGetOptions {
  /** The service named in errors, e.g. 'loki' or 'tempo'. */
  readonly service: string;
  /** Time limit for this one request (connect, headers and body), in milliseconds. */
  readonly timeoutMs: number;
  /** The caller's signal, e.g. the overall time budget of an incident timeline; callers pass on theirs, if any. @default none */
  readonly signal?: AbortSignal | undefined;
  /** Extra request headers (tenant, encoding flags). @default none */
  readonly headers?: Readonly<Record<string, string>>;
  /** Statuses answered without throwing, e.g. 404 for an unknown trace; their body is returned as text. @default none */
  readonly passStatuses?: readonly number[];
  /** The fetch to use; callers pass on the one they were given, if any. @default globalThis.fetch */
  readonly fetch?: typeof fetch | undefined;
  /** A larger body is an UpstreamError, read no further. @default DEFAULT_MAX_RESPONSE_BYTES (10 MiB) */
  readonly maxResponseBytes?: number;
}

export interface JsonAnswer {
  readonly status: number;
  /** Parsed JSON for 2xx answers; the raw text for a passed non-2xx status. */
  readonly body: unknown;
}

/** What a client of one service's JSON API (Loki, Tempo) is given. */
export interface TenantJsonApiOptions {
  /** The service's base URL, e.g. http://loki:3100. */
  readonly baseUrl: string;
  /** Tenant sent as X-Scope-OrgID when the service runs multi-tenant. @default none */
  readonly tenant?: string;
  /** Time limit per HTTP request in milliseconds. @default 10000 */
  readonly timeoutMs?: number;
  /** The fetch to use. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** A larger answer is an UpstreamError. @default 10 MiB */
  readonly maxResponseBytes?: number;
  /** Authorization header for a hosted service (LOKI_AUTH, TEMPO_AUTH), sent to baseUrl's origin only. @default none */
  readonly authorization?: string | undefined;
}

const DEFAULT_API_TIMEOUT_MS = 10_000;

/** GETs from one service's JSON API with its base URL, tenant header, time limit and size limit. */
export class TenantJsonApi {
  private readonly baseUrl: string;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch | undefined;
  private readonly maxResponseBytes: number;

  constructor(
    private readonly service: string,
    options: TenantJsonApiOptions,
  ) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.headers = options.tenant ? { 'X-Scope-OrgID': options.tenant } : {};
    this.timeoutMs = options.timeoutMs ?? DEFAULT_API_TIMEOUT_MS;
    this.fetchImpl = authorizedFetch(this.baseUrl, options.authorization, options.fetch);
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  }

  /** GET `path` with `params` as its query; `passStatuses` are answered as text instead of thrown. */
  get(
    path: string,
    params: Readonly<Record<string, string>>,
    signal: AbortSignal | undefined,
    passStatuses?: readonly number[],
  ): Promise<JsonAnswer> {
    const url = new URL(`${this.baseUrl}${path}`);
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
    return getJson(url, {
      service: this.service,
      timeoutMs: this.timeoutMs,
      headers: this.headers,
      ...(passStatuses !== undefined ? { passStatuses } : {}),
      signal,
      fetch: this.fetchImpl,
      maxResponseBytes: this.maxResponseBytes,
    });
  }
}

/** The longest server error text kept in an UpstreamError: proxies answer with whole HTML pages. */
const MAX_ERROR_TEXT = 500;

/**
 * GETs a JSON document. Every failure becomes an UpstreamError naming the service: a non-2xx answer
 * carries the status and the server's own error text (Loki and Tempo answer 400 with a plain-text
 * reason), a timeout or cancellation says which, and a body that is not JSON says so. A body larger
 * than `maxResponseBytes` is refused as it streams in.
 */
export async function getJson(url: URL, options: JsonGetOptions): Promise<JsonAnswer> {
  // A timer cleared once the answer is read: AbortSignal.timeout's would keep the caller's async
  // context (an incident's gathered evidence and errors) reachable until it fires.
  const limit = new AbortController();
  const timer = setTimeout(
    () => limit.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
    options.timeoutMs,
  );
  timer.unref();
  const timeout = limit.signal;
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const request = `GET ${url.pathname}`;
  const doFetch = options.fetch ?? globalThis.fetch;

  let status: number;
  let statusText: string;
  let text: string;
  try {
    const response = await doFetch(url, {
      headers: { accept: 'application/json', ...options.headers },
      signal,
    });
    status = response.status;
    statusText = response.statusText;
    text = await readBodyWithin(response, {
      service: options.service,
      request,
      maxBytes: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
    });
  } catch (error) {
    if (error instanceof UpstreamError) throw error;
    throw transportFailure(error, request, options, timeout);
  } finally {
    clearTimeout(timer);
  }

  if (status < 200 || status > 299) {
    if (options.passStatuses?.includes(status)) return { status, body: text };
    const reason = text.trim();
    const message =
      reason.length === 0
        ? `${request} answered HTTP ${status} ${statusText}`.trimEnd()
        : reason.length > MAX_ERROR_TEXT
          ? `${reason.slice(0, MAX_ERROR_TEXT)}…`
          : reason;
    throw new UpstreamError(options.service, message, status);
  }

  try {
    return { status, body: JSON.parse(text) };
  } catch (error) {
    throw new UpstreamError(
      options.service,
      `${request} answered ${status} with a body that is not JSON: ${JSON.stringify(text.slice(0, 120))}`,
      status,
      { cause: error },
    );
  }
}

function transportFailure(
  error: unknown,
  request: string,
  options: JsonGetOptions,
  timeout: AbortSignal,
): UpstreamError {
  if (options.signal?.aborted) {
    return new UpstreamError(
      options.service,
      `${request} was cancelled by the caller (${describe(options.signal.reason)})`,
      undefined,
      { cause: error },
    );
  }
  if (timeout.aborted) {
    return new UpstreamError(
      options.service,
      `${request} timed out after ${options.timeoutMs} ms: the service is slow or unreachable`,
      undefined,
      { cause: error },
    );
  }
  // fetch reports connection failures as "fetch failed" and puts the reason (ECONNREFUSED...) in cause.
  const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
  return new UpstreamError(options.service, `${request} failed: ${describe(cause)}`, undefined, {
    cause: error,
  });
}

function describe(reason: unknown): string {
  if (reason instanceof Error) {
    const code = (reason as { code?: unknown }).code;
    return typeof code === 'string' && !reason.message.includes(code)
      ? `${code}: ${reason.message}`
      : reason.message;
  }
  return String(reason);
}
