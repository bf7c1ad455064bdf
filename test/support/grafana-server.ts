/**
 * A local Grafana HTTP API for tests, answering the way Grafana (10/11) does for the calls toilless makes.
 *
 *   const grafana = await startGrafanaServer({ dashboards: [{ uid: 'slo', title: 'SLOs', panels: [] }] });
 *   new GrafanaClient({ baseUrl: grafana.url, token: grafana.token })
 *   grafana.annotations()   // what was created, with Grafana's parsed tags
 *   grafana.calls           // every request (never the token)
 *   await grafana.close();
 *
 * Protocol, as Grafana has it:
 * - Auth: `Authorization: Bearer <service account token>`. No credentials answer 401
 *   `{"message":"Unauthorized"}`; another token 401 `{"message":"Invalid API key"}` (with messageId and
 *   statusCode, as Grafana's errutil answers).
 * - `POST /api/annotations` with JSON `{ time, timeEnd?, tags?, text, dashboardUID?, panelId? }` (times in
 *   epoch ms): a body that does not bind (not JSON, wrong types) is 400 `bad request data`; an empty text
 *   400 `Failed to save annotation`; a tag value over 100 bytes 400 too. `time` 0 or missing means now,
 *   `timeEnd` missing means `time`. An unknown dashboardUID is ignored (an organisation annotation, as in
 *   Grafana). Answers `{ "message": "Annotation added", "id": n }`.
 * - Tags are stored the way Grafana's tag service parses them: split at colons keeping the first two parts
 *   (`a:b:c` becomes `a:b`), trimmed, duplicates dropped, empty keys dropped.
 * - `GET /api/annotations?from&to&tags&matchAny&type&limit&dashboardUID`: the time range applies only when
 *   both from and to are given (overlap: time <= to and timeEnd >= from); `tags` (repeatable) must all match
 *   unless matchAny=true, a tag without a value matching any value of its key; `type=annotation` leaves out
 *   alert annotations; limit defaults to 100; newest first. An unknown dashboardUID is 400.
 * - `GET /api/search?type=dash-db|dash-folder&query&tag&dashboardUIDs&limit&page`: hits sorted by title.
 * - `GET /api/dashboards/uid/:uid`: `{ dashboard, meta }`, or 404 `{"message":"Dashboard not found"}`.
 * - Anything else is 404 `{"message":"Not found"}`.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GrafanaDashboardSeed {
  readonly uid: string;
  readonly title: string;
  readonly tags?: readonly string[];
  readonly folderUid?: string;
  readonly folderTitle?: string;
  /** The rest of the dashboard model (panels, templating, time...), returned as given. */
  readonly [field: string]: unknown;
}

export interface GrafanaServerOptions {
  /** The service account token requests must carry. @default a random `glsa_` token */
  readonly token?: string;
  readonly dashboards?: readonly GrafanaDashboardSeed[];
}

export interface GrafanaCall {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, readonly string[]>>;
  /** The parsed JSON body of a POST, when it was JSON. */
  readonly body?: unknown;
  readonly status: number;
  readonly at: Date;
}

export interface StoredAnnotation {
  readonly id: number;
  readonly dashboardUID: string | null;
  readonly panelId: number;
  readonly time: number;
  readonly timeEnd: number;
  readonly text: string;
  /** As Grafana stores them (parsed `key:value` pairs joined again). */
  readonly tags: readonly string[];
  readonly alertId: number;
}

export interface GrafanaServer {
  /** Grafana's root URL (GRAFANA_URL), no trailing slash. */
  readonly url: string;
  readonly token: string;
  /** Every request, in arrival order. */
  readonly calls: readonly GrafanaCall[];
  /** Annotations in creation order. */
  annotations(): StoredAnnotation[];
  /** Adds an alerting annotation, which `type=annotation` searches leave out. */
  addAlertAnnotation(annotation: { time: number; text: string; tags?: readonly string[] }): void;
  addDashboard(dashboard: GrafanaDashboardSeed): void;
  close(): Promise<void>;
}

const MAX_TAG_VALUE_BYTES = 100;
const MAX_BODY_BYTES = 1024 * 1024;

class ErrorAnswer extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }
}

interface ParsedTag {
  readonly key: string;
  readonly value: string;
}

interface MutableAnnotation {
  id: number;
  dashboardUID: string | null;
  dashboardId: number;
  panelId: number;
  time: number;
  timeEnd: number;
  text: string;
  tags: ParsedTag[];
  alertId: number;
  created: number;
}

export async function startGrafanaServer(options: GrafanaServerOptions = {}): Promise<GrafanaServer> {
  const token = options.token ?? `glsa_${randomBytes(16).toString('hex')}_${randomBytes(4).toString('hex')}`;
  const dashboards = new Map<string, { id: number; seed: GrafanaDashboardSeed; version: number }>();
  const annotations: MutableAnnotation[] = [];
  const calls: GrafanaCall[] = [];
  let nextAnnotationId = 1;
  let nextDashboardId = 1;

  const addDashboard = (seed: GrafanaDashboardSeed): void => {
    const existing = dashboards.get(seed.uid);
    dashboards.set(seed.uid, {
      id: existing?.id ?? nextDashboardId++,
      seed,
      version: (existing?.version ?? 0) + 1,
    });
  };
  for (const dashboard of options.dashboards ?? []) addDashboard(dashboard);

  const annotationJson = (a: MutableAnnotation) => ({
    id: a.id,
    alertId: a.alertId,
    alertName: '',
    dashboardId: a.dashboardId,
    dashboardUID: a.dashboardUID,
    panelId: a.panelId,
    userId: a.alertId === 0 ? 2 : 0,
    newState: '',
    prevState: '',
    created: a.created,
    updated: a.created,
    time: a.time,
    timeEnd: a.timeEnd,
    text: a.text,
    tags: joinTags(a.tags),
    login: a.alertId === 0 ? 'sa-toilless' : '',
    email: a.alertId === 0 ? 'sa-toilless' : '',
    avatarUrl: '',
    data: {},
  });

  const createAnnotation = (body: unknown) => {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ErrorAnswer(400, 'bad request data');
    }
    const cmd = body as Record<string, unknown>;
    const isInt = (v: unknown) =>
      v === undefined || v === null || (typeof v === 'number' && Number.isInteger(v));
    const tagsValid =
      cmd.tags === undefined ||
      cmd.tags === null ||
      (Array.isArray(cmd.tags) && cmd.tags.every((t) => typeof t === 'string'));
    const stringOrAbsent = (v: unknown) => v === undefined || v === null || typeof v === 'string';
    if (
      !isInt(cmd.time) ||
      !isInt(cmd.timeEnd) ||
      !isInt(cmd.panelId) ||
      !isInt(cmd.dashboardId) ||
      !tagsValid ||
      !stringOrAbsent(cmd.text) ||
      !stringOrAbsent(cmd.dashboardUID)
    ) {
      throw new ErrorAnswer(400, 'bad request data');
    }
    if (typeof cmd.text !== 'string' || cmd.text === '')
      throw new ErrorAnswer(400, 'Failed to save annotation');
    const tags = parseTags((cmd.tags as string[] | null | undefined) ?? []);
    if (tags.some((t) => Buffer.byteLength(t.value) > MAX_TAG_VALUE_BYTES)) {
      throw new ErrorAnswer(400, 'Failed to save annotation');
    }
    const dashboard = typeof cmd.dashboardUID === 'string' ? dashboards.get(cmd.dashboardUID) : undefined;
    const now = Date.now();
    const time = typeof cmd.time === 'number' && cmd.time > 0 ? cmd.time : now;
    const timeEnd = typeof cmd.timeEnd === 'number' && cmd.timeEnd > 0 ? cmd.timeEnd : time;
    const annotation: MutableAnnotation = {
      id: nextAnnotationId++,
      dashboardUID: dashboard ? dashboard.seed.uid : null,
      dashboardId: dashboard?.id ?? 0,
      panelId: typeof cmd.panelId === 'number' ? cmd.panelId : 0,
      time,
      timeEnd,
      text: cmd.text,
      tags,
      alertId: 0,
      created: now,
    };
    annotations.push(annotation);
    return { message: 'Annotation added', id: annotation.id };
  };

  const findAnnotations = (query: URLSearchParams) => {
    const from = Number(query.get('from') ?? 0);
    const to = Number(query.get('to') ?? 0);
    const type = query.get('type');
    const limit = Number(query.get('limit') ?? 0) > 0 ? Number(query.get('limit')) : 100;
    const matchAny = query.get('matchAny') === 'true';
    const wanted = parseTags(query.getAll('tags'));
    const dashboardUID = query.get('dashboardUID');
    let dashboardId: number | undefined;
    if (dashboardUID) {
      const dashboard = dashboards.get(dashboardUID);
      if (!dashboard) throw new ErrorAnswer(400, 'Invalid dashboard UID in annotation request');
      dashboardId = dashboard.id;
    }
    const hasTag = (a: MutableAnnotation, t: ParsedTag) =>
      a.tags.some((own) => own.key === t.key && (t.value === '' || own.value === t.value));
    return annotations
      .filter((a) => !(from > 0 && to > 0) || (a.time <= to && a.timeEnd >= from))
      .filter((a) => type !== 'annotation' || a.alertId === 0)
      .filter((a) => type !== 'alert' || a.alertId !== 0)
      .filter((a) => dashboardId === undefined || a.dashboardId === dashboardId)
      .filter(
        (a) =>
          wanted.length === 0 ||
          (matchAny ? wanted.some((t) => hasTag(a, t)) : wanted.every((t) => hasTag(a, t))),
      )
      .sort((a, b) => b.time - a.time || b.id - a.id)
      .slice(0, limit)
      .map(annotationJson);
  };

  const search = (query: URLSearchParams) => {
    const type = query.get('type');
    const text = (query.get('query') ?? '').toLowerCase();
    const tags = query.getAll('tag');
    const uids = query.getAll('dashboardUIDs').flatMap((v) => v.split(','));
    const limit = Math.min(Number(query.get('limit') ?? 0) > 0 ? Number(query.get('limit')) : 1000, 5000);
    const page = Number(query.get('page') ?? 0) > 0 ? Number(query.get('page')) : 1;
    if (type === 'dash-folder') return [];
    return [...dashboards.values()]
      .filter(({ seed }) => seed.title.toLowerCase().includes(text))
      .filter(({ seed }) => tags.every((t) => (seed.tags ?? []).includes(t)))
      .filter(({ seed }) => uids.length === 0 || uids.includes(seed.uid))
      .sort((a, b) => a.seed.title.localeCompare(b.seed.title))
      .slice((page - 1) * limit, page * limit)
      .map(({ id, seed }) => ({
        id,
        uid: seed.uid,
        orgId: 1,
        title: seed.title,
        uri: `db/${slugOf(seed.title)}`,
        url: `/d/${seed.uid}/${slugOf(seed.title)}`,
        slug: '',
        type: 'dash-db',
        tags: [...(seed.tags ?? [])],
        isStarred: false,
        sortMeta: 0,
        ...(seed.folderUid === undefined
          ? {}
          : {
              folderUid: seed.folderUid,
              folderTitle: seed.folderTitle ?? seed.folderUid,
              folderUrl: `/dashboards/f/${seed.folderUid}/`,
            }),
      }));
  };

  const getDashboard = (uid: string) => {
    const found = dashboards.get(uid);
    if (!found) throw new ErrorAnswer(404, 'Dashboard not found');
    const { seed, id, version } = found;
    const slug = slugOf(seed.title);
    const { folderUid, folderTitle, ...model } = seed;
    return {
      dashboard: { ...model, id, uid: seed.uid, title: seed.title, tags: [...(seed.tags ?? [])], version },
      meta: {
        type: 'db',
        canSave: true,
        canEdit: true,
        canAdmin: true,
        canStar: true,
        canDelete: true,
        slug,
        url: `/d/${seed.uid}/${slug}`,
        expires: '0001-01-01T00:00:00Z',
        created: '2026-01-05T09:00:00Z',
        updated: '2026-01-05T09:00:00Z',
        updatedBy: 'admin',
        createdBy: 'admin',
        version,
        hasAcl: false,
        isFolder: false,
        folderUid: folderUid ?? '',
        folderTitle: folderTitle ?? 'Dashboards',
        folderUrl: folderUid === undefined ? '' : `/dashboards/f/${folderUid}/`,
        provisioned: false,
        provisionedExternalId: '',
      },
    };
  };

  const server = createServer((req, res) => {
    void handle(req, res);
  });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://grafana.test');
    const method = req.method ?? 'GET';
    const query: Record<string, string[]> = {};
    for (const name of new Set(url.searchParams.keys())) query[name] = url.searchParams.getAll(name);
    const call: { -readonly [K in keyof GrafanaCall]: GrafanaCall[K] } = {
      method,
      path: url.pathname,
      query,
      status: 0,
      at: new Date(),
    };
    calls.push(call);

    const answer = (status: number, body: unknown) => {
      call.status = status;
      sendJson(res, status, body);
    };

    let raw: Buffer;
    try {
      raw = await readBody(req);
    } catch {
      answer(413, { message: 'request body too large' });
      return;
    }

    const credential = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (credential === undefined) {
      answer(401, { message: 'Unauthorized', messageId: 'auth.unauthorized', statusCode: 401, traceID: '' });
      return;
    }
    if (credential !== token) {
      answer(401, { message: 'Invalid API key', messageId: 'api-key.invalid', statusCode: 401, traceID: '' });
      return;
    }

    try {
      const path = url.pathname.replace(/\/+$/, '');
      if (method === 'POST' && path === '/api/annotations') {
        let body: unknown;
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch {
          throw new ErrorAnswer(400, 'bad request data');
        }
        call.body = body;
        answer(200, createAnnotation(body));
        return;
      }
      if (method === 'GET' && path === '/api/annotations') {
        answer(200, findAnnotations(url.searchParams));
        return;
      }
      if (method === 'GET' && path === '/api/search') {
        answer(200, search(url.searchParams));
        return;
      }
      const dashboardMatch = /^\/api\/dashboards\/uid\/([^/]+)$/.exec(path);
      if (method === 'GET' && dashboardMatch) {
        answer(200, getDashboard(decodeURIComponent(dashboardMatch[1] ?? '')));
        return;
      }
      throw new ErrorAnswer(404, 'Not found');
    } catch (error) {
      if (error instanceof ErrorAnswer) {
        answer(error.status, { message: error.message, ...error.extra });
        return;
      }
      answer(500, { message: 'Internal Server Error' });
    }
  };

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    token,
    calls,
    annotations: () =>
      annotations.map((a) => ({
        id: a.id,
        dashboardUID: a.dashboardUID,
        panelId: a.panelId,
        time: a.time,
        timeEnd: a.timeEnd,
        text: a.text,
        tags: joinTags(a.tags),
        alertId: a.alertId,
      })),
    addAlertAnnotation: ({ time, text, tags = [] }) => {
      annotations.push({
        id: nextAnnotationId++,
        dashboardUID: null,
        dashboardId: 0,
        panelId: 0,
        time,
        timeEnd: time,
        text,
        tags: parseTags(tags),
        alertId: 1,
        created: Date.now(),
      });
    },
    addDashboard,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** Grafana's tag.ParseTagPairs: split at colons keeping two parts, trim, drop empty keys and duplicates. */
function parseTags(tags: readonly string[]): ParsedTag[] {
  const parsed: ParsedTag[] = [];
  for (const tag of tags) {
    const parts = tag.split(':');
    const key = (parts[0] ?? '').trim();
    const value = parts.length > 1 ? (parts[1] ?? '').trim() : '';
    if (key === '' || parsed.some((p) => p.key === key && p.value === value)) continue;
    parsed.push({ key, value });
  }
  return parsed;
}

function joinTags(tags: readonly ParsedTag[]): string[] {
  return tags.map((t) => (t.value === '' ? t.key : `${t.key}:${t.value}`));
}

function slugOf(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('body too large'));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(text);
}
