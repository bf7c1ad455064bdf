/**
 * toilless's Slack messages as the game day sees them: the outbox files of a local run (no Slack
 * token), or the channel through the Slack Web API (conversations.history). Only the incident's root
 * message is looked at: that it was posted, and whether it says the incident resolved.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import type { SlackObservation } from './environment.js';

/** One root message as seen: when it was posted (from its ts) and whether it now says Resolved. */
export interface ObservedSlackRoot {
  readonly postedAt: Date;
  readonly resolved: boolean;
}

export interface SlackWatch {
  /** The thread's root message, or undefined when it is not (yet) there. */
  root(thread: { readonly channel: string; readonly ts: string }): Promise<ObservedSlackRoot | undefined>;
  /** Where messages are read, for the report. */
  readonly where: string;
}

const MAX_OUTBOX_FILE_BYTES = 1024 * 1024;
const MAX_OUTBOX_FILES_READ = 2000;
const SLACK_TS = /^[0-9]{1,12}\.[0-9]{1,6}$/;
const SLACK_CHANNEL_ID = /^[A-Z0-9]{1,40}$/;

const outboxEntrySchema = z.object({
  method: z.enum(['chat.postMessage', 'chat.update', 'files.uploadV2']),
  channel: z.string().max(200),
  ts: z.string().max(40),
  thread_ts: z.string().max(40).optional(),
  text: z.string().max(100_000),
  blocks: z.array(z.unknown()).max(100).optional(),
});
type OutboxEntry = z.output<typeof outboxEntrySchema>;

/** Whether a root message's text or blocks say the incident resolved (slack-messages.ts rootMessage). */
export function saysResolved(message: {
  readonly text?: string | undefined;
  readonly blocks?: readonly unknown[] | undefined;
}): boolean {
  return [message.text ?? '', ...stringsIn(message.blocks ?? [], 0)].some((text) =>
    /\bResolved\b/.test(text),
  );
}

/** Every string in a block tree (the texts Slack shows), to a bounded depth. */
function stringsIn(value: unknown, depth: number): string[] {
  if (typeof value === 'string') return [value];
  if (depth > 8 || value === null || typeof value !== 'object') return [];
  return Object.values(value).flatMap((child) => stringsIn(child, depth + 1));
}

export function tsToDate(ts: string): Date {
  return new Date(Math.round(Number(ts) * 1000));
}

/** The root as the outbox entries tell it: the post, then the last edit of it. */
export function rootFromOutbox(
  entries: readonly OutboxEntry[],
  thread: { readonly ts: string },
): ObservedSlackRoot | undefined {
  const post = entries.find(
    (entry) => entry.method === 'chat.postMessage' && entry.ts === thread.ts && entry.thread_ts === undefined,
  );
  if (post === undefined) return undefined;
  const edits = entries.filter((entry) => entry.method === 'chat.update' && entry.ts === thread.ts);
  const current = edits.at(-1) ?? post;
  return { postedAt: tsToDate(post.ts), resolved: saysResolved(current) };
}

export function createSlackWatch(observation: SlackObservation): SlackWatch {
  return observation.kind === 'outbox'
    ? outboxWatch(observation.dir)
    : slackApiWatch(observation.apiUrl, observation.token, observation.channel);
}

function outboxWatch(dir: string): SlackWatch {
  return {
    where: `the outbox ${dir}`,
    async root(thread) {
      if (!SLACK_TS.test(thread.ts)) return undefined;
      const folder = await outboxFolder(dir);
      let names: string[];
      try {
        names = (await readdir(folder)).filter((name) => name.endsWith('.json')).sort();
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
      // File names start with the time of sending: only those from a minute before the root's ts on.
      const from = fileTimePrefix(new Date(tsToDate(thread.ts).getTime() - 60_000));
      const recent = names.filter((name) => name >= from).slice(0, MAX_OUTBOX_FILES_READ);
      const entries: OutboxEntry[] = [];
      for (const name of recent) {
        const path = join(folder, name);
        const info = await stat(path).catch(() => undefined);
        if (info === undefined || !info.isFile() || info.size > MAX_OUTBOX_FILE_BYTES) continue;
        const parsed = outboxEntrySchema.safeParse(parseJson(await readFile(path, 'utf8')));
        if (parsed.success) entries.push(parsed.data);
      }
      return rootFromOutbox(entries, thread);
    },
  };
}

/** The folder of the outbox files: `dir` itself, or `dir/outbox/slack` when given a data directory. */
async function outboxFolder(dir: string): Promise<string> {
  const nested = join(dir, 'outbox', 'slack');
  const info = await stat(nested).catch(() => undefined);
  return info?.isDirectory() ? nested : dir;
}

/** The outbox file name prefix of an instant: `2026-12-06T10-41-37-123Z`. */
export function fileTimePrefix(at: Date): string {
  return at.toISOString().replace(/[:.]/g, '-');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const historySchema = z.object({
  ok: z.boolean(),
  error: z.string().max(200).optional(),
  messages: z
    .array(
      z.object({
        ts: z.string().max(40),
        text: z.string().max(100_000).optional(),
        blocks: z.array(z.unknown()).max(100).optional(),
      }),
    )
    .max(10)
    .optional(),
});

function slackApiWatch(apiUrl: string, token: string, channel: string): SlackWatch {
  let client: Promise<import('@slack/web-api').WebClient> | undefined;
  const webClient = () => {
    client ??= import('@slack/web-api').then(
      ({ WebClient }) =>
        new WebClient(token, {
          slackApiUrl: apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`,
          retryConfig: { retries: 2, factor: 2, minTimeout: 1000, maxTimeout: 5000 },
          timeout: 10_000,
        }),
    );
    return client;
  };
  return {
    where: `Slack channel ${channel}`,
    async root(thread) {
      if (!SLACK_TS.test(thread.ts)) return undefined;
      const where = SLACK_CHANNEL_ID.test(thread.channel) ? thread.channel : channel;
      const answer = await (await webClient()).conversations.history({
        channel: where,
        latest: thread.ts,
        oldest: thread.ts,
        inclusive: true,
        limit: 1,
      });
      const parsed = historySchema.safeParse(answer);
      if (!parsed.success || !parsed.data.ok) {
        throw new Error(
          `Slack conversations.history answered ${parsed.success ? (parsed.data.error ?? 'not ok') : 'an unexpected shape'}`,
        );
      }
      const message = parsed.data.messages?.find((candidate) => candidate.ts === thread.ts);
      if (message === undefined) return undefined;
      return {
        postedAt: tsToDate(message.ts),
        resolved: saysResolved(message),
      };
    },
  };
}
