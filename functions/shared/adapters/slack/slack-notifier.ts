/**
 * The Notifier on Slack's Web API. @slack/web-api does the protocol work: form encoding, Retry-After on 429,
 * retries on 5xx and network errors, and the three-step external file upload.
 */
import { format } from 'node:util';
import {
  type ChatPostMessageArguments,
  type FilesCompleteUploadExternalResponse,
  LogLevel,
  type Logger as SlackLogger,
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
  WebClient,
  WebClientEvent,
} from '@slack/web-api';
import { UpstreamError } from '../../errors.js';
import { type Logger, silentLogger } from '../../log.js';
import type { FileUpload, Message, MessageRef, Notifier } from '../../ports/notifier.js';

export interface SlackNotifierOptions {
  /** Bot token (SLACK_BOT_TOKEN), needs chat:write, files:write and channels:read. */
  readonly token: string;
  /** Channel for messages that name none (SLACK_CHANNEL): a name like '#toilless' or an id like 'C0123ABCD'. */
  readonly channel: string;
  /** Web API base URL (SLACK_API_URL), ending in '/'. @default 'https://slack.com/api/' */
  readonly apiUrl?: string;
  readonly logger?: Logger;
  /** Retries after a 429, a 5xx or a network error, before the call fails. @default 3 */
  readonly maxRetries?: number;
  /** Per-request timeout in milliseconds; a request that exceeds it counts as failed and is retried. @default 30000 */
  readonly timeoutMs?: number;
}

type Blocks = Extract<ChatPostMessageArguments, { blocks: unknown }>['blocks'];

// files.completeUploadExternal takes channel ids only; chat.postMessage also takes names.
const CHANNEL_ID = /^[CGDZ][A-Z0-9]{8,}$/;

const HINTS: Readonly<Record<string, string>> = {
  not_authed: 'set SLACK_BOT_TOKEN to the bot token (xoxb-...)',
  invalid_auth: 'SLACK_BOT_TOKEN was refused: check it is the current bot token of the installed app',
  token_revoked: 'the app was uninstalled or the token revoked: reinstall it and update SLACK_BOT_TOKEN',
  account_inactive: 'the app was uninstalled or the token revoked: reinstall it and update SLACK_BOT_TOKEN',
  channel_not_found: 'check SLACK_CHANNEL, and invite the app to private channels',
  not_in_channel: 'invite the app to the channel (/invite @toilless)',
  invalid_channel: 'check SLACK_CHANNEL, and invite the app to private channels',
  is_archived: 'the channel is archived: unarchive it or change SLACK_CHANNEL',
};

export class SlackNotifier implements Notifier {
  private readonly client: WebClient;
  private readonly channel: string;
  private readonly logger: Logger;
  /** Channel names already resolved to ids, from post answers or conversations.list. */
  private readonly channelIds = new Map<string, string>();

  constructor(options: SlackNotifierOptions) {
    if (!options.token) throw new TypeError('SlackNotifier needs a bot token (SLACK_BOT_TOKEN)');
    this.channel = options.channel;
    this.logger = (options.logger ?? silentLogger).child({ component: 'slack' });
    this.client = new WebClient(options.token, {
      slackApiUrl: options.apiUrl ?? 'https://slack.com/api/',
      logger: sdkLogger(this.logger, options.token),
      // Wait out 429s as Retry-After asks, but give up after a bounded number of attempts.
      rejectRateLimitedCalls: false,
      retryConfig: {
        retries: options.maxRetries ?? 3,
        factor: 2,
        minTimeout: 1000,
        maxTimeout: 10_000,
        randomize: true,
      },
      timeout: options.timeoutMs ?? 30_000,
    });
    this.client.on(WebClientEvent.RATE_LIMITED, (retryAfterSeconds: number, request: { url?: string }) => {
      this.logger.warn(
        { retryAfterSeconds, method: request.url?.split('/').pop() },
        'Slack rate limit: waiting as Retry-After asks',
      );
    });
  }

  async post(message: Message): Promise<MessageRef> {
    return this.postMessage(message.channel ?? this.channel, message);
  }

  async reply(thread: MessageRef, message: Message): Promise<MessageRef> {
    return this.postMessage(thread.channel, message, thread.ts);
  }

  async update(ref: MessageRef, message: Message): Promise<MessageRef> {
    const result = await this.call('chat.update', () =>
      this.client.chat.update({
        channel: ref.channel,
        ts: ref.ts,
        text: message.text,
        ...(message.blocks ? { blocks: message.blocks as unknown as Blocks } : {}),
      }),
    );
    return { channel: result.channel ?? ref.channel, ts: result.ts ?? ref.ts };
  }

  async upload(file: FileUpload): Promise<{ readonly fileId: string }> {
    const channelId = await this.channelId(file.channel ?? this.channel);
    const destination =
      file.threadTs !== undefined
        ? { channel_id: channelId, thread_ts: file.threadTs }
        : { channel_id: channelId };
    const result = await this.call('files.uploadV2', () =>
      this.client.files.uploadV2({
        ...destination,
        file: file.content,
        filename: file.filename,
        ...(file.title !== undefined ? { title: file.title } : {}),
        ...(file.initialComment !== undefined ? { initial_comment: file.initialComment } : {}),
      }),
    );
    // The SDK types files.uploadV2 loosely; it answers one files.completeUploadExternal result per share.
    const completions = (result as { files?: FilesCompleteUploadExternalResponse[] }).files;
    const fileId = completions?.[0]?.files?.[0]?.id;
    if (!fileId) throw new UpstreamError('slack', 'files.uploadV2: the answer named no file id');
    this.logger.info({ channel: channelId, fileId, bytes: file.content.length }, 'file uploaded to Slack');
    return { fileId };
  }

  private async postMessage(channel: string, message: Message, threadTs?: string): Promise<MessageRef> {
    const result = await this.call('chat.postMessage', () =>
      this.client.chat.postMessage({
        channel,
        text: message.text,
        ...(message.blocks ? { blocks: message.blocks as unknown as Blocks } : {}),
        ...(threadTs !== undefined ? { thread_ts: threadTs } : {}),
      }),
    );
    if (!result.channel || !result.ts) {
      throw new UpstreamError('slack', 'chat.postMessage: the answer named no channel or ts');
    }
    if (!CHANNEL_ID.test(channel)) this.channelIds.set(bareName(channel), result.channel);
    return { channel: result.channel, ts: result.ts };
  }

  /** The id of a channel given by id or name; names are looked up once with conversations.list. */
  private async channelId(channel: string): Promise<string> {
    if (CHANNEL_ID.test(channel)) return channel;
    const name = bareName(channel);
    const known = this.channelIds.get(name);
    if (known) return known;
    let cursor: string | undefined;
    do {
      const page = await this.call('conversations.list', () =>
        this.client.conversations.list({
          types: 'public_channel,private_channel',
          exclude_archived: true,
          limit: 1000,
          ...(cursor ? { cursor } : {}),
        }),
      );
      for (const c of page.channels ?? []) if (c.name && c.id) this.channelIds.set(c.name, c.id);
      cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor && !this.channelIds.has(name));
    const id = this.channelIds.get(name);
    if (!id) {
      throw new UpstreamError(
        'slack',
        `conversations.list: no channel named #${name}: set SLACK_CHANNEL to its id (C...), or invite the app to it`,
      );
    }
    return id;
  }

  private async call<T>(method: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw toUpstreamError(method, error);
    }
  }
}

/** Slack's failure, named by method and error code, with what to do about it when that is known. */
export function toUpstreamError(method: string, error: unknown): UpstreamError {
  if (error instanceof WebAPIPlatformError) {
    const code = error.data.error;
    const needed = (error.data as { needed?: unknown }).needed;
    const hint =
      code === 'missing_scope' && typeof needed === 'string' ? `add the ${needed} scope` : HINTS[code];
    return new UpstreamError('slack', `${method}: ${code}${hint ? ` (${hint})` : ''}`, 200, { cause: error });
  }
  if (error instanceof WebAPIHTTPError) {
    return new UpstreamError(
      'slack',
      `${method}: HTTP ${error.statusCode} ${error.statusMessage}`.trim(),
      error.statusCode,
      {
        cause: error,
      },
    );
  }
  if (error instanceof WebAPIRateLimitedError) {
    return new UpstreamError('slack', `${method}: rate limited, retry after ${error.retryAfter} s`, 429, {
      cause: error,
    });
  }
  if (error instanceof WebAPIRequestError) {
    const cause = error.original.cause as { code?: unknown } | undefined;
    const code = typeof cause?.code === 'string' ? ` (${cause.code})` : '';
    return new UpstreamError(
      'slack',
      `${method}: request failed: ${error.original.message}${code}`,
      undefined,
      {
        cause: error,
      },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  // After the last retry of a 429 the SDK rejects with a plain Error naming the rate limit.
  const status = /rate limit/i.test(message) ? 429 : undefined;
  return new UpstreamError('slack', `${method}: ${message}`, status, { cause: error });
}

function bareName(channel: string): string {
  return channel.replace(/^#/, '');
}

/** The SDK's logger interface on top of pino; the token is scrubbed from every line as a last line of defence. */
function sdkLogger(logger: Logger, token: string): SlackLogger {
  const line = (args: unknown[]) => format(...args).replaceAll(token, '[redacted]');
  return {
    debug: (...args: unknown[]) => logger.debug(line(args)),
    info: (...args: unknown[]) => logger.info(line(args)),
    warn: (...args: unknown[]) => logger.warn(line(args)),
    error: (...args: unknown[]) => logger.error(line(args)),
    setLevel: () => {},
    getLevel: () => {
      const level = logger.level;
      if (level === 'debug' || level === 'trace') return LogLevel.DEBUG;
      if (level === 'info') return LogLevel.INFO;
      if (level === 'warn') return LogLevel.WARN;
      return LogLevel.ERROR;
    },
    setName: () => {},
  };
}
