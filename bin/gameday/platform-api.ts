/**
 * What the game day reads from the platform: Prometheus's alerts and queries, Alertmanager's alerts.
 * Every answer is size-bounded and parsed with zod; a redirect is refused rather than followed, and no
 * URL found in an answer is ever requested.
 */
import * as z from 'zod';
import { getJson } from '../../functions/shared/clients/http-json.js';
import { UpstreamError } from '../../functions/shared/errors.js';

/** Alert lists of a busy platform stay far below this; a larger answer is refused, never buffered. */
export const MAX_API_ANSWER_BYTES = 4 * 1024 * 1024;
const REQUEST_TIMEOUT_MS = 10_000;
const MAX_LABEL_CHARS = 1024;
const MAX_ALERTS = 10_000;

const labelSet = z.record(z.string().max(200), z.string().max(MAX_LABEL_CHARS));

const prometheusAlertsSchema = z.object({
  status: z.literal('success'),
  data: z.object({
    alerts: z
      .array(
        z.object({
          labels: labelSet,
          state: z.enum(['pending', 'firing', 'inactive']),
          activeAt: z.string().max(64).optional(),
          value: z.string().max(64).optional(),
        }),
      )
      .max(MAX_ALERTS),
  }),
});
export type PrometheusAlert = z.output<typeof prometheusAlertsSchema>['data']['alerts'][number];

const sampleValue = z.tuple([z.number(), z.string().max(64)]);
const prometheusVectorSchema = z.object({
  status: z.literal('success'),
  data: z.object({
    resultType: z.literal('vector'),
    result: z.array(z.object({ metric: labelSet, value: sampleValue })).max(MAX_ALERTS),
  }),
});
export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const alertmanagerAlertsSchema = z
  .array(
    z.object({
      labels: labelSet,
      fingerprint: z.string().max(64),
      startsAt: z.string().max(64),
      status: z.object({ state: z.enum(['unprocessed', 'active', 'suppressed']) }),
      receivers: z.array(z.object({ name: z.string().max(200) })).max(100),
    }),
  )
  .max(MAX_ALERTS);
export type AlertmanagerAlert = z.output<typeof alertmanagerAlertsSchema>[number];

/** A fetch that refuses redirects: the game day talks to the URLs it was given, and only to them. */
export function noRedirects(inner: typeof fetch = globalThis.fetch): typeof fetch {
  return (input, init) => inner(input, { ...init, redirect: 'error' });
}

export class PlatformApi {
  private readonly fetchImpl: typeof fetch;

  constructor(
    private readonly prometheusUrl: string,
    private readonly alertmanagerUrl: string,
    fetchImpl?: typeof fetch,
  ) {
    this.fetchImpl = noRedirects(fetchImpl);
  }

  /** GET /api/v1/alerts: the alerts Prometheus holds pending or firing now. */
  async prometheusAlerts(signal?: AbortSignal): Promise<PrometheusAlert[]> {
    const body = await this.get('prometheus', this.prometheusUrl, '/api/v1/alerts', {}, signal);
    return parseAnswer(prometheusAlertsSchema, body, 'prometheus', 'GET /api/v1/alerts').data.alerts;
  }

  /** GET /api/v1/query: an instant vector. */
  async query(expr: string, signal?: AbortSignal): Promise<Sample[]> {
    const body = await this.get('prometheus', this.prometheusUrl, '/api/v1/query', { query: expr }, signal);
    return parseAnswer(prometheusVectorSchema, body, 'prometheus', 'GET /api/v1/query').data.result.map(
      (sample) => ({ labels: sample.metric, value: Number(sample.value[1]) }),
    );
  }

  /** GET /api/v2/alerts: what Alertmanager holds, with the receivers its routing chose. */
  async alertmanagerAlerts(signal?: AbortSignal): Promise<AlertmanagerAlert[]> {
    const body = await this.get(
      'alertmanager',
      this.alertmanagerUrl,
      '/api/v2/alerts',
      { active: 'true', silenced: 'true', inhibited: 'true' },
      signal,
    );
    return parseAnswer(alertmanagerAlertsSchema, body, 'alertmanager', 'GET /api/v2/alerts');
  }

  private async get(
    service: string,
    base: string,
    path: string,
    params: Readonly<Record<string, string>>,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    const url = new URL(`${base.replace(/\/+$/, '')}${path}`);
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
    const answer = await getJson(url, {
      service,
      timeoutMs: REQUEST_TIMEOUT_MS,
      signal,
      fetch: this.fetchImpl,
      maxResponseBytes: MAX_API_ANSWER_BYTES,
    });
    return answer.body;
  }
}

function parseAnswer<S extends z.ZodType>(
  schema: S,
  body: unknown,
  service: string,
  request: string,
): z.output<S> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UpstreamError(
      service,
      `${request} answered an unexpected shape (${issue?.path.join('.') || 'root'}: ${issue?.message})`,
    );
  }
  return parsed.data;
}

/** Whether every label in `wanted` has that value in `labels`. */
export function labelsMatch(
  labels: Readonly<Record<string, string>>,
  wanted: Readonly<Record<string, string>>,
): boolean {
  return Object.entries(wanted).every(([name, value]) => labels[name] === value);
}

/** A short description of alerts for "last seen" texts: names and states, bounded. */
export function describeAlerts(
  alerts: readonly { labels: Readonly<Record<string, string>>; state?: string }[],
): string {
  if (alerts.length === 0) return 'no alerts';
  const names = alerts
    .slice(0, 8)
    .map((alert) => `${alert.labels.alertname ?? '?'}${alert.state ? ` (${alert.state})` : ''}`);
  return `${names.join(', ')}${alerts.length > 8 ? ` and ${alerts.length - 8} more` : ''}`;
}
