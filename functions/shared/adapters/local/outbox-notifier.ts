/**
 * The Notifier without Slack: what would have been sent is written as JSON under `outbox/slack/` in the
 * store, one file per call, named so that a directory listing reads in the order of sending.
 */
import { randomBytes } from 'node:crypto';
import { type Clock, systemClock } from '../../ports/clock.js';
import type { FileUpload, Message, MessageRef, Notifier } from '../../ports/notifier.js';
import type { ObjectStore } from '../../ports/object-store.js';

export const OUTBOX_PREFIX = 'outbox/slack/';

export interface OutboxNotifierOptions {
  readonly store: ObjectStore;
  /** Channel for messages that name none (SLACK_CHANNEL). */
  readonly channel: string;
  /** @default the system clock */
  readonly clock?: Clock;
}

/** One outbox file: the Slack method and the arguments it would have been called with. */
export interface OutboxEntry {
  readonly method: 'chat.postMessage' | 'chat.update' | 'files.uploadV2';
  readonly channel: string;
  /** The message's Slack-like ts: new for posts and uploads, the edited message's for updates. */
  readonly ts: string;
  readonly thread_ts?: string;
  readonly text: string;
  readonly blocks?: readonly Record<string, unknown>[];
  readonly filename?: string;
  readonly title?: string;
  /** Size of the uploaded file. */
  readonly bytes?: number;
  readonly initial_comment?: string;
  /** Store key of the uploaded file's bytes. */
  readonly file_key?: string;
}

export class OutboxNotifier implements Notifier {
  private readonly store: ObjectStore;
  private readonly channel: string;
  private readonly clock: Clock;
  private sequence = 0;
  private lastMicros = 0;

  constructor(options: OutboxNotifierOptions) {
    this.store = options.store;
    this.channel = options.channel;
    this.clock = options.clock ?? systemClock;
  }

  async post(message: Message): Promise<MessageRef> {
    const entry = this.messageEntry(
      'chat.postMessage',
      message.channel ?? this.channel,
      this.nextTs(),
      message,
    );
    await this.write(entry);
    return { channel: entry.channel, ts: entry.ts };
  }

  async reply(thread: MessageRef, message: Message): Promise<MessageRef> {
    const entry = this.messageEntry('chat.postMessage', thread.channel, this.nextTs(), message, thread.ts);
    await this.write(entry);
    return { channel: entry.channel, ts: entry.ts };
  }

  async update(ref: MessageRef, message: Message): Promise<MessageRef> {
    await this.write(this.messageEntry('chat.update', ref.channel, ref.ts, message));
    return ref;
  }

  async upload(file: FileUpload): Promise<{ readonly fileId: string }> {
    const ts = this.nextTs();
    const base = this.keyBase('files.uploadV2');
    const fileKey = `${base}-${safeFileName(file.filename)}`;
    // The bytes go first so that an entry never points at a file that is not there (after a power loss
    // both may be gone: like every outbox file, they are copies nothing reads back, not flushed to disk).
    await this.store.put(fileKey, file.content, { contentType: 'application/octet-stream', flush: false });
    const entry: OutboxEntry = {
      method: 'files.uploadV2',
      channel: file.channel ?? this.channel,
      ts,
      ...(file.threadTs !== undefined ? { thread_ts: file.threadTs } : {}),
      text: file.initialComment ?? '',
      filename: file.filename,
      ...(file.title !== undefined ? { title: file.title } : {}),
      bytes: file.content.length,
      ...(file.initialComment !== undefined ? { initial_comment: file.initialComment } : {}),
      file_key: fileKey,
    };
    await this.store.put(`${base}.json`, `${JSON.stringify(entry, null, 2)}\n`, {
      contentType: 'application/json',
      flush: false,
    });
    return { fileId: `F${randomBytes(5).toString('hex').toUpperCase()}` };
  }

  private messageEntry(
    method: OutboxEntry['method'],
    channel: string,
    ts: string,
    message: Message,
    threadTs?: string,
  ): OutboxEntry {
    return {
      method,
      channel,
      ts,
      ...(threadTs !== undefined ? { thread_ts: threadTs } : {}),
      text: message.text,
      ...(message.blocks ? { blocks: message.blocks } : {}),
    };
  }

  private async write(entry: OutboxEntry): Promise<void> {
    // A copy of what would have been sent, never read back (like a log line): not flushed to disk.
    await this.store.put(`${this.keyBase(entry.method)}.json`, `${JSON.stringify(entry, null, 2)}\n`, {
      contentType: 'application/json',
      flush: false,
    });
  }

  /** `outbox/slack/<time>-<seq>-<method>`: the time sorts across runs, the sequence within a millisecond. */
  private keyBase(method: OutboxEntry['method']): string {
    this.sequence += 1;
    const time = this.clock.now().toISOString().replace(/[:.]/g, '-');
    return `${OUTBOX_PREFIX}${time}-${String(this.sequence).padStart(6, '0')}-${method}`;
  }

  /** Slack-like "<seconds>.<6 digits>", strictly increasing even when the clock stands still or steps back. */
  private nextTs(): string {
    this.lastMicros = Math.max(this.clock.now().getTime() * 1000, this.lastMicros + 1);
    return `${Math.floor(this.lastMicros / 1_000_000)}.${String(this.lastMicros % 1_000_000).padStart(6, '0')}`;
  }
}

function safeFileName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return safe === '' ? 'file' : safe;
}
