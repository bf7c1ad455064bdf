/**
 * The pending Slack work of an incident, done in order: the root message first, then replies, edits
 * and the timeline upload in its thread. The first failure stops the round; what failed and what is
 * behind it stay pending for the next update.
 */
import type { Logger } from '../shared/log.js';
import type { Notifier } from '../shared/ports/notifier.js';
import type { ToillessConfig } from '../shared/stack-config.js';
import type { LinkPolicy } from './incident-links.js';
import type { IncidentTimeline } from './model.js';
import type { WorkOutcome } from './pending-work.js';
import { plainText, rootMessage, titleReply } from './slack-messages.js';
import { renderTimelineMarkdown } from './timeline-markdown.js';

export interface SlackDispatchDependencies {
  readonly notifier: Notifier;
  /** stack-config/toilless.yaml: the links the messages and timeline.md carry. */
  readonly config: ToillessConfig;
  /** Which links from alerts are shown as links. */
  readonly links: LinkPolicy;
  readonly logger: Logger;
}

/** What one round of Slack work did, for recordWorkOutcome. */
export type SlackOutcome = Omit<WorkOutcome, 'eventsPublished' | 'eventsFailed'>;

/** Does the timeline's pending Slack work in order until it is done or a call fails (logged, not thrown). */
export async function sendPendingSlack(
  deps: SlackDispatchDependencies,
  timeline: IncidentTimeline,
): Promise<SlackOutcome> {
  const { notifier, config, links, logger } = deps;
  const done: string[] = [];
  let thread = timeline.slack.thread;
  let posted: { channel: string; ts: string } | undefined;
  for (const work of timeline.slack.pending) {
    try {
      if (work.kind === 'post-root') {
        if (!thread) {
          const ref = await notifier.post(rootMessage(timeline, config, links));
          thread = posted = { channel: ref.channel, ts: ref.ts };
        }
      } else if (!thread) {
        break; // nothing to reply to until the root is posted
      } else if (work.kind === 'reply') {
        await notifier.reply(thread, work.message ?? titleReply(timeline));
      } else if (work.kind === 'update-root') {
        await notifier.update(thread, rootMessage(timeline, config, links));
      } else {
        await notifier.upload({
          filename: `${timeline.id}.md`,
          title: `Timeline: ${plainText(timeline.title)}`,
          content: Buffer.from(renderTimelineMarkdown(timeline, config, links), 'utf8'),
          channel: thread.channel,
          threadTs: thread.ts,
        });
      }
      done.push(work.id);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      logger.warn(
        { err: error, incidentId: timeline.id, work: work.id, attempts: work.attempts + 1 },
        'Slack update failed: the timeline is stored and the Slack work stays pending until the next update',
      );
      return {
        slackDone: done,
        ...(posted ? { thread: posted } : {}),
        slackFailure: { id: work.id, error: message },
      };
    }
  }
  return { slackDone: done, ...(posted ? { thread: posted } : {}) };
}
