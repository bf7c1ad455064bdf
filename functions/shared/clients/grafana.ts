/**
 * A Grafana HTTP API client: deployment annotations for the DORA worker, and dashboard search and JSON for
 * the weekly report. Authenticates with a service account token (`Authorization: Bearer glsa_...`).
 *
 * Every failure is an UpstreamError('grafana', ...) carrying Grafana's own JSON `message` and the status.
 */
import { UpstreamError, ValidationError } from '../errors.js';
import { DEFAULT_MAX_RESPONSE_BYTES, readBodyWithin } from './bounded-body.js';

export interface GrafanaClientOptions {
  /** Grafana's root URL (GRAFANA_URL), e.g. http://grafana:3000. */
  readonly baseUrl: string;
  /** GRAFANA_TOKEN: a service account token with the Editor role (annotations:write, dashboards:read). */
  readonly token: string;
  /** Time limit per HTTP request in milliseconds. @default 10000 */
  readonly timeoutMs?: number;
  /** The fetch to use. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** A larger answer is an UpstreamError. @default 10 MiB */
  readonly maxResponseBytes?: number;
}

export interface AnnotationInput {
  readonly time: Date;
  /** Makes it a region annotation. @default a point at `time` */
  readonly timeEnd?: Date;
  /** Grafana splits `key:value` tags at the first colon and drops anything after a second one. */
  readonly tags: readonly string[];
  readonly text: string;
  /** Shows it on one dashboard only. @default an organisation annotation, visible wherever queried by tag */
  readonly dashboardUID?: string;
  readonly panelId?: number;
}

export interface CreatedAnnotation {
  readonly id: number;
  /** Grafana's answer, "Annotation added". */
  readonly message: string;
}

export interface AnnotationQuery {
  /** Annotations overlapping [from, to] (Grafana applies the range only when both are given). */
  readonly from: Date;
  readonly to: Date;
  /** Annotations carrying all of these tags (or any, with matchAny). @default no tag filter */
  readonly tags?: readonly string[];
  /** @default false: all tags must match */
  readonly matchAny?: boolean;
  /** 'annotation' leaves out alerting state changes. @default 'annotation' */
  readonly type?: 'annotation' | 'alert';
  /** @default 100 (Grafana's default) */
  readonly limit?: number;
  readonly dashboardUID?: string;
}

export interface Annotation {
  readonly id: number;
  readonly dashboardUID?: string | null;
  readonly panelId?: number;
  /** Epoch milliseconds. */
  readonly time: number;
  readonly timeEnd: number;
  readonly text: string;
  readonly tags: readonly string[];
}

export interface DashboardSearchOptions {
  /** Title substring. @default all */
  readonly query?: string;
  /** Dashboards carrying all of these tags. @default no tag filter */
  readonly tags?: readonly string[];
  /** @default 1000 (Grafana's default) */
  readonly limit?: number;
}

export interface DashboardHit {
  readonly uid: string;
  readonly title: string;
  /** Path of the dashboard page, e.g. /d/<uid>/<slug>. */
  readonly url: string;
  readonly tags: readonly string[];
  readonly folderUid?: string;
  readonly folderTitle?: string;
}

export interface DashboardDocument {
  /** The dashboard JSON model (panels, templating, time...). */
  readonly dashboard: { readonly uid: string; readonly title: string } & Readonly<Record<string, unknown>>;
  readonly meta: { readonly slug?: string; readonly url?: string; readonly folderTitle?: string } & Readonly<
    Record<string, unknown>
  >;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** The longest error text kept from a non-JSON answer: proxies answer with whole HTML pages. */
const MAX_ERROR_TEXT = 300;

export class GrafanaClient {
  private readonly baseUrl: string;
  private readonly token: string;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;
  private readonly maxResponseBytes: number;

  constructor(options: GrafanaClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  }

  /** POST /api/annotations: times are sent as epoch milliseconds, as Grafana expects. */
  async createAnnotation(input: AnnotationInput): Promise<CreatedAnnotation> {
    const body = {
      time: input.time.getTime(),
      timeEnd: input.timeEnd?.getTime(),
      tags: [...input.tags],
      text: input.text,
      dashboardUID: input.dashboardUID,
      panelId: input.panelId,
    };
    const answer = await this.request('POST', '/api/annotations', undefined, body);
    const { id, message } = (answer ?? {}) as { id?: unknown; message?: unknown };
    if (typeof id !== 'number') {
      throw new UpstreamError('grafana', `POST /api/annotations answered without an annotation id`);
    }
    return { id, message: typeof message === 'string' ? message : '' };
  }

  /** GET /api/annotations, newest first. */
  async findAnnotations(query: AnnotationQuery): Promise<Annotation[]> {
    const params = new URLSearchParams({
      from: String(query.from.getTime()),
      to: String(query.to.getTime()),
      type: query.type ?? 'annotation',
      limit: String(query.limit ?? 100),
    });
    for (const tag of query.tags ?? []) params.append('tags', tag);
    if (query.matchAny) params.set('matchAny', 'true');
    if (query.dashboardUID !== undefined) params.set('dashboardUID', query.dashboardUID);
    const answer = await this.request('GET', '/api/annotations', params);
    if (!Array.isArray(answer)) throw unexpected('GET /api/annotations', 'a list of annotations');
    return answer as Annotation[];
  }

  /** GET /api/search?type=dash-db: dashboards (not folders) the token can see. */
  async searchDashboards(options: DashboardSearchOptions = {}): Promise<DashboardHit[]> {
    const params = new URLSearchParams({ type: 'dash-db', limit: String(options.limit ?? 1000) });
    if (options.query !== undefined) params.set('query', options.query);
    for (const tag of options.tags ?? []) params.append('tag', tag);
    const answer = await this.request('GET', '/api/search', params);
    if (!Array.isArray(answer)) throw unexpected('GET /api/search', 'a list of dashboards');
    return answer as DashboardHit[];
  }

  /** GET /api/dashboards/uid/:uid: the dashboard model and its meta; an unknown uid is a 404 UpstreamError. */
  async getDashboard(uid: string): Promise<DashboardDocument> {
    const answer = await this.request('GET', `/api/dashboards/uid/${encodeURIComponent(uid)}`);
    const document = answer as Partial<DashboardDocument> | null;
    if (document === null || typeof document !== 'object' || typeof document.dashboard !== 'object') {
      throw unexpected(`GET /api/dashboards/uid/${uid}`, 'a dashboard');
    }
    return document as DashboardDocument;
  }

  private async request(
    method: 'GET' | 'POST',
    path: string,
    params?: URLSearchParams,
    body?: unknown,
  ): Promise<unknown> {
    const url = `${this.baseUrl}${path}${params ? `?${params.toString()}` : ''}`;
    const what = `${method} ${path}`;
    let response: Response;
    let text: string;
    try {
      response = await this.fetchImpl(url, {
        method,
        headers: {
          accept: 'application/json',
          authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await readBodyWithin(response, {
        service: 'grafana',
        request: what,
        maxBytes: this.maxResponseBytes,
      });
    } catch (error) {
      if (error instanceof UpstreamError) throw error;
      const timedOut =
        error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      const reason = timedOut
        ? `timed out after ${this.timeoutMs} ms: Grafana is slow or unreachable`
        : `failed: ${describeFailure(error)}`;
      throw new UpstreamError('grafana', `${what} ${reason}`, undefined, { cause: error });
    }

    const parsed = parseJson(text);
    if (!response.ok) {
      const message = grafanaMessage(parsed, text, response);
      const hint =
        response.status === 401
          ? ': GRAFANA_TOKEN was refused; create a service account token and set it again'
          : response.status === 403
            ? ': the service account lacks a permission (the Editor role covers annotations and dashboards)'
            : '';
      throw new UpstreamError(
        'grafana',
        `${what} answered ${response.status}: ${message}${hint}`,
        response.status,
      );
    }
    if (parsed === undefined) {
      throw new UpstreamError(
        'grafana',
        `${what} answered ${response.status} with a body that is not JSON: ${JSON.stringify(text.slice(0, 120))}`,
        response.status,
      );
    }
    return parsed;
  }
}

/** What annotateDeployment needs of a deployment (a DORA DeploymentRecord fits as it is). */
export interface AnnotatedDeployment {
  /** owner/name */
  readonly repository: string;
  readonly environment: string;
  readonly sha: string;
  readonly deploymentId: string | number;
  /** When it finished: the annotation's time. */
  readonly finishedAt?: string | Date;
}

export interface DeploymentAnnotation {
  readonly id: number;
  /** False when an annotation of this deployment already existed and was kept. */
  readonly created: boolean;
}

export interface AnnotateDeploymentOptions {
  /** Puts the annotation on one dashboard. @default an organisation annotation */
  readonly dashboardUID?: string;
}

/** How far around finishedAt an existing annotation of the same deployment is looked for. */
const DUPLICATE_SEARCH_WINDOW_MS = 24 * 60 * 60 * 1000;

/**
 * Marks a finished deployment on Grafana's time axis, once.
 *
 * Tags, in Grafana's `key:value` convention (filterable per key in an annotation query):
 * `deploy`, `repository:<owner/name>`, `environment:<env>`, `deployment:<id>`. Text:
 * "<owner/name> <short sha> deployed to <env>".
 *
 * Grafana has no idempotency key for annotations, so a redelivered event would add a second marker: the
 * annotations around `finishedAt` carrying this deployment's tags are searched first, and an existing one
 * is kept. Two calls racing for the same deployment can still both create; the worker annotates each
 * deployment once, after claiming its announcement, which keeps that window closed in practice.
 */
export async function annotateDeployment(
  grafana: GrafanaClient,
  deployment: AnnotatedDeployment,
  options: AnnotateDeploymentOptions = {},
): Promise<DeploymentAnnotation> {
  if (deployment.finishedAt === undefined) {
    throw new ValidationError(`deployment ${deployment.deploymentId} has not finished: nothing to annotate`, [
      { path: 'finishedAt', message: 'required' },
    ]);
  }
  const time = new Date(deployment.finishedAt);
  const identity = [
    'deploy',
    grafanaTag('repository', deployment.repository),
    grafanaTag('deployment', String(deployment.deploymentId)),
  ];
  const existing = await grafana.findAnnotations({
    from: new Date(time.getTime() - DUPLICATE_SEARCH_WINDOW_MS),
    to: new Date(time.getTime() + DUPLICATE_SEARCH_WINDOW_MS),
    tags: identity,
    type: 'annotation',
    limit: 1,
    ...(options.dashboardUID === undefined ? {} : { dashboardUID: options.dashboardUID }),
  });
  const found = existing[0];
  if (found !== undefined) return { id: found.id, created: false };

  const created = await grafana.createAnnotation({
    time,
    tags: deploymentTags(deployment),
    text: `${deployment.repository} ${deployment.sha.slice(0, 7)} deployed to ${deployment.environment}`,
    ...(options.dashboardUID === undefined ? {} : { dashboardUID: options.dashboardUID }),
  });
  return { id: created.id, created: true };
}

/** The tags annotateDeployment writes, in order. */
export function deploymentTags(deployment: AnnotatedDeployment): string[] {
  return [
    'deploy',
    grafanaTag('repository', deployment.repository),
    grafanaTag('environment', deployment.environment),
    grafanaTag('deployment', String(deployment.deploymentId)),
  ];
}

/** Grafana stores tag values up to 100 bytes.  */
const MAX_TAG_VALUE_BYTES = 100;

/**
 * A `key:value` tag Grafana keeps intact: it splits at every colon and keeps only the first two parts,
 * trims spaces, and refuses values over 100 bytes, so colons become dashes and the value is cut.
 */
export function grafanaTag(key: string, value: string): string {
  let clean = value.trim().replaceAll(':', '-');
  while (Buffer.byteLength(clean) > MAX_TAG_VALUE_BYTES) clean = clean.slice(0, -1);
  return `${key}:${clean}`;
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function grafanaMessage(parsed: unknown, text: string, response: Response): string {
  const message = (parsed as { message?: unknown } | undefined)?.message;
  if (typeof message === 'string' && message !== '') return message;
  const trimmed = text.trim();
  if (trimmed === '') return `HTTP ${response.status} ${response.statusText}`.trimEnd();
  return trimmed.length > MAX_ERROR_TEXT ? `${trimmed.slice(0, MAX_ERROR_TEXT)}…` : trimmed;
}

function unexpected(what: string, expected: string): UpstreamError {
  return new UpstreamError('grafana', `${what} answered something other than ${expected}`);
}

function describeFailure(error: unknown): string {
  // fetch reports connection failures as "fetch failed" with the reason (ECONNREFUSED...) in cause.
  const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' && !cause.message.includes(code)
      ? `${code}: ${cause.message}`
      : cause.message;
  }
  return String(cause);
}
