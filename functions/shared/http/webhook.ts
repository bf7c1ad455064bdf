/**
 * A webhook request as the intake sees it, whatever carried it: API Gateway on AWS, node:http locally.
 * Both adapters hand over the raw body bytes, because signatures are computed over them.
 */
export interface WebhookRequest {
  readonly method: string;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Buffer;
}

export interface WebhookResponse {
  readonly status: number;
  /** Always a JSON object: `{ ok: true, ... }` or `{ error, message, issues? }`. */
  readonly body: Readonly<Record<string, unknown>>;
  readonly headers?: Readonly<Record<string, string>>;
}

export type WebhookHandler = (request: WebhookRequest) => Promise<WebhookResponse>;

/** Larger bodies are refused with 413 before they are parsed. GitHub caps payloads at 25 MB; ours are far smaller. */
export const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;

export function errorResponse(
  status: number,
  error: string,
  message: string,
  extra: Record<string, unknown> = {},
): WebhookResponse {
  return { status, body: { ok: false, error, message, ...extra } };
}
