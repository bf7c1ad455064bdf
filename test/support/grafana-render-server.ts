/**
 * A local Grafana whose pages behave, for a renderer, the way Grafana's do.
 *
 *   const grafana = await startGrafanaRenderServer({ dashboards: [model], panels: { 2: { queryMs: 800 } } });
 *   renderer = createGrafanaRenderer({ grafanaUrl: grafana.url, token: grafana.token, ... })
 *   grafana.calls            // every request to Grafana and to the other origin, with the credential it carried
 *   grafana.peakQueries      // the most panel queries in flight at once
 *   await grafana.close();
 *
 * What it serves, as Grafana (11, Scenes) does:
 * - Every route wants `Authorization: Bearer <token>`; none or another token is 401 `{"message":"Unauthorized"}`
 *   / `{"message":"Invalid API key"}`.
 * - `GET /api/dashboards/uid/:uid`: `{ dashboard, meta: { slug, url } }`, 404 `Dashboard not found`.
 * - `GET /d-solo/:uid/:slug?panelId&from&to&width&height&theme&var-*`: a page that boots like Grafana: it sets
 *   `window.__grafanaSceneContext`, counts its query in `window.__grafanaRunningQueryCount`, POSTs it to
 *   `/api/ds/query`, and only when the answer arrives draws the panel (an SVG filling the page in the panel's
 *   colour, its title and variable values as text) and counts the query down to 0. Until then it shows
 *   "Loading" on white. A panel with `scenes: false` is an older Grafana: no counters, drawn after its query.
 * - `GET /d/:uid/:slug`: the dashboard page. It resolves the query variables (`variableOptions`) with a query of
 *   its own, then keeps them where Scenes does: `__grafanaSceneContext.state.$variables.state.variables[]`,
 *   each `{ state: { name, value, options: [{ label, value }] } }`.
 * - `POST /api/ds/query?uid&panelId`: answers after the panel's `queryMs`; a panel with `never: true` never
 *   answers (its query stays running).
 * - Each page also loads an image from the other origin (`otherUrl`) and one through a redirect to it, so a test
 *   can see whether the token left Grafana's origin.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RenderPanelBehaviour {
  /** How long the panel's query takes. @default 50 */
  readonly queryMs?: number;
  /** The query never answers. */
  readonly never?: boolean;
  /** The page is an older Grafana's, without the Scenes counters. @default true */
  readonly scenes?: boolean;
  /** The colour the panel fills its page with once drawn. @default a colour per panel id */
  readonly color?: string;
}

export interface GrafanaRenderServerOptions {
  /** @default a random `glsa_` token */
  readonly token?: string;
  /** Dashboard models as Grafana's API returns them under `dashboard` (uid, title, panels, templating...). */
  readonly dashboards: readonly Readonly<Record<string, unknown>>[];
  /** Behaviour per panel id (the same in every dashboard). */
  readonly panels?: Readonly<Record<number, RenderPanelBehaviour>>;
  /** The values the dashboard page's query variables resolve to in the browser (their options). */
  readonly variableOptions?: Readonly<Record<string, readonly string[]>>;
}

export interface RenderServerCall {
  /** Which server saw it: Grafana, or the other origin the pages link to. */
  readonly server: 'grafana' | 'other';
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  /** The Authorization header as sent, if any (tests compare it with the token). */
  readonly authorization: string | undefined;
  readonly status: number;
  /** When it arrived (epoch ms). */
  readonly at: number;
}

export interface GrafanaRenderServer {
  readonly url: string;
  /** The other origin's root URL. */
  readonly otherUrl: string;
  readonly token: string;
  readonly calls: readonly RenderServerCall[];
  /** Panel queries in flight now, and the most there were at once. */
  readonly runningQueries: number;
  readonly peakQueries: number;
  /** The colour a panel is drawn in, as `#rrggbb`. */
  colorOf(panelId: number): string;
  close(): Promise<void>;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#17becf', '#e377c2'];

export async function startGrafanaRenderServer(
  options: GrafanaRenderServerOptions,
): Promise<GrafanaRenderServer> {
  const token = options.token ?? `glsa_${randomBytes(16).toString('hex')}_${randomBytes(4).toString('hex')}`;
  const calls: RenderServerCall[] = [];
  const dashboards = new Map(options.dashboards.map((d) => [String(d.uid), d]));
  let running = 0;
  let peak = 0;
  const behaviourOf = (panelId: number): RenderPanelBehaviour => options.panels?.[panelId] ?? {};
  const colorOf = (panelId: number) =>
    behaviourOf(panelId).color ?? (PALETTE[panelId % PALETTE.length] as string);

  const record = (server: RenderServerCall['server'], req: IncomingMessage, url: URL) => {
    const call = {
      server,
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      authorization: req.headers.authorization,
      status: 0,
      at: Date.now(),
    };
    calls.push(call);
    return call;
  };

  const other = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://other.test');
    const call = record('other', req, url);
    call.status = 200;
    res.writeHead(200, { 'content-type': 'image/svg+xml', 'cache-control': 'no-store' });
    res.end('<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>');
  });
  const otherUrl = await listen(other);

  const grafana = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://grafana.test');
    const call = record('grafana', req, url);
    const send = (status: number, type: string, body: string, headers: Record<string, string> = {}) => {
      call.status = status;
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
      res.end(body);
    };
    const json = (status: number, body: unknown) => send(status, 'application/json', JSON.stringify(body));

    const credential = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (credential === undefined) {
      json(401, { message: 'Unauthorized', messageId: 'auth.unauthorized', statusCode: 401, traceID: '' });
      return;
    }
    if (credential !== token) {
      json(401, { message: 'Invalid API key', messageId: 'api-key.invalid', statusCode: 401, traceID: '' });
      return;
    }

    const dashboardApi = /^\/api\/dashboards\/uid\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && dashboardApi) {
      const model = dashboards.get(decodeURIComponent(dashboardApi[1] as string));
      if (!model) {
        json(404, { message: 'Dashboard not found' });
        return;
      }
      const slug = slugOf(String(model.title ?? ''));
      json(200, {
        dashboard: model,
        meta: { type: 'db', slug, url: `/d/${model.uid}/${slug}`, folderTitle: 'General' },
      });
      return;
    }
    const solo = /^\/d-solo\/([^/]+)(?:\/[^/]*)?$/.exec(url.pathname);
    if (req.method === 'GET' && solo) {
      const uid = decodeURIComponent(solo[1] as string);
      const panelId = Number(url.searchParams.get('panelId'));
      if (!dashboards.has(uid)) {
        send(404, 'text/html', '<!doctype html><title>Not found</title>');
        return;
      }
      send(
        200,
        'text/html; charset=utf-8',
        soloPage(uid, panelId, url.searchParams, behaviourOf(panelId), colorOf(panelId), otherUrl),
      );
      return;
    }
    const page = /^\/d\/([^/]+)(?:\/[^/]*)?$/.exec(url.pathname);
    if (req.method === 'GET' && page) {
      const model = dashboards.get(decodeURIComponent(page[1] as string));
      if (!model) {
        send(404, 'text/html', '<!doctype html><title>Not found</title>');
        return;
      }
      send(200, 'text/html; charset=utf-8', dashboardPage(model, options.variableOptions ?? {}));
      return;
    }
    if (url.pathname === '/public/redirect-out') {
      send(302, 'text/plain', '', { location: `${otherUrl}/redirected.svg` });
      return;
    }
    if (req.method === 'POST' && url.pathname === '/api/ds/query') {
      const behaviour = behaviourOf(Number(url.searchParams.get('panelId')));
      running++;
      peak = Math.max(peak, running);
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        running--;
      };
      res.on('close', end);
      req.resume();
      if (behaviour.never) return; // stays running until the page goes away
      setTimeout(() => {
        json(200, { results: { A: { status: 200, frames: [] } } });
        end();
      }, behaviour.queryMs ?? 50);
      return;
    }
    json(404, { message: 'Not found' });
  });
  const url = await listen(grafana);

  return {
    url,
    otherUrl,
    token,
    calls,
    get runningQueries() {
      return running;
    },
    get peakQueries() {
      return peak;
    },
    colorOf,
    close: async () => {
      await Promise.all([stop(grafana), stop(other)]);
    },
  };
}

/** The solo panel page: boots, queries, draws, with Grafana's readiness counters (or without, like Grafana < 10). */
function soloPage(
  uid: string,
  panelId: number,
  params: URLSearchParams,
  behaviour: RenderPanelBehaviour,
  color: string,
  otherUrl: string,
): string {
  const width = Number(params.get('width')) || 800;
  const height = Number(params.get('height')) || 400;
  const variables = [...params]
    .filter(([name]) => name.startsWith('var-'))
    .map(([name, value]) => `${name.slice(4)}=${value}`);
  const config = JSON.stringify({
    uid,
    panelId,
    scenes: behaviour.scenes !== false,
    color,
    width,
    height,
    label: `panel ${panelId} ${variables.join(' ')}`,
  });
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Grafana</title>
<style>html,body{margin:0;background:#fff;font:14px sans-serif}#panel{width:100vw;height:100vh}</style></head>
<body><div id="panel">Loading</div>
<img src="${otherUrl}/pixel.svg" alt="" style="position:absolute;width:1px;height:1px">
<img src="/public/redirect-out" alt="" style="position:absolute;width:1px;height:1px">
<script>
const config = ${config.replace(/</g, '\\u003c')};
function draw() {
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="100%" height="100%" viewBox="0 0 ' + config.width + ' ' + config.height + '">' +
    '<rect width="100%" height="100%" fill="' + config.color + '"/>' +
    '<polyline fill="none" stroke="#fff" stroke-width="3" points="0,' + config.height + ' ' + config.width / 2 + ',20 ' + config.width + ',' + config.height / 2 + '"/>' +
    '<text x="10" y="20" fill="#fff"></text></svg>';
  const panel = document.getElementById('panel');
  panel.innerHTML = svg;
  panel.querySelector('text').textContent = config.label;
}
setTimeout(() => {
  if (config.scenes) {
    window.__grafanaSceneContext = { state: {} };
    window.__grafanaRunningQueryCount = (window.__grafanaRunningQueryCount || 0) + 1;
  }
  fetch('/api/ds/query?uid=' + encodeURIComponent(config.uid) + '&panelId=' + config.panelId, { method: 'POST', body: '{}' })
    .then((r) => r.json())
    .then(() => {
      draw();
      if (config.scenes) window.__grafanaRunningQueryCount -= 1;
    });
}, 20);
</script></body></html>`;
}

/** The dashboard page: resolves its variables with a query, as Grafana does, and keeps them in the scene state. */
function dashboardPage(
  model: Readonly<Record<string, unknown>>,
  options: Readonly<Record<string, readonly string[]>>,
): string {
  const list = ((model.templating as { list?: unknown[] } | undefined)?.list ?? []) as {
    name: string;
    current?: { value?: unknown };
  }[];
  const variables = list.map((v) => ({
    state: {
      name: v.name,
      value: v.current?.value ?? '',
      options: (options[v.name] ?? []).map((value) => ({ label: value, value })),
    },
  }));
  const config = JSON.stringify({ uid: model.uid, variables });
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Grafana</title></head><body><div id="dashboard">Loading</div>
<script>
const config = ${config.replace(/</g, '\\u003c')};
window.__grafanaSceneContext = { state: { $variables: { state: { variables: [] } } } };
window.__grafanaRunningQueryCount = 1;
fetch('/api/ds/query?uid=' + encodeURIComponent(config.uid) + '&panelId=0', { method: 'POST', body: '{}' })
  .then((r) => r.json())
  .then(() => {
    window.__grafanaSceneContext.state.$variables.state.variables = config.variables;
    document.getElementById('dashboard').textContent = 'Dashboard';
    window.__grafanaRunningQueryCount = 0;
  });
</script></body></html>`;
}

function slugOf(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function stop(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}
