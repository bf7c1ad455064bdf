/**
 * Prometheus remote-write 1.0 client: validates and encodes series (write-request.ts), compresses
 * them with Snappy (block format) and POSTs them, split into requests of bounded size.
 *
 * Retries: 5xx, 429 and transport failures (no answer, connection reset, request timeout) are retried
 * with exponential backoff and full jitter, at most `maxAttempts` times per request and never past the
 * overall deadline; a Retry-After header on such an answer replaces the backoff. Other statuses (4xx,
 * 3xx) are final: Prometheus answers 400 for data it refuses (e.g. "out of order sample", "out of
 * bounds" for a sample older than the head block, "duplicate sample for timestamp"), and sending the
 * same data again would fail the same way.
 *
 * Requests go out one after another, so a series split across requests arrives in timestamp order.
 * When one fails, the ones before it stay written; the error says how many.
 */
import { compress } from 'snappyjs';
import packageJson from '../../../package.json' with { type: 'json' };
import { ConfigurationError, UpstreamError } from '../errors.js';
import { type Clock, systemClock } from '../ports/clock.js';
import {
  countSamples,
  encodeSlices,
  prepareSeries,
  splitIntoRequests,
  type TimeSeries,
} from './write-request.js';

export {
  encodeWriteRequest,
  isStaleNaN,
  type Sample,
  STALE_NAN,
  type TimeSeries,
} from './write-request.js';

const SERVICE = 'prometheus remote-write';
/** Set by the client alone; the same names in `headers` (any case) are ignored. */
const PROTOCOL_HEADERS = new Set([
  'content-encoding',
  'content-type',
  'user-agent',
  'x-prometheus-remote-write-version',
]);
const MAX_MESSAGE_CHARS = 500;

/** Where and how to write. */
export interface RemoteWriteClientOptions {
  /** The receiver's endpoint, e.g. http://prometheus:9090/api/v1/write. */
  readonly url: string;
  /** User-Agent header. @default `toilless/<version>` */
  readonly userAgent?: string;
  /** More headers on every request, e.g. X-Scope-OrgID or Authorization; the protocol's own (and User-Agent) are not overridden. @default none */
  readonly headers?: Readonly<Record<string, string>>;
  /** Authorization header for a hosted receiver (PROMETHEUS_AUTH); redirects are not followed, so it goes to `url` only. @default none */
  readonly authorization?: string | undefined;
  /** Attempts per request, the first one included. @default 5 */
  readonly maxAttempts?: number;
  /** Backoff ceiling after the first failure; it doubles per attempt and the delay is drawn below it. @default 100 */
  readonly baseDelayMs?: number;
  /** Largest backoff ceiling. @default 5000 */
  readonly maxDelayMs?: number;
  /** Time budget of one write(): all its requests and retries. @default 30000 */
  readonly deadlineMs?: number;
  /** Time budget of one HTTP request, capped by what is left of the deadline. @default 10000 */
  readonly timeoutMs?: number;
  /** Most samples in one request; larger writes are split. @default 5000 */
  readonly maxSamplesPerRequest?: number;
  /** Time for the deadline and the backoff sleeps. @default systemClock */
  readonly clock?: Clock;
  /** Jitter source, in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/** What a successful write sent. */
export interface RemoteWriteResult {
  /** HTTP requests that were accepted (one per batch of at most maxSamplesPerRequest samples). */
  readonly requests: number;
  /** Distinct series written (after merging series with equal labels). */
  readonly series: number;
  /** Samples written (after removing repeated samples). */
  readonly samples: number;
  /** HTTP attempts, retries included. */
  readonly attempts: number;
}

/** The outcome of one HTTP attempt. */
type Attempt =
  | { readonly kind: 'written' }
  | {
      readonly kind: 'refused';
      readonly status: number;
      readonly message: string;
      readonly retryable: boolean;
      readonly retryAfterMs?: number;
    }
  | { readonly kind: 'unanswered'; readonly message: string; readonly cause: unknown };

/** Writes series to a Prometheus remote-write receiver (Prometheus, Mimir, Cortex, Thanos receive...). */
export class RemoteWriteClient {
  readonly #url: string;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #maxAttempts: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #deadlineMs: number;
  readonly #timeoutMs: number;
  readonly #maxSamplesPerRequest: number;
  readonly #clock: Clock;
  readonly #random: () => number;

  constructor(options: RemoteWriteClientOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new ConfigurationError(
        `remote-write url ${JSON.stringify(options.url)} is not a URL: set it to e.g. http://prometheus:9090/api/v1/write`,
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ConfigurationError(`remote-write url ${options.url} must be http or https`);
    }
    this.#url = url.href;
    this.#maxAttempts = positiveInteger('maxAttempts', options.maxAttempts ?? 5);
    this.#baseDelayMs = positiveInteger('baseDelayMs', options.baseDelayMs ?? 100);
    this.#maxDelayMs = positiveInteger('maxDelayMs', options.maxDelayMs ?? 5_000);
    this.#deadlineMs = positiveInteger('deadlineMs', options.deadlineMs ?? 30_000);
    this.#timeoutMs = positiveInteger('timeoutMs', options.timeoutMs ?? 10_000);
    this.#maxSamplesPerRequest = positiveInteger(
      'maxSamplesPerRequest',
      options.maxSamplesPerRequest ?? 5_000,
    );
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    const extraHeaders = Object.entries(options.headers ?? {}).filter(
      ([name]) => !PROTOCOL_HEADERS.has(name.toLowerCase()),
    );
    this.#headers = {
      ...Object.fromEntries(extraHeaders),
      ...(options.authorization !== undefined ? { Authorization: options.authorization } : {}),
      'Content-Encoding': 'snappy',
      'Content-Type': 'application/x-protobuf',
      'User-Agent': options.userAgent ?? `toilless/${packageJson.version}`,
      'X-Prometheus-Remote-Write-Version': '0.1.0',
    };
  }

  /**
   * Validates, then writes the series. Throws ValidationError before sending anything when a series is
   * invalid, and UpstreamError when the receiver refuses a request or cannot be reached in time.
   */
  async write(series: readonly TimeSeries[]): Promise<RemoteWriteResult> {
    const prepared = prepareSeries(series);
    const requests = splitIntoRequests(prepared, this.#maxSamplesPerRequest);
    const deadline = this.#clock.now().getTime() + this.#deadlineMs;
    let attempts = 0;
    let samples = 0;
    for (let index = 0; index < requests.length; index++) {
      const slices = requests[index]!;
      const body = compress(encodeSlices(slices));
      const progress = { index, count: requests.length, samplesWritten: samples };
      attempts += await this.#send(body, deadline, progress);
      samples += countSamples(slices);
    }
    return { requests: requests.length, series: prepared.length, samples, attempts };
  }

  /** Sends one request until it is written; answers the number of attempts it took. */
  async #send(body: Uint8Array, deadline: number, progress: Progress): Promise<number> {
    let unansweredBefore: string | undefined;
    if (this.#clock.now().getTime() >= deadline) {
      const { index, count, samplesWritten } = progress;
      throw new UpstreamError(
        SERVICE,
        `the ${this.#deadlineMs} ms deadline passed before request ${index + 1} of ${count} was sent; ${writtenBefore(index, samplesWritten)}`,
      );
    }
    for (let attempt = 1; ; attempt++) {
      // Never zero: the check above and the one before each sleep leave time for this attempt.
      const remaining = Math.max(1, deadline - this.#clock.now().getTime());
      const outcome = await this.#post(body, Math.min(this.#timeoutMs, remaining));
      if (outcome.kind === 'written') return attempt;

      const retryable = outcome.kind === 'unanswered' || outcome.retryable;
      if (!retryable) throw this.#failure(outcome, attempt, progress, unansweredBefore);
      if (attempt >= this.#maxAttempts) throw this.#failure(outcome, attempt, progress);

      const retryAfterMs = outcome.kind === 'refused' ? outcome.retryAfterMs : undefined;
      const delay = retryAfterMs ?? this.#backoff(attempt);
      if (this.#clock.now().getTime() + delay >= deadline) {
        const wait =
          retryAfterMs === undefined
            ? 'another attempt'
            : `waiting the ${retryAfterMs} ms Retry-After asks for`;
        const gaveUp = `gave up: ${wait} would pass the ${this.#deadlineMs} ms deadline`;
        throw this.#failure(outcome, attempt, progress, undefined, gaveUp);
      }
      if (outcome.kind === 'unanswered') unansweredBefore = outcome.message;
      await this.#clock.sleep(delay);
    }
  }

  async #post(body: Uint8Array, timeoutMs: number): Promise<Attempt> {
    let response: Response;
    try {
      response = await fetch(this.#url, {
        method: 'POST',
        headers: this.#headers,
        body,
        // A redirected POST would be replayed as a GET by fetch; report it instead.
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      return unanswered(error, timeoutMs);
    }
    if (response.ok) {
      await response.body?.cancel().catch(() => undefined);
      return { kind: 'written' };
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      text = `(the answer's body could not be read: ${describe(error)})`;
    }
    const status = response.status;
    const retryable = status >= 500 || status === 429;
    const message =
      status >= 300 && status < 400
        ? `redirected to ${response.headers.get('location') ?? '(no Location)'}: set the url to the final endpoint`
        : truncate(text.trim()) || response.statusText;
    const retryAfterMs = retryable
      ? parseRetryAfter(response.headers.get('retry-after'), this.#clock.now())
      : undefined;
    return {
      kind: 'refused',
      status,
      message,
      retryable,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    };
  }

  /** Full jitter: a delay drawn uniformly below a ceiling that doubles per attempt. */
  #backoff(attempt: number): number {
    const ceiling = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (attempt - 1));
    return Math.floor(this.#random() * ceiling);
  }

  #failure(
    outcome: Exclude<Attempt, { kind: 'written' }>,
    attempts: number,
    progress: Progress,
    unansweredBefore?: string,
    gaveUp?: string,
  ): UpstreamError {
    const notes = [counted(attempts, 'attempt')];
    if (outcome.kind === 'refused' && !outcome.retryable)
      notes.push('not retried: the receiver refused this data');
    if (gaveUp !== undefined) notes.push(gaveUp);
    if (progress.count > 1) notes.push(describeProgress(progress));
    if (unansweredBefore !== undefined) {
      notes.push(
        `an earlier attempt got no answer (${unansweredBefore}) and may have been written, which would explain this refusal`,
      );
    }
    const what = outcome.kind === 'refused' ? `${outcome.status} ${outcome.message}` : outcome.message;
    return new UpstreamError(
      SERVICE,
      `${what} (${notes.join('; ')})`,
      outcome.kind === 'refused' ? outcome.status : undefined,
      outcome.kind === 'unanswered' ? { cause: outcome.cause } : undefined,
    );
  }
}

interface Progress {
  readonly index: number;
  readonly count: number;
  readonly samplesWritten: number;
}

function describeProgress({ index, count, samplesWritten }: Progress): string {
  return `request ${index + 1} of ${count}; ${writtenBefore(index, samplesWritten)}`;
}

function writtenBefore(requests: number, samples: number): string {
  return `${counted(requests, 'request')} before it (${counted(samples, 'sample')}) ${requests === 1 ? 'was' : 'were'} written`;
}

function counted(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function unanswered(error: unknown, timeoutMs: number): Attempt {
  const timedOut = error instanceof Error && error.name === 'TimeoutError';
  const message = timedOut ? `no answer within ${timeoutMs} ms` : `no answer: ${describe(error)}`;
  return { kind: 'unanswered', message, cause: error };
}

/** Retry-After as delay-seconds or an HTTP date, in milliseconds from now. */
export function parseRetryAfter(header: string | null, now: Date): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // fetch puts the socket error (ECONNREFUSED, other side closed...) in cause.
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${error.message}${cause}`;
}

function truncate(text: string): string {
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)}...` : text;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new ConfigurationError(`remote-write ${name} must be a positive integer, got ${value}`);
  }
  return value;
}
