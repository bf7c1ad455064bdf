import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createLocalRuntime,
  type LocalRuntime,
  rateIntervalMs,
} from '../../../functions/local/local-runtime.js';
import { PROCESSOR_MANIFESTS, WEBHOOK_MANIFESTS } from '../../../functions/manifests.js';
import { InProcessEventBus } from '../../../functions/shared/adapters/local/in-process-bus.js';
import { silentLogger } from '../../../functions/shared/log.js';
import type { Subscription } from '../../../functions/shared/ports/event-bus.js';
import { StaticSecretSource } from '../../../functions/shared/ports/secrets.js';

describe('The local runtime', () => {
  let dir: string;
  let runtime: LocalRuntime | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'toilless-local-workers-'));
  });

  afterEach(async () => {
    await runtime?.close();
    runtime = undefined;
    vi.restoreAllMocks();
    await rm(dir, { recursive: true, force: true });
  });

  async function start(): Promise<LocalRuntime> {
    runtime = await createLocalRuntime({
      dataDir: dir,
      // Nothing listens there: the hourly recompute's remote-write fails fast and is only logged.
      env: { PROMETHEUS_URL: 'http://127.0.0.1:9' },
      logger: silentLogger,
      secrets: new StaticSecretSource({}),
      processMetrics: false,
    });
    return runtime;
  }

  it('subscribes exactly the processors of the manifests, each to the event types it consumes', async () => {
    // Prepare
    const subscribe = vi.spyOn(InProcessEventBus.prototype, 'subscribe');

    // Act
    await start();

    // Assess
    const subscriptions = subscribe.mock.calls.map(([subscription]: [Subscription]) => ({
      name: subscription.name,
      types: subscription.types,
    }));
    expect(subscriptions).toEqual(
      PROCESSOR_MANIFESTS.map((manifest) => ({ name: manifest.name, types: manifest.consumes })),
    );
  });

  it('serves each webhook manifest at POST /webhooks/<source>', async () => {
    // Act
    const { webhooks } = await start();

    // Assess
    expect(Object.keys(webhooks).sort()).toEqual(
      WEBHOOK_MANIFESTS.map((manifest) => `/webhooks/${manifest.source}`).sort(),
    );
  });

  it("runs a manifest's schedule by name, and names the known ones for an unknown name", async () => {
    // Prepare
    const local = await start();

    // Act
    const known = local.runSchedule('DoraRecompute');

    // Assess
    await expect(known).resolves.toBeUndefined();
    await expect(local.runSchedule('WeeklyNothing')).rejects.toThrow(
      /no processor manifest has a schedule named WeeklyNothing: known are DoraRecompute/,
    );
  });

  it('turns rate schedules into timer periods, and gives cron schedules none', () => {
    // Prepare
    const base = {
      name: 'Example',
      title: 'example',
      description: 'example',
      payload: { source: 'toilless.schedule', task: 'Example' },
      retryWindowMinutes: 60,
    } as const;

    // Assess
    expect(rateIntervalMs({ ...base, every: { rate: { hours: 1 } } })).toBe(3_600_000);
    expect(rateIntervalMs({ ...base, every: { rate: { minutes: 15 } } })).toBe(900_000);
    expect(rateIntervalMs({ ...base, every: { cron: '0 8 * * 1', timeZone: 'Europe/Berlin' } })).toBe(
      undefined,
    );
  });
});
