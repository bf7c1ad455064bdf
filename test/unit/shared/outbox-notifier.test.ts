import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../../functions/shared/adapters/local/fs-object-store.js';
import {
  type OutboxEntry,
  OutboxNotifier,
} from '../../../functions/shared/adapters/local/outbox-notifier.js';
import { createNotifier } from '../../../functions/shared/adapters/slack/create-notifier.js';
import type { Clock } from '../../../functions/shared/ports/clock.js';
import type { ObjectStore } from '../../../functions/shared/ports/object-store.js';
import { startSlackApiServer } from '../../support/slack-api-server.js';

/** A clock that moves only when told to, so that keys and ts values are predictable. */
function manualClock(start: string): Clock & { advance(ms: number): void } {
  let now = new Date(start).getTime();
  return {
    now: () => new Date(now),
    sleep: async (ms) => {
      now += ms;
    },
    advance: (ms) => {
      now += ms;
    },
  };
}

async function outboxKeys(store: ObjectStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of store.list('outbox/slack/')) keys.push(key);
  return keys;
}

async function outboxEntries(store: ObjectStore): Promise<OutboxEntry[]> {
  const entries: OutboxEntry[] = [];
  for (const key of await outboxKeys(store)) {
    if (!key.endsWith('.json')) continue;
    const object = await store.get(key);
    entries.push(JSON.parse(object!.body.toString('utf8')) as OutboxEntry);
  }
  return entries;
}

describe('Outbox notifier', () => {
  let dataDir: string;
  let store: FsObjectStore;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'toilless-outbox-'));
    store = new FsObjectStore(dataDir);
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('writes each message as a JSON file under outbox/slack/ in the order sent', async () => {
    // Prepare
    const clock = manualClock('2026-11-28T10:15:30.123Z');
    const outbox = new OutboxNotifier({ store, channel: '#toilless', clock });

    // Act
    await outbox.post({ text: 'first' });
    await outbox.post({ text: 'second', channel: '#incidents' });
    clock.advance(1500);
    await outbox.post({ text: 'third' });

    // Assess
    expect(await outboxKeys(store)).toEqual([
      'outbox/slack/2026-11-28T10-15-30-123Z-000001-chat.postMessage.json',
      'outbox/slack/2026-11-28T10-15-30-123Z-000002-chat.postMessage.json',
      'outbox/slack/2026-11-28T10-15-31-623Z-000003-chat.postMessage.json',
    ]);
    const entries = await outboxEntries(store);
    expect(entries.map((e) => [e.method, e.channel, e.text])).toEqual([
      ['chat.postMessage', '#toilless', 'first'],
      ['chat.postMessage', '#incidents', 'second'],
      ['chat.postMessage', '#toilless', 'third'],
    ]);
  });

  it('gives Slack-like ts values that stay strictly increasing when the clock stands still', async () => {
    // Prepare
    const outbox = new OutboxNotifier({
      store,
      channel: '#toilless',
      clock: manualClock('2026-11-28T10:15:30Z'),
    });

    // Act
    const refs = [
      await outbox.post({ text: 'a' }),
      await outbox.post({ text: 'b' }),
      await outbox.post({ text: 'c' }),
    ];

    // Assess
    expect(refs.map((r) => r.ts)).toEqual(['1795860930.000000', '1795860930.000001', '1795860930.000002']);
  });

  it('threads a reply under the root ts', async () => {
    // Prepare
    const outbox = new OutboxNotifier({ store, channel: '#toilless' });
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: 'error rate *12%*' } }];
    const root = await outbox.post({ text: 'incident opened' });

    // Act
    const reply = await outbox.reply(root, { text: 'error rate 12%', blocks });

    // Assess
    expect(reply.channel).toBe(root.channel);
    expect(Number(reply.ts)).toBeGreaterThan(Number(root.ts));
    const [rootEntry, replyEntry] = await outboxEntries(store);
    expect(rootEntry?.thread_ts).toBeUndefined();
    expect(replyEntry).toEqual({
      method: 'chat.postMessage',
      channel: '#toilless',
      ts: reply.ts,
      thread_ts: root.ts,
      text: 'error rate 12%',
      blocks,
    });
  });

  it('records an update against the message it edits', async () => {
    // Prepare
    const outbox = new OutboxNotifier({ store, channel: '#toilless' });
    const root = await outbox.post({ text: 'incident opened' });

    // Act
    const updated = await outbox.update(root, { text: 'incident resolved' });

    // Assess
    expect(updated).toEqual(root);
    const keys = await outboxKeys(store);
    expect(keys[1]).toMatch(/-000002-chat\.update\.json$/);
    const [, updateEntry] = await outboxEntries(store);
    expect(updateEntry).toEqual({
      method: 'chat.update',
      channel: '#toilless',
      ts: root.ts,
      text: 'incident resolved',
    });
  });

  it('stores an upload with its bytes beside the entry', async () => {
    // Prepare
    const outbox = new OutboxNotifier({ store, channel: '#toilless' });
    const root = await outbox.post({ text: 'weekly report' });
    const content = Buffer.from([0x25, 0x50, 0x44, 0x46, 0x00, 0xff, 0x0a, 0x00]);

    // Act
    const { fileId } = await outbox.upload({
      filename: 'report.pdf',
      title: 'Weekly report',
      content,
      initialComment: 'This week in reliability',
      channel: root.channel,
      threadTs: root.ts,
    });

    // Assess
    expect(fileId).toMatch(/^F[0-9A-Z]+$/);
    const [, uploadEntry] = await outboxEntries(store);
    expect(uploadEntry).toEqual(
      expect.objectContaining({
        method: 'files.uploadV2',
        channel: '#toilless',
        thread_ts: root.ts,
        text: 'This week in reliability',
        initial_comment: 'This week in reliability',
        filename: 'report.pdf',
        title: 'Weekly report',
        bytes: content.length,
      }),
    );
    expect(uploadEntry?.file_key).toMatch(/^outbox\/slack\/.*-000002-files\.uploadV2-report\.pdf$/);
    const stored = await store.get(uploadEntry!.file_key!);
    expect(stored?.body.equals(content)).toBe(true);
  });

  it('writes every outbox file without a flush to disk, the bytes of an upload before its entry', async () => {
    // Prepare
    const flushes: string[] = [];
    const recording: ObjectStore = Object.assign(Object.create(store) as FsObjectStore, {
      put: (key: string, body: Buffer | string, options?: { flush?: boolean }) => {
        flushes.push(`${options?.flush ?? true} ${key.replace(/^.*-\d{6}-/, '')}`);
        return store.put(key, body, options);
      },
    });
    const outbox = new OutboxNotifier({ store: recording, channel: '#toilless' });

    // Act
    const root = await outbox.post({ text: 'incident opened' });
    await outbox.update(root, { text: 'incident resolved' });
    await outbox.upload({ filename: 'report.pdf', content: Buffer.from('%PDF') });

    // Assess
    expect(flushes).toEqual([
      'false chat.postMessage.json',
      'false chat.update.json',
      'false files.uploadV2-report.pdf',
      'false files.uploadV2.json',
    ]);
  });

  it('keeps a file name that is not a safe key segment inside the outbox', async () => {
    // Prepare
    const outbox = new OutboxNotifier({ store, channel: '#toilless' });

    // Act
    await outbox.upload({ filename: '../../etc/passwd', content: Buffer.from('x') });

    // Assess
    const keys = await outboxKeys(store);
    expect(keys).toHaveLength(2);
    for (const key of keys) expect(key.split('/')).toHaveLength(3);
  });
});

describe('Notifier choice', () => {
  let dataDir: string;
  let store: FsObjectStore;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'toilless-notifier-'));
    store = new FsObjectStore(dataDir);
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('writes to the outbox when no Slack token is set', async () => {
    // Prepare
    const notifier = createNotifier({ token: '', channel: '#toilless', store });

    // Act
    await notifier.post({ text: 'no Slack here' });

    // Assess
    expect(await outboxEntries(store)).toEqual([
      expect.objectContaining({ method: 'chat.postMessage', text: 'no Slack here' }),
    ]);
  });

  it('posts to Slack when a token is set, and leaves the outbox empty', async () => {
    // Prepare
    const slack = await startSlackApiServer();
    try {
      const notifier = createNotifier({ token: slack.token, channel: '#toilless', apiUrl: slack.url, store });

      // Act
      const ref = await notifier.post({ text: 'to Slack' });

      // Assess
      expect(ref.channel).toBe(slack.channelId('toilless'));
      expect(slack.messages('#toilless')).toEqual([expect.objectContaining({ text: 'to Slack' })]);
      expect(await outboxKeys(store)).toEqual([]);
    } finally {
      await slack.close();
    }
  });
});
