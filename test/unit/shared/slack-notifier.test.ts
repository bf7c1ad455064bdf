import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SlackNotifier } from '../../../functions/shared/adapters/slack/slack-notifier.js';
import { UpstreamError } from '../../../functions/shared/errors.js';
import { captureLog } from '../../support/captured-log.js';
import { rejection } from '../../support/expected-errors.js';
import { type SlackApiServer, startSlackApiServer } from '../../support/slack-api-server.js';

describe('Slack notifier', () => {
  let slack: SlackApiServer;
  let notifier: SlackNotifier;

  beforeEach(async () => {
    slack = await startSlackApiServer({ channels: ['toilless', 'incidents'] });
    notifier = new SlackNotifier({
      token: slack.token,
      channel: '#toilless',
      apiUrl: slack.url,
      maxRetries: 2,
    });
  });

  afterEach(async () => {
    await slack.close();
  });

  it('posts to the default channel and answers with the channel id Slack returned', async () => {
    // Prepare
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*HighErrorRate* firing' } }];

    // Act
    const ref = await notifier.post({ text: 'HighErrorRate firing', blocks });

    // Assess
    expect(ref.channel).toBe(slack.channelId('toilless'));
    expect(ref.ts).toMatch(/^\d+\.\d{6}$/);
    expect(slack.messages('#toilless')).toEqual([
      expect.objectContaining({ ts: ref.ts, text: 'HighErrorRate firing', blocks }),
    ]);
  });

  it('posts to the channel a message names instead of the default', async () => {
    // Act
    const ref = await notifier.post({ text: 'deploy recorded', channel: '#incidents' });

    // Assess
    expect(ref.channel).toBe(slack.channelId('incidents'));
    expect(slack.messages('#toilless')).toEqual([]);
  });

  it('replies in the thread of the root message', async () => {
    // Prepare
    const root = await notifier.post({ text: 'incident opened' });

    // Act
    const reply = await notifier.reply(root, { text: 'error rate 12%' });

    // Assess
    expect(reply.channel).toBe(root.channel);
    expect(reply.ts).not.toBe(root.ts);
    const [first, second] = slack.messages('#toilless');
    expect(first).toEqual(expect.objectContaining({ ts: root.ts, text: 'incident opened' }));
    expect(first?.thread_ts).toBeUndefined();
    expect(second).toEqual(
      expect.objectContaining({ ts: reply.ts, thread_ts: root.ts, text: 'error rate 12%' }),
    );
  });

  it('edits the root message on update and keeps its ts', async () => {
    // Prepare
    const root = await notifier.post({ text: 'incident opened' });
    const resolvedBlocks = [
      { type: 'section', text: { type: 'mrkdwn', text: ':white_check_mark: resolved' } },
    ];

    // Act
    const updated = await notifier.update(root, { text: 'incident resolved', blocks: resolvedBlocks });

    // Assess
    expect(updated).toEqual(root);
    const messages = slack.messages('#toilless');
    expect(messages).toHaveLength(1);
    expect(messages[0]).toEqual(
      expect.objectContaining({ ts: root.ts, text: 'incident resolved', blocks: resolvedBlocks }),
    );
    expect(messages[0]?.edited).toBeDefined();
  });

  it('refuses to update a message that does not exist', async () => {
    // Act
    const error = await rejection(
      notifier.update({ channel: slack.channelId('toilless'), ts: '1700000000.000001' }, { text: 'x' }),
    );

    // Assess
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).message).toContain('chat.update: message_not_found');
  });

  it('uploads a file into a thread with its bytes intact', async () => {
    // Prepare
    const root = await notifier.post({ text: 'weekly report' });
    const content = Buffer.concat([
      Buffer.from('%PDF-1.7\n'),
      randomBytes(200_000),
      Buffer.from([0, 255, 0]),
    ]);

    // Act
    const { fileId } = await notifier.upload({
      filename: 'report.pdf',
      title: 'Weekly report 2026-W48',
      content,
      initialComment: 'This week in reliability',
      channel: root.channel,
      threadTs: root.ts,
    });

    // Assess
    const [file] = slack.files();
    expect(file?.id).toBe(fileId);
    expect(file?.content?.equals(content)).toBe(true);
    expect(file).toEqual(
      expect.objectContaining({
        filename: 'report.pdf',
        title: 'Weekly report 2026-W48',
        length: content.length,
        channel: root.channel,
        thread_ts: root.ts,
        completed: true,
      }),
    );
    expect(slack.messages('#toilless')[1]).toEqual(
      expect.objectContaining({ thread_ts: root.ts, text: 'This week in reliability', files: [fileId] }),
    );
    expect(slack.calls.map((c) => c.method).slice(-3)).toEqual([
      'files.getUploadURLExternal',
      'upload',
      'files.completeUploadExternal',
    ]);
  });

  it('uploads to a channel given by name by looking its id up first', async () => {
    // Act
    await notifier.upload({ filename: 'report.pdf', content: Buffer.from('%PDF-1.7') });

    // Assess
    expect(slack.calls[0]?.method).toBe('conversations.list');
    const complete = slack.calls.find((c) => c.method === 'files.completeUploadExternal');
    expect(complete?.params.channel_id).toBe(slack.channelId('toilless'));
    expect(slack.files()[0]?.channel).toBe(slack.channelId('toilless'));
  });

  it('waits out a 429 for as long as Retry-After asks, then succeeds', async () => {
    // Prepare
    slack.failNext({ status: 429, retryAfterSeconds: 1 });
    const started = performance.now();

    // Act
    const ref = await notifier.post({ text: 'after the rate limit' });

    // Assess
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    const attempts = slack.calls.filter((c) => c.method === 'chat.postMessage');
    expect(attempts.map((c) => c.status)).toEqual([429, 200]);
    expect(attempts[1]!.at.getTime() - attempts[0]!.at.getTime()).toBeGreaterThanOrEqual(1000);
    expect(slack.messages('#toilless')).toEqual([expect.objectContaining({ ts: ref.ts })]);
  });

  it('gives up on a persistent 5xx with an UpstreamError within a bounded time', async () => {
    // Prepare
    const impatient = new SlackNotifier({
      token: slack.token,
      channel: '#toilless',
      apiUrl: slack.url,
      maxRetries: 1,
    });
    slack.failNext({ status: 503 }, { times: 100 });
    const started = performance.now();

    // Act
    const error = await rejection(impatient.post({ text: 'during the outage' }));

    // Assess
    expect(performance.now() - started).toBeLessThan(5000);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ service: 'slack', status: 503 });
    expect((error as Error).message).toContain('chat.postMessage: HTTP 503');
    expect(slack.calls.map((c) => c.status)).toEqual([503, 503]);
  });

  it('turns a Slack error into an UpstreamError that names the method and the error', async () => {
    // Act
    const error = await rejection(notifier.post({ text: 'lost', channel: '#does-not-exist' }));

    // Assess
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ service: 'slack', status: 200 });
    expect((error as Error).message).toMatch(/^slack: chat\.postMessage: channel_not_found/);
    expect(slack.calls).toHaveLength(1);
  });

  it('passes on an injected Slack error such as missing_scope with the scope to add', async () => {
    // Prepare
    slack.failNext({ error: 'missing_scope', extra: { needed: 'chat:write', provided: 'channels:read' } });

    // Act
    const error = await rejection(notifier.post({ text: 'no scope' }));

    // Assess
    expect((error as Error).message).toBe(
      'slack: chat.postMessage: missing_scope (add the chat:write scope)',
    );
  });

  it('fails clearly when the token is wrong', async () => {
    // Prepare
    const wrong = new SlackNotifier({ token: 'xoxb-not-the-token', channel: '#toilless', apiUrl: slack.url });

    // Act
    const error = await rejection(wrong.post({ text: 'hello' }));

    // Assess
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as Error).message).toContain('chat.postMessage: invalid_auth');
    expect((error as Error).message).toContain('SLACK_BOT_TOKEN');
    expect((error as Error).message).not.toContain('xoxb-not-the-token');
    expect(slack.messages()).toEqual([]);
  });

  it('never writes the token into its logs', async () => {
    // Prepare
    const log = captureLog('slack-test');
    const logged = new SlackNotifier({
      token: slack.token,
      channel: '#toilless',
      apiUrl: slack.url,
      logger: log.logger,
      maxRetries: 1,
    });
    slack.failNext({ status: 429, retryAfterSeconds: 1 });

    // Act
    const root = await logged.post({ text: 'root' });
    await logged.upload({ filename: 'a.txt', content: Buffer.from('hello'), channel: root.channel });
    await rejection(logged.post({ text: 'x', channel: '#does-not-exist' }));

    // Assess
    const output = log.text();
    expect(output).toContain('http request');
    expect(output).toContain('Retry-After');
    expect(output).not.toContain(slack.token);
  });
});
