/**
 * Where the local Alertmanager's Slack receivers (and its other webhooks, the dead man's switch) post
 * during a local game day: a small HTTP server that takes Slack incoming-webhook messages and writes
 * each to a folder, so that they can be read afterwards and nothing leaves this machine.
 * toilless's own Slack messages do not come here: without a token it writes them to its outbox.
 */

import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as z from 'zod';

/** A Slack incoming-webhook message is at most a few KB; Alertmanager's stay far below this. */
export const MAX_SINK_BODY_BYTES = 256 * 1024;

/** Receiver names as alertmanager.yml writes them; anything else in the path is refused. */
const PATH = /^\/(slack|webhook)\/([A-Za-z0-9_-]{1,64})$/;

/** The fields of an incoming-webhook message Alertmanager sends (others are kept as they came). */
const slackMessageSchema = z.looseObject({
  channel: z.string().max(200).optional(),
  username: z.string().max(200).optional(),
  text: z.string().optional(),
  attachments: z
    .array(
      z.looseObject({
        title: z.string().optional(),
        text: z.string().optional(),
        color: z.string().optional(),
      }),
    )
    .max(100)
    .optional(),
});

/** One recorded post: what came, where to and when. */
export interface SinkMessage {
  /** `slack` for a Slack receiver, `webhook` for a webhook receiver. */
  readonly kind: 'slack' | 'webhook';
  /** The Alertmanager receiver's name (the last path segment). */
  readonly receiver: string;
  readonly receivedAt: string;
  /** The JSON body as posted. */
  readonly body: unknown;
}

export interface SlackSink {
  /** Base URL, e.g. http://127.0.0.1:41234: Slack receivers post to `${url}/slack/<receiver>`. */
  readonly url: string;
  /** The folder the messages are written to, one JSON file each under `<kind>/<receiver>/`. */
  readonly dir: string;
  close(): Promise<void>;
}

/** Starts the sink on a free 127.0.0.1 port, writing under `dir`. */
export async function startSlackSink(dir: string): Promise<SlackSink> {
  let sequence = 0;
  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      answer(
        response,
        500,
        `the message could not be recorded: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const match = PATH.exec(new URL(request.url ?? '/', 'http://sink').pathname);
    if (!match) {
      request.resume();
      answer(response, 404, 'no_service: post to /slack/<receiver> or /webhook/<receiver>');
      return;
    }
    if (request.method !== 'POST') {
      request.resume();
      answer(response, 405, 'invalid_method: POST only');
      return;
    }
    const body = await readBounded(request, MAX_SINK_BODY_BYTES);
    if (body === undefined) {
      answer(response, 413, `payload_too_large: at most ${MAX_SINK_BODY_BYTES} bytes`, true);
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      answer(response, 400, 'invalid_payload: the body is not JSON');
      return;
    }
    const kind = match[1] as 'slack' | 'webhook';
    const receiver = match[2] as string;
    // Slack answers 400 invalid_payload to a message it cannot read; so does the sink.
    if (kind === 'slack' && !slackMessageSchema.safeParse(parsed).success) {
      answer(response, 400, 'invalid_payload: not a Slack incoming-webhook message');
      return;
    }
    const receivedAt = new Date().toISOString();
    const folder = join(dir, kind, receiver);
    await mkdir(folder, { recursive: true });
    sequence += 1;
    const message: SinkMessage = { kind, receiver, receivedAt, body: parsed };
    await writeFile(
      join(folder, `${receivedAt.replace(/[:.]/g, '-')}-${String(sequence).padStart(6, '0')}.json`),
      `${JSON.stringify(message, null, 2)}\n`,
    );
    // Slack's incoming webhooks answer 200 with the body "ok".
    answer(response, 200, 'ok');
  }

  await mkdir(dir, { recursive: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    dir,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The messages recorded under `dir`, oldest first. */
export async function readSinkMessages(dir: string): Promise<SinkMessage[]> {
  const messages: SinkMessage[] = [];
  for (const kind of ['slack', 'webhook']) {
    const receivers = await readdir(join(dir, kind)).catch(() => []);
    for (const receiver of receivers) {
      for (const name of await readdir(join(dir, kind, receiver))) {
        messages.push(JSON.parse(await readFile(join(dir, kind, receiver, name), 'utf8')) as SinkMessage);
      }
    }
  }
  return messages.sort((a, b) => a.receivedAt.localeCompare(b.receivedAt));
}

/** The body, or undefined once it passes `limit` bytes (the rest is not read). */
function readBounded(request: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.removeAllListeners('data');
        request.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function answer(response: ServerResponse, status: number, text: string, close = false): void {
  if (response.headersSent) return;
  response.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    ...(close ? { connection: 'close' } : {}),
  });
  response.end(text);
}
