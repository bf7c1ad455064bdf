import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAlertmanagerWebhook } from '../../../functions/alertmanager-webhook/intake.js';
import {
  FileEventQueue,
  type QueueFileOpener,
} from '../../../functions/shared/adapters/local/file-event-queue.js';
import { FsObjectStore } from '../../../functions/shared/adapters/local/fs-object-store.js';
import { InProcessEventBus } from '../../../functions/shared/adapters/local/in-process-bus.js';
import type { WebhookRequest } from '../../../functions/shared/http/webhook.js';
import { silentLogger } from '../../../functions/shared/log.js';
import { systemClock } from '../../../functions/shared/ports/clock.js';
import { StaticSecretSource } from '../../../functions/shared/ports/secrets.js';
import { createTempDir } from '../../support/process.js';
import { waitFor } from '../../support/wait.js';

const TOKEN = 'full-disk-token';

/** Real segment files whose writes fail with ENOSPC once `full` is set, after writing `partialBytes`. */
function diskThatFills(state: { full: boolean; partialBytes: number }): QueueFileOpener {
  return async (path, flags) => {
    const file = await open(path, flags);
    return {
      async write(buffer, offset, length) {
        if (!state.full) return file.write(buffer, offset, length);
        await file.write(buffer, offset, Math.min(length, state.partialBytes));
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      },
      read: (buffer, offset, length, position) => file.read(buffer, offset, length, position),
      datasync: () => file.datasync(),
      truncate: (length) => file.truncate(length),
      close: () => file.close(),
    };
  };
}

async function notification(group: string): Promise<WebhookRequest> {
  const fixture = new URL('../../fixtures/alertmanager/firing-fastburnrate.json', import.meta.url);
  const { headers, body } = JSON.parse(await readFile(fixture, 'utf8')) as {
    headers: Record<string, string>;
    body: { groupKey: string };
  };
  return {
    method: 'POST',
    headers: { ...headers, authorization: `Bearer ${TOKEN}` },
    body: Buffer.from(JSON.stringify({ ...body, groupKey: `{}:{group="${group}"}` })),
  };
}

describe('the local intake on a full disk', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await createTempDir('full-disk');
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  async function start(openFile?: QueueFileOpener) {
    const store = new FsObjectStore(dataDir);
    const queue = await FileEventQueue.open(join(dataDir, 'queue'), {
      logger: silentLogger,
      ...(openFile ? { openFile } : {}),
    });
    const bus = new InProcessEventBus({ store, logger: silentLogger, queue });
    const delivered: string[] = [];
    bus.subscribe({
      name: 'incident-timeline',
      types: ['AlertNotification'],
      handler: async (event) => {
        if (event.type === 'AlertNotification') delivered.push(event.detail.payload.groupKey);
      },
    });
    const webhook = createAlertmanagerWebhook({
      bus,
      store,
      secrets: new StaticSecretSource({ ALERTMANAGER_WEBHOOK_TOKEN: TOKEN }),
      clock: systemClock,
      logger: silentLogger,
    });
    return { bus, queue, webhook, delivered };
  }

  it('answers 503 so that Alertmanager retries, and no restart delivers the half-written notification', async () => {
    // Prepare: the first notification is accepted; the disk fills in the middle of the second's record.
    const disk = { full: false, partialBytes: 40 };
    const first = await start(diskThatFills(disk));
    first.bus.subscribe({
      name: 'stalled',
      types: ['AlertNotification'],
      handler: () => new Promise(() => {}),
    });
    const accepted = await first.webhook(await notification('accepted'));
    await waitFor(async () => (first.queue.waiting('incident-timeline') === 0 ? true : undefined), {
      timeoutMs: 5_000,
      intervalMs: 5,
      description: 'the accepted notification to be delivered and acknowledged',
    });
    disk.full = true;

    // Act
    const refused = await first.webhook(await notification('refused'));
    disk.full = false;
    const retried = await first.webhook(await notification('retried'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    // No close(): the process dies here, and a new one starts on the same data directory.
    const second = await start();
    second.bus.replay();
    await second.bus.idle();

    // Assess
    expect([accepted.status, refused.status, retried.status]).toEqual([200, 503, 200]);
    expect(refused.body).toMatchObject({ error: 'publish_failed' });
    expect(first.delivered.sort()).toEqual(['{}:{group="accepted"}', '{}:{group="retried"}']);
    expect(second.delivered).toEqual([]);
    expect(await second.queue.unacknowledged('incident-timeline')).toEqual([]);
    await second.queue.close();
  });
});
