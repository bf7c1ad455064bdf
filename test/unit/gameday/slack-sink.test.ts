import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  MAX_SINK_BODY_BYTES,
  readSinkMessages,
  type SlackSink,
  startSlackSink,
} from '../../../bin/gameday/slack-sink.js';

async function post(sink: SlackSink, path: string, body: string) {
  const response = await fetch(`${sink.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  return { status: response.status, text: await response.text() };
}

describe('Slack sink', () => {
  let dir: string;
  let sink: SlackSink;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'toilless-slack-sink-'));
    sink = await startSlackSink(join(dir, 'sink'));
  });

  afterEach(async () => {
    await sink.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("records an Alertmanager Slack message under its receiver and answers as Slack's webhook does", async () => {
    // Prepare
    const message = {
      channel: '#sample-app',
      username: 'Alertmanager',
      attachments: [{ title: '[FIRING:1] HighLatencyP95', text: 'p95 is 1.2s', color: 'danger' }],
    };

    // Act
    const answer = await post(sink, '/slack/slack-app', JSON.stringify(message));
    const recorded = await readSinkMessages(sink.dir);

    // Assess
    expect(answer).toEqual({ status: 200, text: 'ok' });
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ kind: 'slack', receiver: 'slack-app', body: message });
    expect(Date.parse(recorded[0]?.receivedAt ?? '')).not.toBeNaN();
  });

  it('records any JSON posted to a webhook receiver, oldest first', async () => {
    // Act
    await post(sink, '/webhook/watchdog', JSON.stringify({ status: 'firing', n: 1 }));
    await post(sink, '/webhook/watchdog', JSON.stringify({ status: 'firing', n: 2 }));

    // Assess
    const recorded = await readSinkMessages(sink.dir);
    expect(recorded.map((message) => (message.body as { n: number }).n)).toEqual([1, 2]);
    expect(await readdir(join(sink.dir, 'webhook', 'watchdog'))).toHaveLength(2);
  });

  it('refuses what is not a message, records nothing and says why', async () => {
    // Act
    const notJson = await post(sink, '/slack/slack', '{"text":');
    const notSlack = await post(sink, '/slack/slack', JSON.stringify({ attachments: 'nope' }));
    const tooLarge = await post(
      sink,
      '/slack/slack',
      JSON.stringify({ text: 'x'.repeat(MAX_SINK_BODY_BYTES) }),
    );
    const unknownPath = await post(sink, '/slack/../../etc', '{}');
    const get = await fetch(`${sink.url}/slack/slack`);

    // Assess
    expect(notJson).toEqual({ status: 400, text: 'invalid_payload: the body is not JSON' });
    expect(notSlack).toEqual({ status: 400, text: 'invalid_payload: not a Slack incoming-webhook message' });
    expect(tooLarge.status).toBe(413);
    expect(unknownPath.status).toBe(404);
    expect(get.status).toBe(405);
    expect(await readSinkMessages(sink.dir)).toEqual([]);
  });
});
