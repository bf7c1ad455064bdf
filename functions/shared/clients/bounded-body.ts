/**
 * Response bodies read with a size cap. A service that answers more than the cap (a query over every
 * series, a proxy streaming without end) is an upstream error, never an unbounded buffer: reading
 * stops at the cap and the rest of the body is cancelled.
 */
import { UpstreamError } from '../errors.js';

/** The largest response body a client reads unless told otherwise: 10 MiB. */
export const DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024;

/** What a too-large answer is reported as. */
export interface BodyLimit {
  /** The service named in the error, e.g. 'prometheus'. */
  readonly service: string;
  /** e.g. `GET /api/v1/query_range`. */
  readonly request: string;
  readonly maxBytes: number;
}

/** The body as UTF-8 text, or an UpstreamError once it passes `limit.maxBytes`. */
export async function readBodyWithin(response: Response, limit: BodyLimit): Promise<string> {
  return Buffer.from(await readBytesWithin(response, limit)).toString('utf8');
}

/** The body's bytes, or an UpstreamError once they pass `limit.maxBytes`. */
export async function readBytesWithin(response: Response, limit: BodyLimit): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limit.maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge(limit, response.status);
  }
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit.maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(limit, response.status);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

/**
 * A fetch whose responses are read in full within the cap before they are handed on, for clients
 * that read bodies themselves (Octokit's `request.fetch`).
 */
export function fetchWithin(inner: typeof fetch, limit: Omit<BodyLimit, 'request'>): typeof fetch {
  return async (input, init) => {
    const response = await inner(input, init);
    const request = `${init?.method ?? 'GET'} ${pathOf(input)}`;
    const body = await readBytesWithin(response, { ...limit, request });
    const noBody = response.status === 204 || response.status === 205 || response.status === 304;
    const buffered = new Response(noBody ? null : body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
    // Octokit reports the final URL (after redirects) of each answer.
    Object.defineProperty(buffered, 'url', { value: response.url });
    return buffered;
  };
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

function tooLarge(limit: BodyLimit, status: number): UpstreamError {
  return new UpstreamError(
    limit.service,
    `${limit.request} answered with more than ${formatBytes(limit.maxBytes)}: the answer was refused unread (narrow the query, or raise the client's maxResponseBytes)`,
    status,
  );
}

function pathOf(input: string | URL | Request): string {
  const text = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  try {
    return new URL(text).pathname;
  } catch {
    return text;
  }
}
