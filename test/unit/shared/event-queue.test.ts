import { rm } from 'node:fs/promises';
import { FileEventQueue } from '../../../functions/shared/adapters/local/file-event-queue.js';
import { MemoryEventQueue } from '../../../functions/shared/adapters/local/memory-event-queue.js';
import { silentLogger } from '../../../functions/shared/log.js';
import { describeEventQueueContract } from '../../support/event-queue-contract.js';
import { createTempDir } from '../../support/process.js';

describeEventQueueContract('memory', async () => {
  const queue = new MemoryEventQueue();
  return { queue, close: () => queue.close() };
});

describeEventQueueContract('files in the data directory', async () => {
  const dir = await createTempDir('queue-contract');
  // Small segments, so the contract also runs across segment boundaries.
  const queue = await FileEventQueue.open(dir, { logger: silentLogger, segmentBytes: 1024 });
  return {
    queue,
    close: async () => {
      await queue.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
