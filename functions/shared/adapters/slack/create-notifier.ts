import { type Logger, silentLogger } from '../../log.js';
import type { Notifier } from '../../ports/notifier.js';
import type { ObjectStore } from '../../ports/object-store.js';
import { OUTBOX_PREFIX, OutboxNotifier } from '../local/outbox-notifier.js';
import { SlackNotifier } from './slack-notifier.js';

export interface NotifierSettings {
  /** SLACK_BOT_TOKEN; without one, messages go to the outbox in the store. */
  readonly token?: string;
  /** SLACK_CHANNEL: a channel name like '#toilless' or an id. */
  readonly channel: string;
  /** SLACK_API_URL. @default 'https://slack.com/api/' */
  readonly apiUrl?: string;
  /** Where the outbox is written when there is no token. */
  readonly store: ObjectStore;
  readonly logger?: Logger;
}

/** Slack when a bot token is set, the store's outbox otherwise, so that a local run needs no Slack app. */
export function createNotifier(settings: NotifierSettings): Notifier {
  const logger = settings.logger ?? silentLogger;
  if (settings.token) {
    logger.info({ channel: settings.channel }, 'notifications go to Slack');
    return new SlackNotifier({
      token: settings.token,
      channel: settings.channel,
      logger,
      ...(settings.apiUrl ? { apiUrl: settings.apiUrl } : {}),
    });
  }
  logger.info(
    { channel: settings.channel, outbox: OUTBOX_PREFIX },
    `SLACK_BOT_TOKEN is not set: notifications are written to ${OUTBOX_PREFIX} in the store instead of Slack`,
  );
  return new OutboxNotifier({ store: settings.store, channel: settings.channel });
}
