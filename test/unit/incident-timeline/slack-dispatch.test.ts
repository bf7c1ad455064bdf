import { describe, expect, it } from 'vitest';
import { linkPolicy } from '../../../functions/incident-timeline/incident-links.js';
import type { IncidentTimeline, SlackWork } from '../../../functions/incident-timeline/model.js';
import { sendPendingSlack } from '../../../functions/incident-timeline/slack-dispatch.js';
import { silentLogger } from '../../../functions/shared/log.js';
import type { FileUpload, Message, MessageRef, Notifier } from '../../../functions/shared/ports/notifier.js';
import { parseToillessConfig } from '../../../functions/shared/stack-config.js';
import { openedTimeline } from './timelines.js';

const config = parseToillessConfig('links:\n  grafanaUrl: https://grafana.example.com\n');
const links = linkPolicy(config);

type Call =
  | { readonly method: 'post'; readonly message: Message }
  | { readonly method: 'reply'; readonly thread: MessageRef; readonly message: Message }
  | { readonly method: 'update'; readonly ref: MessageRef; readonly message: Message }
  | { readonly method: 'upload'; readonly file: FileUpload };

/** Keeps every call in order; `failOn` makes the calls of one method fail, as a Slack outage would. */
class RecordingNotifier implements Notifier {
  readonly calls: Call[] = [];
  failOn: Call['method'] | undefined;
  private seq = 0;

  private check(method: Call['method']): void {
    if (this.failOn === method) throw new Error(`slack ${method} failed: ratelimited`);
  }
  async post(message: Message): Promise<MessageRef> {
    this.check('post');
    this.calls.push({ method: 'post', message });
    return { channel: 'C0TOILLESS', ts: `1700000000.00000${++this.seq}` };
  }
  async reply(thread: MessageRef, message: Message): Promise<MessageRef> {
    this.check('reply');
    this.calls.push({ method: 'reply', thread, message });
    return { channel: thread.channel, ts: `1700000001.00000${++this.seq}` };
  }
  async update(ref: MessageRef, message: Message): Promise<MessageRef> {
    this.check('update');
    this.calls.push({ method: 'update', ref, message });
    return ref;
  }
  async upload(file: FileUpload): Promise<{ readonly fileId: string }> {
    this.check('upload');
    this.calls.push({ method: 'upload', file });
    return { fileId: `F${++this.seq}` };
  }
}

function work(id: string, kind: SlackWork['kind'], text?: string): SlackWork {
  return { id, kind, attempts: 0, ...(text === undefined ? {} : { message: { text } }) };
}

function withSlack(
  timeline: IncidentTimeline,
  pending: readonly SlackWork[],
  thread?: { channel: string; ts: string },
): IncidentTimeline {
  return { ...timeline, slack: { ...(thread ? { thread } : {}), pending } };
}

const THREAD = { channel: 'C0TOILLESS', ts: '1699999999.000001' };

describe('Slack dispatch', () => {
  it('posts the root message first and replies in its thread', async () => {
    // Prepare
    const notifier = new RecordingNotifier();
    const timeline = withSlack(await openedTimeline(), [
      work('root', 'post-root'),
      work('reply:summary', 'reply', 'the summary'),
    ]);

    // Act
    const outcome = await sendPendingSlack({ notifier, config, links, logger: silentLogger }, timeline);

    // Assess
    expect(outcome).toEqual({
      slackDone: ['root', 'reply:summary'],
      thread: { channel: 'C0TOILLESS', ts: '1700000000.000001' },
    });
    expect(notifier.calls.map((call) => call.method)).toEqual(['post', 'reply']);
    const [post, reply] = notifier.calls;
    expect(post?.method === 'post' && post.message.text).toContain('sample-app');
    expect(reply).toEqual({
      method: 'reply',
      thread: { channel: 'C0TOILLESS', ts: '1700000000.000001' },
      message: { text: 'the summary' },
    });
  });

  it('does not post a second root for an incident that already has its thread', async () => {
    // Prepare
    const notifier = new RecordingNotifier();
    const timeline = withSlack(await openedTimeline(), [work('root', 'post-root')], THREAD);

    // Act
    const outcome = await sendPendingSlack({ notifier, config, links, logger: silentLogger }, timeline);

    // Assess
    expect(outcome).toEqual({ slackDone: ['root'] });
    expect(notifier.calls).toEqual([]);
  });

  it('leaves replies pending while there is no root to reply to', async () => {
    // Prepare
    const notifier = new RecordingNotifier();
    const timeline = withSlack(await openedTimeline(), [
      work('reply:n1', 'reply', 'escalated'),
      work('upload:timeline', 'upload-timeline'),
    ]);

    // Act
    const outcome = await sendPendingSlack({ notifier, config, links, logger: silentLogger }, timeline);

    // Assess
    expect(outcome).toEqual({ slackDone: [] });
    expect(notifier.calls).toEqual([]);
  });

  it('stops at the first failure, naming it, and keeps the root it posted before', async () => {
    // Prepare
    const notifier = new RecordingNotifier();
    notifier.failOn = 'reply';
    const timeline = withSlack(await openedTimeline(), [
      work('root', 'post-root'),
      work('reply:summary', 'reply', 'the summary'),
      work('update-root:resolved', 'update-root'),
    ]);

    // Act
    const outcome = await sendPendingSlack({ notifier, config, links, logger: silentLogger }, timeline);

    // Assess
    expect(outcome).toEqual({
      slackDone: ['root'],
      thread: { channel: 'C0TOILLESS', ts: '1700000000.000001' },
      slackFailure: { id: 'reply:summary', error: 'slack reply failed: ratelimited' },
    });
    expect(notifier.calls.map((call) => call.method)).toEqual(['post']);
  });

  it('edits the root, replies with the title when a reply has no message, and uploads timeline.md in the thread', async () => {
    // Prepare
    const notifier = new RecordingNotifier();
    const opened = await openedTimeline();
    const timeline = withSlack(
      { ...opened, title: 'Checkout <!channel> down & out' },
      [
        work('update-root:resolved', 'update-root'),
        work('reply:bare', 'reply'),
        work('upload:timeline', 'upload-timeline'),
      ],
      THREAD,
    );

    // Act
    const outcome = await sendPendingSlack({ notifier, config, links, logger: silentLogger }, timeline);

    // Assess
    expect(outcome).toEqual({ slackDone: ['update-root:resolved', 'reply:bare', 'upload:timeline'] });
    const [update, reply, upload] = notifier.calls;
    expect(update).toMatchObject({ method: 'update', ref: THREAD });
    expect(reply).toMatchObject({ method: 'reply', thread: THREAD });
    expect(reply?.method === 'reply' && reply.message.text).toContain(
      'Checkout &lt;!channel&gt; down &amp; out',
    );
    expect(upload?.method).toBe('upload');
    const file = upload?.method === 'upload' ? upload.file : undefined;
    expect(file).toMatchObject({
      filename: `${timeline.id}.md`,
      title: 'Timeline: Checkout ‹!channel› down & out',
      channel: THREAD.channel,
      threadTs: THREAD.ts,
    });
    expect(file?.content.toString('utf8')).toMatch(/^# /);
  });
});
