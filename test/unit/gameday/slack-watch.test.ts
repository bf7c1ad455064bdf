import { rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSlackWatch } from '../../../bin/gameday/slack-watch.js';
import { FsObjectStore } from '../../../functions/shared/adapters/local/fs-object-store.js';
import { OutboxNotifier } from '../../../functions/shared/adapters/local/outbox-notifier.js';
import { createTempDir } from '../../support/process.js';

let dir: string;

beforeEach(async () => {
  dir = await createTempDir('gameday-slack');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('Slack as the game day sees it', () => {
  it('finds the root message in the outbox the local notifier writes, then its edit to Resolved', async () => {
    // Prepare: the outbox as toilless serve writes it without a Slack token.
    const notifier = new OutboxNotifier({ store: new FsObjectStore(dir), channel: '#toilless' });
    const root = await notifier.post({ text: ':rotating_light: Open: HighCPUWarning on node' });
    await notifier.reply(root, { text: 'timeline so far' });
    const watch = createSlackWatch({ kind: 'outbox', dir: join(dir, 'outbox', 'slack') });

    // Act, Assess
    const open = await watch.root(root);
    expect(open?.resolved).toBe(false);
    expect(Math.abs((open?.postedAt.getTime() ?? 0) - Date.now())).toBeLessThan(60_000);
    await notifier.update(root, { text: ':white_check_mark: Resolved: HighCPUWarning on node' });
    expect((await watch.root(root))?.resolved).toBe(true);
    // Given the data directory instead of the outbox folder, it finds the same.
    expect((await createSlackWatch({ kind: 'outbox', dir }).root(root))?.resolved).toBe(true);
  });

  it('answers nothing for a thread it has no message of', async () => {
    const watch = createSlackWatch({ kind: 'outbox', dir: join(dir, 'outbox', 'slack') });
    expect(await watch.root({ channel: '#toilless', ts: '1796556360.000100' })).toBeUndefined();
  });

  describe('through the Web API', () => {
    let server: Server;
    let url: string;
    const asked: URLSearchParams[] = [];

    beforeEach(async () => {
      server = createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
          const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
          asked.push(form);
          const messages =
            form.get('latest') === '1796556360.000100'
              ? [
                  {
                    ts: '1796556360.000100',
                    text: 'fallback',
                    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*Status*\nResolved' } }],
                  },
                ]
              : [];
          response
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ ok: true, messages }));
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`;
    });

    afterEach(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    it('reads the root with conversations.history, exactly that ts, and sees Resolved in its blocks', async () => {
      const watch = createSlackWatch({
        kind: 'slack-api',
        apiUrl: url,
        token: 'xoxb-test',
        channel: 'C0123',
      });
      const root = await watch.root({ channel: 'C0999', ts: '1796556360.000100' });
      expect(root).toEqual({ postedAt: new Date(1_796_556_360_000), resolved: true });
      expect(Object.fromEntries(asked.at(-1) ?? [])).toMatchObject({
        channel: 'C0999',
        latest: '1796556360.000100',
        oldest: '1796556360.000100',
        inclusive: 'true',
        limit: '1',
      });
      expect(await watch.root({ channel: 'C0999', ts: '1796556999.000100' })).toBeUndefined();
    });
  });
});
