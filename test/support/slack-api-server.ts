/**
 * A local Slack Web API for tests, answering the way api.slack.com documents it.
 *
 *   const slack = await startSlackApiServer();            // { channels: ['toilless'] } by default
 *   new WebClient(slack.token, { slackApiUrl: slack.url }) // url ends in '/api/'
 *   slack.messages('#toilless')                            // what was posted, replies carry thread_ts
 *   slack.failNext({ status: 429, retryAfterSeconds: 1 })  // the next call is rate limited
 *   await slack.close();
 *
 * Protocol, as Slack has it:
 * - `POST /api/<method>` (GET with a query string works too) with an
 *   `application/x-www-form-urlencoded`, `application/json` or `multipart/form-data` body; query parameters
 *   are merged in. JSON values arrive as JSON, form values as strings (blocks and files are JSON strings).
 * - The token comes as `Authorization: Bearer <token>` or, except for JSON bodies, as a `token` parameter.
 *   No token answers `not_authed`, another token `invalid_auth`. Errors are HTTP 200 `{ ok: false, error }`;
 *   only rate limits (429 + Retry-After) and outages (5xx) use HTTP status codes.
 * - Methods: `auth.test`; `chat.postMessage` (channel name or id, `text` or `blocks`, optional `thread_ts`;
 *   answers the channel id, `ts` and the message); `chat.update` (channel + ts of an existing message, else
 *   `message_not_found`; omitted blocks are kept); `conversations.list` (cursor paging, `limit` <= 1000);
 *   `files.getUploadURLExternal` (`filename` + `length`; answers `upload_url` on this server and `file_id`);
 *   the upload itself (`POST` raw bytes or multipart to `upload_url`, answers `OK - <bytes>`);
 *   `files.completeUploadExternal` (`files=[{id,title}]`, `channel_id` must be an id matching
 *   `^[CGDZ][A-Z0-9]{8,}$`, `thread_ts`, `initial_comment`: shares the file as a message).
 *   Any other method answers `unknown_method`.
 * - Limits enforced: text <= 40,000 characters (`msg_too_long`), <= 50 blocks (`invalid_blocks`), blocks must
 *   be a JSON array of objects with a `type` (`invalid_blocks_format` / `invalid_blocks`).
 * - Channel names (`#toilless` or `toilless`) map to stable ids (`channelId(name)`); a name that is not one of
 *   `options.channels` answers `channel_not_found`. A `thread_ts` naming a reply is moved to its parent.
 *
 * For assertions: `calls` records every request in order (the upload as method `upload`; the token is never
 * recorded), `messages(channel?)` and `files()` return copies of the workspace state.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { BodyTooLarge, closeServer, listenOnLoopback, readBody } from './http-test-server.js';

export interface SlackApiServerOptions {
  /** The bot token requests must carry. @default a random `xoxb-` token */
  readonly token?: string;
  /** Names (without '#') of the channels that exist and the bot is a member of. @default ['toilless'] */
  readonly channels?: readonly string[];
}

/** How the next matching call(s) fail: rate limited, an outage, or a Slack error with HTTP 200. */
export type SlackFailure =
  | { readonly status: 429; readonly retryAfterSeconds: number }
  | { readonly status: 500 | 502 | 503 | 504 }
  | { readonly error: string; readonly extra?: Readonly<Record<string, unknown>> };

export interface FailNextOptions {
  /** How many calls fail. @default 1 */
  readonly times?: number;
  /** Only calls to this method count (`upload` for the upload POST). @default every call */
  readonly method?: string;
}

export interface SlackApiCall {
  /** The Web API method, or `upload` for the bytes POSTed to an upload URL. */
  readonly method: string;
  /** Parameters as received (form values are strings), without `token`. */
  readonly params: Readonly<Record<string, unknown>>;
  readonly at: Date;
  /** The HTTP status answered. */
  readonly status: number;
  /** The Slack error answered with HTTP 200, when there was one. */
  readonly error?: string;
}

export interface SlackMessage {
  /** Channel id (C...). */
  readonly channel: string;
  readonly ts: string;
  /** The root message's ts, for replies. */
  readonly thread_ts?: string;
  readonly text: string;
  readonly blocks?: readonly Record<string, unknown>[];
  /** Ids of the files shared with this message. */
  readonly files?: readonly string[];
  /** Set once chat.update changed the message. */
  readonly edited?: { readonly user: string; readonly ts: string };
  readonly user: string;
  readonly bot_id: string;
}

export interface SlackFile {
  readonly id: string;
  readonly filename: string;
  /** The length announced to files.getUploadURLExternal. */
  readonly length: number;
  /** The bytes received at the upload URL; undefined until they arrive. */
  readonly content?: Buffer;
  readonly title?: string;
  /** Set once files.completeUploadExternal shared the file. */
  readonly channel?: string;
  readonly thread_ts?: string;
  readonly initial_comment?: string;
  readonly completed: boolean;
}

export interface SlackApiServer {
  /** Base URL of the Web API, ending in '/api/' (SLACK_API_URL, WebClient's slackApiUrl). */
  readonly url: string;
  readonly token: string;
  /** Every request, in arrival order. */
  readonly calls: readonly SlackApiCall[];
  /** Messages in the order posted, in one channel (name or id) or all. */
  messages(channel?: string): SlackMessage[];
  /** Files announced with files.getUploadURLExternal, in order. */
  files(): SlackFile[];
  /** The stable id a channel name (with or without '#') maps to. */
  channelId(name: string): string;
  /** Makes the next matching call(s) fail; rules queue up in the order given. */
  failNext(failure: SlackFailure, options?: FailNextOptions): void;
  close(): Promise<void>;
}

const TEAM_ID = 'T0TOILLESS1';
const BOT_USER_ID = 'U0TOILLESS1';
const BOT_ID = 'B0TOILLESS1';
const APP_ID = 'A0TOILLESS1';
const MAX_TEXT = 40_000;
const MAX_BLOCKS = 50;
const MAX_API_BODY = 5 * 1024 * 1024;
const MAX_UPLOAD_BODY = 100 * 1024 * 1024;
const CHANNEL_ID_PATTERN = /^[CGDZ][A-Z0-9]{8,}$/;

class SlackErrorAnswer extends Error {
  constructor(
    readonly error: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(error);
  }
}

interface Channel {
  readonly id: string;
  readonly name: string;
}

interface MutableMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  text: string;
  blocks?: Record<string, unknown>[];
  files?: string[];
  edited?: { user: string; ts: string };
  user: string;
  bot_id: string;
}

interface MutableFile {
  id: string;
  filename: string;
  length: number;
  uploadPath: string;
  content?: Buffer;
  title?: string;
  channel?: string;
  thread_ts?: string;
  initial_comment?: string;
  completed: boolean;
}

interface FailureRule {
  readonly failure: SlackFailure;
  /** The API method it fails, or undefined for any. */
  readonly method: string | undefined;
  remaining: number;
}

type Params = Record<string, unknown>;

export function channelIdFor(name: string): string {
  const bare = name.replace(/^#/, '');
  return `C${createHash('sha256').update(bare).digest('hex').slice(0, 10).toUpperCase()}`;
}

export async function startSlackApiServer(options: SlackApiServerOptions = {}): Promise<SlackApiServer> {
  const token = options.token ?? `xoxb-${randomBytes(12).toString('hex')}`;
  const channels = new Map<string, Channel>();
  for (const name of options.channels ?? ['toilless']) {
    const bare = name.replace(/^#/, '');
    channels.set(channelIdFor(bare), { id: channelIdFor(bare), name: bare });
  }
  const messages: MutableMessage[] = [];
  const files: MutableFile[] = [];
  const calls: SlackApiCall[] = [];
  const failures: FailureRule[] = [];
  let lastMicros = 0;
  let origin = '';

  // Slack ts values are "<seconds>.<6 digits>" and unique per channel; strictly increasing covers that.
  const nextTs = (): string => {
    lastMicros = Math.max(Date.now() * 1000, lastMicros + 1);
    return `${Math.floor(lastMicros / 1_000_000)}.${String(lastMicros % 1_000_000).padStart(6, '0')}`;
  };

  const findChannel = (value: unknown): Channel | undefined => {
    if (typeof value !== 'string' || value === '') return undefined;
    return channels.get(value) ?? channels.get(channelIdFor(value));
  };

  const takeFailure = (method: string, isApiMethod: boolean): SlackFailure | undefined => {
    const index = failures.findIndex(
      (rule) =>
        (rule.method === undefined || rule.method === method) && (isApiMethod || !('error' in rule.failure)),
    );
    const rule = failures[index];
    if (!rule) return undefined;
    rule.remaining -= 1;
    if (rule.remaining <= 0) failures.splice(index, 1);
    return rule.failure;
  };

  const methods: Record<string, (params: Params) => Params> = {
    'auth.test': () => ({
      url: 'https://toilless-test.slack.com/',
      team: 'toilless-test',
      user: 'toilless',
      team_id: TEAM_ID,
      user_id: BOT_USER_ID,
      bot_id: BOT_ID,
      is_enterprise_install: false,
    }),

    'chat.postMessage': (params) => {
      const channel = findChannel(params.channel);
      if (!channel) throw new SlackErrorAnswer('channel_not_found');
      const { text, blocks } = messageContent(params);
      let threadTs = optionalString(params.thread_ts);
      if (threadTs !== undefined) {
        const parent = messages.find((m) => m.channel === channel.id && m.ts === threadTs);
        threadTs = parent?.thread_ts ?? threadTs;
      }
      const message: MutableMessage = {
        channel: channel.id,
        ts: nextTs(),
        text,
        user: BOT_USER_ID,
        bot_id: BOT_ID,
        ...(blocks ? { blocks } : {}),
        ...(threadTs !== undefined ? { thread_ts: threadTs } : {}),
      };
      messages.push(message);
      return { channel: channel.id, ts: message.ts, message: messageObject(message) };
    },

    'chat.update': (params) => {
      const channel = findChannel(params.channel);
      if (!channel) throw new SlackErrorAnswer('channel_not_found');
      const ts = optionalString(params.ts);
      const message = messages.find((m) => m.channel === channel.id && m.ts === ts);
      if (!message) throw new SlackErrorAnswer('message_not_found');
      const { text, blocks } = messageContent(params);
      message.text = text;
      if (blocks) message.blocks = blocks;
      message.edited = { user: BOT_USER_ID, ts: nextTs() };
      return { channel: channel.id, ts: message.ts, text, message: messageObject(message) };
    },

    'conversations.list': (params) => {
      const limit = Math.min(Math.max(Number(params.limit ?? 100) || 100, 1), 1000);
      const all = [...channels.values()];
      let start = 0;
      const cursor = optionalString(params.cursor);
      if (cursor) {
        const match = /^next:(\d+)$/.exec(Buffer.from(cursor, 'base64').toString('utf8'));
        if (!match) throw new SlackErrorAnswer('invalid_cursor');
        start = Number(match[1]);
      }
      const page = all.slice(start, start + limit);
      const next = start + limit < all.length ? Buffer.from(`next:${start + limit}`).toString('base64') : '';
      return {
        channels: page.map((c) => ({
          id: c.id,
          name: c.name,
          is_channel: true,
          is_private: false,
          is_archived: false,
          is_member: true,
        })),
        response_metadata: { next_cursor: next },
      };
    },

    'files.getUploadURLExternal': (params) => {
      const filename = optionalString(params.filename);
      if (!filename) throw invalidArguments('missing required field: filename', '/filename');
      if (params.length === undefined || params.length === '') {
        throw invalidArguments('missing required field: length', '/length');
      }
      const length = Number(params.length);
      if (!Number.isInteger(length) || length < 0) {
        throw invalidArguments('expected an integer', '/length');
      }
      if (length === 0) throw new SlackErrorAnswer('missing_argument');
      const file: MutableFile = {
        id: `F${randomBytes(5).toString('hex').toUpperCase()}`,
        filename,
        length,
        uploadPath: `/upload/v1/${randomBytes(16).toString('base64url')}`,
        completed: false,
      };
      files.push(file);
      return { upload_url: `${origin}${file.uploadPath}`, file_id: file.id };
    },

    'files.completeUploadExternal': (params) => {
      const list = typeof params.files === 'string' ? parseJson(params.files) : params.files;
      if (!Array.isArray(list) || list.length === 0) {
        throw invalidArguments('missing required field: files', '/files');
      }
      const entries = list.map((entry: unknown) => {
        const record = isRecord(entry) ? entry : {};
        const file = files.find((f) => f.id === record.id);
        if (!file || file.content === undefined) throw new SlackErrorAnswer('file_not_found');
        return { file, title: optionalString(record.title) };
      });
      const channelId = optionalString(params.channel_id);
      let channel: Channel | undefined;
      if (channelId !== undefined) {
        if (!CHANNEL_ID_PATTERN.test(channelId)) {
          throw invalidArguments(
            `input must match regex pattern: ${CHANNEL_ID_PATTERN.source}`,
            '/channel_id',
          );
        }
        channel = channels.get(channelId);
        if (!channel) throw new SlackErrorAnswer('invalid_channel');
      }
      const threadTs = optionalString(params.thread_ts);
      const comment = optionalString(params.initial_comment);
      for (const { file, title } of entries) {
        file.completed = true;
        if (title !== undefined) file.title = title;
        if (channel) file.channel = channel.id;
        if (threadTs !== undefined) file.thread_ts = threadTs;
        if (comment !== undefined) file.initial_comment = comment;
      }
      if (channel) {
        messages.push({
          channel: channel.id,
          ts: nextTs(),
          text: comment ?? '',
          files: entries.map((e) => e.file.id),
          user: BOT_USER_ID,
          bot_id: BOT_ID,
          ...(threadTs !== undefined ? { thread_ts: threadTs } : {}),
        });
      }
      return {
        files: entries.map(({ file }) => ({
          id: file.id,
          name: file.filename,
          title: file.title ?? file.filename,
          size: file.content?.length ?? 0,
          user: BOT_USER_ID,
          created: Math.floor(Date.now() / 1000),
          is_public: channel !== undefined,
        })),
      };
    },
  };

  const answerFailure = (res: ServerResponse, failure: SlackFailure): { status: number; error?: string } => {
    if ('error' in failure) {
      sendJson(res, 200, { ok: false, error: failure.error, ...failure.extra });
      return { status: 200, error: failure.error };
    }
    if (failure.status === 429) {
      res.setHeader('Retry-After', String(failure.retryAfterSeconds));
      sendJson(res, 429, { ok: false, error: 'ratelimited' });
      return { status: 429 };
    }
    res.writeHead(failure.status, { 'content-type': 'text/html' });
    res.end(`<html><body><h1>${failure.status}</h1>Slack is having trouble.</body></html>`);
    return { status: failure.status };
  };

  const handleApi = async (method: string, req: IncomingMessage, url: URL, res: ServerResponse) => {
    const call: { -readonly [K in keyof SlackApiCall]: SlackApiCall[K] } = {
      method,
      params: {},
      at: new Date(),
      status: 0,
    };
    calls.push(call);
    const failure = takeFailure(method, true);
    if (failure) {
      await readBody(req, MAX_API_BODY).catch(() => Buffer.alloc(0));
      Object.assign(call, answerFailure(res, failure));
      return;
    }
    try {
      const { params, bodyToken, isJson } = await readParams(req, url);
      const { token: _dropped, ...recorded } = params;
      call.params = recorded;
      const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      const presented = bearer ?? (isJson ? undefined : bodyToken);
      if (presented === undefined) throw new SlackErrorAnswer('not_authed');
      if (presented !== token) throw new SlackErrorAnswer('invalid_auth');
      const handler = methods[method];
      if (!handler) throw new SlackErrorAnswer('unknown_method', { req_method: method });
      sendJson(res, 200, { ok: true, ...handler(params) });
      call.status = 200;
    } catch (error) {
      if (error instanceof SlackErrorAnswer) {
        sendJson(res, 200, { ok: false, error: error.error, ...error.extra });
        call.status = 200;
        call.error = error.error;
      } else if (error instanceof BodyTooLarge) {
        res.writeHead(413, { 'content-type': 'text/plain' }).end('Request Entity Too Large');
        call.status = 413;
      } else {
        throw error;
      }
    }
  };

  const handleUpload = async (req: IncomingMessage, url: URL, res: ServerResponse) => {
    const file = files.find((f) => f.uploadPath === url.pathname);
    const call: { -readonly [K in keyof SlackApiCall]: SlackApiCall[K] } = {
      method: 'upload',
      params: { file_id: file?.id },
      at: new Date(),
      status: 0,
    };
    calls.push(call);
    const failure = takeFailure('upload', false);
    if (failure) {
      await readBody(req, MAX_UPLOAD_BODY).catch(() => Buffer.alloc(0));
      Object.assign(call, answerFailure(res, failure));
      return;
    }
    if (!file || req.method !== 'POST') {
      call.status = file ? 405 : 404;
      res
        .writeHead(call.status, { 'content-type': 'text/plain' })
        .end(file ? 'Method Not Allowed' : 'Not Found');
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(req, MAX_UPLOAD_BODY);
    } catch {
      call.status = 413;
      res.writeHead(413, { 'content-type': 'text/plain' }).end('Request Entity Too Large');
      return;
    }
    // Slack accepts the bytes raw or as the file part of a multipart form (the Node SDK sends the latter).
    const contentType = req.headers['content-type'] ?? '';
    file.content = contentType.startsWith('multipart/form-data')
      ? await multipartFile(body, contentType)
      : body;
    call.params = { file_id: file.id, bytes: file.content.length };
    call.status = 200;
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(`OK - ${file.content.length}`);
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = url.pathname.startsWith('/api/')
      ? handleApi(url.pathname.slice('/api/'.length), req, url, res)
      : url.pathname.startsWith('/upload/v1/')
        ? handleUpload(req, url, res)
        : notFound(res);
    route.catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`test server failure: ${error instanceof Error ? error.message : String(error)}`);
    });
  });

  origin = await listenOnLoopback(server);

  return {
    url: `${origin}/api/`,
    token,
    calls,
    messages: (channel) => {
      const id = channel === undefined ? undefined : (findChannel(channel)?.id ?? channelIdFor(channel));
      return structuredClone(messages.filter((m) => id === undefined || m.channel === id));
    },
    files: () =>
      files.map(({ uploadPath: _path, content, ...file }) => ({
        ...structuredClone(file),
        ...(content ? { content: Buffer.from(content) } : {}),
      })),
    channelId: channelIdFor,
    failNext: (failure, failOptions = {}) => {
      failures.push({ failure, method: failOptions.method, remaining: failOptions.times ?? 1 });
    },
    close: () => closeServer(server),
  };
}

function messageObject(message: MutableMessage): Params {
  return {
    type: 'message',
    user: message.user,
    bot_id: message.bot_id,
    app_id: APP_ID,
    team: TEAM_ID,
    text: message.text,
    ts: message.ts,
    ...(message.blocks ? { blocks: message.blocks } : {}),
    ...(message.thread_ts !== undefined ? { thread_ts: message.thread_ts, parent_user_id: BOT_USER_ID } : {}),
    ...(message.edited ? { edited: message.edited } : {}),
  };
}

/** Text and blocks as chat.postMessage and chat.update validate them. */
function messageContent(params: Params): { text: string; blocks?: Record<string, unknown>[] } {
  const text = optionalString(params.text) ?? '';
  let blocks: Record<string, unknown>[] | undefined;
  if (params.blocks !== undefined && params.blocks !== '') {
    const parsed = typeof params.blocks === 'string' ? parseJson(params.blocks) : params.blocks;
    if (!Array.isArray(parsed)) throw new SlackErrorAnswer('invalid_blocks_format');
    if (parsed.length > MAX_BLOCKS || !parsed.every((b) => isRecord(b) && typeof b.type === 'string')) {
      throw new SlackErrorAnswer('invalid_blocks');
    }
    blocks = parsed as Record<string, unknown>[];
  }
  if (text === '' && (blocks === undefined || blocks.length === 0)) throw new SlackErrorAnswer('no_text');
  if (text.length > MAX_TEXT) throw new SlackErrorAnswer('msg_too_long');
  return blocks ? { text, blocks } : { text };
}

function invalidArguments(problem: string, pointer: string): SlackErrorAnswer {
  return new SlackErrorAnswer('invalid_arguments', {
    response_metadata: { messages: [`[ERROR] ${problem} [json-pointer:${pointer}]`] },
  });
}

async function readParams(
  req: IncomingMessage,
  url: URL,
): Promise<{ params: Params; bodyToken?: string | undefined; isJson: boolean }> {
  const params: Params = Object.fromEntries(url.searchParams);
  const body = await readBody(req, MAX_API_BODY);
  const header = req.headers['content-type'];
  const [type = '', ...attributes] = (header ?? '').split(';').map((part) => part.trim());
  const charset = attributes.find((a) => a.toLowerCase().startsWith('charset='))?.slice('charset='.length);
  if (charset && !['utf-8', 'utf8', 'iso-8859-1'].includes(charset.toLowerCase().replace(/"/g, ''))) {
    throw new SlackErrorAnswer('invalid_charset');
  }
  if (body.length === 0) return { params, bodyToken: optionalString(params.token), isJson: false };
  if (header === undefined) throw new SlackErrorAnswer('missing_post_type');
  switch (type.toLowerCase()) {
    case 'application/x-www-form-urlencoded':
    case 'text/plain':
      Object.assign(params, Object.fromEntries(new URLSearchParams(body.toString('utf8'))));
      return { params, bodyToken: optionalString(params.token), isJson: false };
    case 'application/json': {
      const parsed = parseJson(body.toString('utf8'));
      if (!isRecord(parsed)) throw new SlackErrorAnswer('invalid_json');
      Object.assign(params, parsed);
      return { params, isJson: true };
    }
    case 'multipart/form-data': {
      const form = await new Request('http://127.0.0.1/', {
        method: 'POST',
        headers: { 'content-type': header },
        body,
      })
        .formData()
        .catch(() => {
          throw new SlackErrorAnswer('invalid_form_data');
        });
      for (const [key, value] of form) if (typeof value === 'string') params[key] = value;
      return { params, bodyToken: optionalString(params.token), isJson: false };
    }
    default:
      throw new SlackErrorAnswer('invalid_post_type');
  }
}

async function multipartFile(body: Buffer, contentType: string): Promise<Buffer> {
  const form = await new Request('http://127.0.0.1/', {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
  }).formData();
  for (const [, value] of form) {
    if (typeof value !== 'string') return Buffer.from(await value.arrayBuffer());
  }
  return Buffer.alloc(0);
}

async function notFound(res: ServerResponse): Promise<void> {
  res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function optionalString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
