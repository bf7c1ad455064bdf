/** Where people read what toilless did: Slack on AWS and locally with a token, an outbox folder otherwise. */
export interface MessageRef {
  readonly channel: string;
  /** Slack message timestamp: the message id, and the thread id for replies. */
  readonly ts: string;
}

export interface Message {
  /** Plain-text fallback, shown in notifications and by clients without blocks. */
  readonly text: string;
  /** Slack Block Kit blocks, passed through as given. */
  readonly blocks?: readonly Record<string, unknown>[];
  /** Defaults to the notifier's channel (SLACK_CHANNEL). */
  readonly channel?: string;
}

export interface FileUpload {
  readonly filename: string;
  readonly title?: string;
  readonly content: Buffer;
  readonly initialComment?: string;
  readonly channel?: string;
  readonly threadTs?: string;
}

export interface Notifier {
  post(message: Message): Promise<MessageRef>;
  reply(thread: MessageRef, message: Message): Promise<MessageRef>;
  update(ref: MessageRef, message: Message): Promise<MessageRef>;
  upload(file: FileUpload): Promise<{ readonly fileId: string }>;
}
