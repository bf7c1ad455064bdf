/**
 * Prometheus HTTP API client for instant and range queries (timelines, reports).
 * Errors keep Prometheus' own `errorType: error` text, which names the bad part of a query.
 */
import { UpstreamError } from '../errors.js';
import { DEFAULT_MAX_RESPONSE_BYTES } from './bounded-body.js';
import { getJson } from './http-json.js';
import { authorizedFetch } from './service-auth.js';

export interface PrometheusClientOptions {
  /** e.g. http://localhost:9090 (PROMETHEUS_URL). */
  readonly baseUrl: string;
  /** Per-request time limit. @default 10000 */
  readonly timeoutMs?: number;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** A larger answer is an UpstreamError. @default 10 MiB */
  readonly maxResponseBytes?: number;
  /** Authorization header for a hosted Prometheus (PROMETHEUS_AUTH), sent to baseUrl's origin only. @default none */
  readonly authorization?: string | undefined;
}

/** An alerting rule as Prometheus runs it (GET /api/v1/rules). */
export interface AlertingRule {
  /** The alert name. */
  readonly name: string;
  /** The rule's expression. */
  readonly query: string;
  /** The rule's own labels, added to the alerts it fires. */
  readonly labels: Readonly<Record<string, string>>;
}

export interface PrometheusPoint {
  readonly at: Date;
  /** NaN and ±Inf are kept as numbers: Prometheus encodes them as strings. */
  readonly value: number;
}

export interface PrometheusSeries {
  readonly metric: Readonly<Record<string, string>>;
  readonly points: readonly PrometheusPoint[];
}

export interface RangeQuery {
  readonly start: Date;
  readonly end: Date;
  readonly stepSeconds: number;
  readonly signal?: AbortSignal;
}

/** Prometheus refuses range queries of more than 11,000 points per series. */
export const MAX_POINTS_PER_SERIES = 11_000;

const ERROR_STATUSES = [400, 422, 503];

interface ApiAnswer {
  readonly status: 'success' | 'error';
  readonly data?: { readonly resultType: string; readonly result: unknown };
  readonly errorType?: string;
  readonly error?: string;
}

export class PrometheusClient {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch | undefined;
  private readonly maxResponseBytes: number;

  constructor(options: PrometheusClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.fetchImpl = authorizedFetch(this.baseUrl, options.authorization, options.fetch);
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  }

  /** The alerting rules Prometheus evaluates, from every rule group. */
  async alertingRules(options: { readonly signal?: AbortSignal } = {}): Promise<AlertingRule[]> {
    const data = (await this.call('/api/v1/rules', { type: 'alert' }, options.signal)) as unknown as {
      groups?: unknown;
    };
    if (!Array.isArray(data.groups)) {
      throw new UpstreamError('prometheus', 'GET /api/v1/rules answered without rule groups');
    }
    const rules: AlertingRule[] = [];
    for (const group of data.groups as { rules?: unknown }[]) {
      for (const rule of Array.isArray(group?.rules) ? (group.rules as Record<string, unknown>[]) : []) {
        if (rule?.type !== 'alerting' || typeof rule.name !== 'string' || typeof rule.query !== 'string')
          continue;
        const labels =
          typeof rule.labels === 'object' && rule.labels !== null
            ? Object.fromEntries(
                Object.entries(rule.labels).filter(
                  (entry): entry is [string, string] => typeof entry[1] === 'string',
                ),
              )
            : {};
        rules.push({ name: rule.name, query: rule.query, labels });
      }
    }
    return rules;
  }

  /** Instant query: one point per series (scalars become one series without labels). */
  async query(
    expr: string,
    options: { readonly time?: Date; readonly signal?: AbortSignal } = {},
  ): Promise<PrometheusSeries[]> {
    const params: Record<string, string> = { query: expr };
    if (options.time) params.time = seconds(options.time);
    const data = await this.call('/api/v1/query', params, options.signal);
    if (data.resultType === 'vector') {
      return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map((sample) => ({
        metric: sample.metric,
        points: [point(sample.value)],
      }));
    }
    if (data.resultType === 'scalar')
      return [{ metric: {}, points: [point(data.result as [number, string])] }];
    throw new UpstreamError(
      'prometheus',
      `unexpected resultType ${data.resultType} for an instant query of ${expr}`,
    );
  }

  async queryRange(expr: string, range: RangeQuery): Promise<PrometheusSeries[]> {
    const points = (range.end.getTime() - range.start.getTime()) / 1000 / range.stepSeconds;
    if (!(range.stepSeconds > 0) || points > MAX_POINTS_PER_SERIES) {
      throw new RangeError(
        `a range query needs a positive step giving at most ${MAX_POINTS_PER_SERIES} points; ${range.stepSeconds}s gives ${Math.ceil(points)}`,
      );
    }
    const data = await this.call(
      '/api/v1/query_range',
      { query: expr, start: seconds(range.start), end: seconds(range.end), step: String(range.stepSeconds) },
      range.signal,
    );
    return (data.result as { metric: Record<string, string>; values: [number, string][] }[]).map(
      (series) => ({
        metric: series.metric,
        points: series.values.map(point),
      }),
    );
  }

  private async call(path: string, params: Record<string, string>, signal?: AbortSignal) {
    const url = new URL(`${this.baseUrl}${path}`);
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
    const answer = await getJson(url, {
      service: 'prometheus',
      timeoutMs: this.timeoutMs,
      passStatuses: ERROR_STATUSES,
      signal,
      fetch: this.fetchImpl,
      maxResponseBytes: this.maxResponseBytes,
    });
    const body = (typeof answer.body === 'string' ? parseOrText(answer.body) : answer.body) as
      | ApiAnswer
      | string;
    if (typeof body === 'string') throw new UpstreamError('prometheus', body.slice(0, 500), answer.status);
    if (body.status !== 'success' || !body.data) {
      throw new UpstreamError(
        'prometheus',
        `${body.errorType ?? 'error'}: ${body.error ?? 'unknown error'}`,
        answer.status,
      );
    }
    return body.data;
  }
}

function seconds(date: Date): string {
  return (date.getTime() / 1000).toFixed(3);
}

function point([at, value]: [number, string]): PrometheusPoint {
  return { at: new Date(at * 1000), value: Number(value) };
}

function parseOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
