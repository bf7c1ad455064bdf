import { rm } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../../functions/shared/adapters/local/fs-object-store.js';
import { SlackNotifier } from '../../../functions/shared/adapters/slack/slack-notifier.js';
import { loadRuntimeConfig } from '../../../functions/shared/config.js';
import type { ObjectStore } from '../../../functions/shared/ports/object-store.js';
import { StaticSecretSource } from '../../../functions/shared/ports/secrets.js';
import { parseToillessConfig } from '../../../functions/shared/stack-config.js';
import { create } from '../../../functions/weekly-report/compose.js';
import type { DeliveryRecord } from '../../../functions/weekly-report/delivery.js';
import {
  claimPublication,
  judgeClaim,
  PUBLICATION_LEASE_MS,
  PublicationInProgressError,
  PublicationTakenOverError,
} from '../../../functions/weekly-report/publication-claim.js';
import { previousIsoWeek } from '../../../functions/weekly-report/window.js';
import { useAwsTestServers } from '../../support/aws-test-servers.js';
import { captureLog } from '../../support/captured-log.js';
import { createTempDir } from '../../support/process.js';
import { RecordingBus } from '../../support/recording-bus.js';
import { RecordingClock } from '../../support/recording-clock.js';
import { type StandInEngines, standInEngines } from '../../support/report-stand-ins.js';
import { type SlackApiServer, startSlackApiServer } from '../../support/slack-api-server.js';
import { waitFor } from '../../support/wait.js';

// Monday 2026-12-07 08:00 UTC: the default schedule's run for 2026-W49.
const MONDAY_RUN = new Date('2026-12-07T08:00:00Z');
const PDF_KEY = 'reports/2026-W49/report.pdf';

let dir: string;
let slack: SlackApiServer;
let store: FsObjectStore;
let bus: RecordingBus;
let clock: RecordingClock;
let engines: StandInEngines;
let log: ReturnType<typeof captureLog>;

async function composeReport(
  options: {
    readonly store?: ObjectStore;
    readonly publisher?: string;
    readonly engines?: StandInEngines;
  } = {},
) {
  const toilless = parseToillessConfig('report: { dashboards: [toilless, slo-error-budget] }');
  const notifier = new SlackNotifier({
    token: slack.token,
    channel: '#toilless',
    apiUrl: slack.url,
    maxRetries: 0,
  });
  return create(
    {
      store: options.store ?? store,
      bus,
      clock,
      logger: log.logger,
      notifier,
      secrets: new StaticSecretSource({ SLACK_BOT_TOKEN: slack.token }),
    },
    {
      // Nothing listens here: the summary parts from Prometheus become unavailable, as they would.
      runtime: loadRuntimeConfig({ PROMETHEUS_URL: 'http://127.0.0.1:9', TOILLESS_DATA_DIR: dir }),
      toilless,
      stackConfigDir: 'stack-config',
      platform: 'local',
    },
    {
      engines: () => options.engines ?? engines,
      delivery: { uploadAttempts: 2, retryDelayMs: 1_000 },
      ...(options.publisher ? { publisherId: () => options.publisher ?? '' } : {}),
    },
  );
}

async function storedKeys(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of store.list(prefix)) keys.push(key);
  return keys;
}

async function deliveryRecord(): Promise<DeliveryRecord> {
  const stored = await store.get('reports/2026-W49/delivery.json');
  if (!stored) throw new Error('no delivery record');
  return JSON.parse(stored.body.toString('utf8')) as DeliveryRecord;
}

beforeEach(async () => {
  dir = await createTempDir('report-delivery');
  slack = await startSlackApiServer();
  store = new FsObjectStore(dir);
  bus = new RecordingBus();
  clock = new RecordingClock(MONDAY_RUN);
  engines = standInEngines();
  log = captureLog('weekly-report');
});

afterEach(async () => {
  await slack.close();
  await rm(dir, { recursive: true, force: true });
});

describe('Weekly report delivery', () => {
  it('stores the PDF under the ISO week, uploads it in Slack three steps with a summary, and emits ReportPublished', async () => {
    // Prepare
    const worker = await composeReport();

    // Act: what EventBridge Scheduler (or the local timer) runs
    await worker.schedules.WeeklyReport();

    // Assess
    const stored = await store.get(PDF_KEY);
    expect(stored?.body.toString('utf8')).toContain('% stand-in report 2026-W49 run 1 mode native');
    const uploadSteps = slack.calls
      .map((call) => call.method)
      .filter((method) => method !== 'conversations.list');
    expect(uploadSteps).toEqual(['files.getUploadURLExternal', 'upload', 'files.completeUploadExternal']);
    const [file] = slack.files();
    expect(file?.content).toEqual(stored?.body);
    expect(file).toMatchObject({
      completed: true,
      channel: slack.channelId('toilless'),
      filename: 'toilless-report-2026-W49.pdf',
    });
    expect(file?.initial_comment).toMatch(
      /^Weekly report toilless 2026-W49 \(2026-11-30 to 2026-12-07\)\nSLOs: unavailable/,
    );
    expect(file?.initial_comment).not.toMatch(/replaces/);
    expect(bus.published).toEqual([
      expect.objectContaining({
        type: 'ReportPublished',
        detail: {
          week: '2026-W49',
          key: PDF_KEY,
          from: '2026-11-30T00:00:00.000Z',
          to: '2026-12-07T00:00:00.000Z',
        },
      }),
    ]);
    expect(engines.assembled[0]?.dashboards.map((dashboard) => dashboard.uid)).toEqual([
      'toilless',
      'slo-error-budget',
    ]);
    expect(await deliveryRecord()).toMatchObject({
      slack: { state: 'uploaded' },
      published: true,
      replaced: false,
    });
  });

  it('does nothing on a second run for a week already published, and replaces the report only when asked', async () => {
    // Prepare
    const worker = await composeReport();
    await worker.schedules.WeeklyReport();
    const first = await store.get(PDF_KEY);

    // Act: the schedule fires again for the same week
    await worker.schedules.WeeklyReport();

    // Assess: nothing rendered, stored, posted or emitted again
    expect(engines.assembled).toHaveLength(1);
    expect((await store.get(PDF_KEY))?.etag).toBe(first?.etag);
    expect(slack.files()).toHaveLength(1);
    expect(bus.published).toHaveLength(1);
    expect(log.text()).toContain('scheduled weekly report: already published');
    expect(await worker.report.publish({ window: previousIsoWeek(MONDAY_RUN) })).toMatchObject({
      kind: 'already-published',
      key: PDF_KEY,
      fileId: slack.files()[0]?.id,
    });

    // Act: a re-publish asked for (toilless report --publish --replace)
    const replaced = await worker.report.publish({ window: previousIsoWeek(MONDAY_RUN), replace: true });

    // Assess
    expect(replaced).toMatchObject({ kind: 'delivered', replaced: true });
    expect(await storedKeys('reports/')).toEqual(['reports/2026-W49/delivery.json', PDF_KEY]);
    expect((await store.get(PDF_KEY))?.body.toString('utf8')).toContain('run 2');
    const [firstFile, secondFile] = slack.files();
    expect(secondFile?.initial_comment).toMatch(/This replaces the report stored earlier for this week\.$/);
    expect(firstFile?.initial_comment).not.toMatch(/replaces/);
    expect(log.text()).toContain('report stored, replacing the one stored earlier for this week');
    expect(bus.published).toHaveLength(2);
  });

  it('keeps the stored PDF when the upload fails, and the retry delivers that PDF without storing or rendering again', async () => {
    // Prepare: Slack fails the last step of both attempts of the first run
    const worker = await composeReport();
    slack.failNext({ error: 'internal_error' }, { method: 'files.completeUploadExternal', times: 2 });

    // Act
    const failed = worker.schedules.WeeklyReport();

    // Assess: the run fails (so the schedule retries it), the PDF stays, the delivery is pending
    await expect(failed).rejects.toThrow(
      /the report for 2026-W49 is stored at reports\/2026-W49\/report\.pdf but its upload failed 2 times/,
    );
    const stored = await store.get(PDF_KEY);
    expect(stored?.body.length).toBeGreaterThan(0);
    expect(await deliveryRecord()).toMatchObject({
      slack: { state: 'pending', attempts: 2 },
      published: false,
    });
    expect(clock.sleeps).toEqual([1_000]);
    expect(bus.published).toEqual([]);

    // Act: the schedule's retry
    await worker.schedules.WeeklyReport();

    // Assess
    expect(engines.assembled).toHaveLength(1);
    expect(await storedKeys('reports/')).toEqual(['reports/2026-W49/delivery.json', PDF_KEY]);
    expect((await store.get(PDF_KEY))?.etag).toBe(stored?.etag);
    const shared = slack.files().filter((file) => file.completed);
    expect(shared).toHaveLength(1);
    expect(shared[0]?.content).toEqual(stored?.body);
    expect(bus.published.map((event) => event.type)).toEqual(['ReportPublished']);
    expect(await deliveryRecord()).toMatchObject({
      slack: { state: 'uploaded', attempts: 3 },
      published: true,
    });
  });

  it('does not upload again when only the event failed: the retry publishes it', async () => {
    // Prepare
    const worker = await composeReport();
    bus.failNext(1);
    await expect(worker.schedules.WeeklyReport()).rejects.toThrow(/simulated throttling/);

    // Act
    await worker.schedules.WeeklyReport();

    // Assess
    expect(slack.files().filter((file) => file.completed)).toHaveLength(1);
    expect(bus.published).toHaveLength(1);
  });
});

describe('Weekly report publication: one run per week at a time', () => {
  const CLAIM_KEY = 'reports/2026-W49/publishing.json';
  const s3 = useAwsTestServers({ s3: true });

  function claimRecord(holder: string, renewedAt: Date): string {
    return JSON.stringify({
      schemaVersion: 1,
      week: '2026-W49',
      holder,
      claimedAt: renewedAt.toISOString(),
      renewedAt: renewedAt.toISOString(),
    });
  }

  async function publishTwiceAtOnce(on: ObjectStore) {
    // Two publishers, as the schedule and `toilless report --publish` would be: each its own worker.
    const [a, b] = await Promise.all([
      composeReport({ store: on, publisher: 'schedule' }),
      composeReport({ store: on, publisher: 'cli' }),
    ]);
    return Promise.allSettled([a.schedules.WeeklyReport(), b.schedules.WeeklyReport()]);
  }

  async function expectPublishedOnce(on: ObjectStore, results: PromiseSettledResult<void>[]) {
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    const [refused] = results.filter((result) => result.status === 'rejected');
    expect(refused?.reason).toBeInstanceOf(PublicationInProgressError);
    expect(String(refused?.reason)).toMatch(
      /the report for 2026-W49 is being published by another run \((schedule|cli), since 2026-12-07T08:00:00.000Z\): nothing was done here; that run posts it\. If that run died, its claim expires at 2026-12-07T08:02:00.000Z/,
    );
    expect(engines.assembled).toHaveLength(1);
    expect(slack.files()).toHaveLength(1);
    expect(bus.published.map((event) => event.type)).toEqual(['ReportPublished']);
    expect(await on.get(PDF_KEY)).toBeDefined();
    // Released once the run ended: the next publisher is told "already published", not "in progress".
    expect(await on.get(CLAIM_KEY)).toBeUndefined();
    const again = await composeReport({ store: on });
    expect(await again.report.publish({ window: previousIsoWeek(MONDAY_RUN) })).toMatchObject({
      kind: 'already-published',
    });
  }

  it('renders, stores and posts once when two publishes of a week run at once on the data directory', async () => {
    // Act
    const results = await publishTwiceAtOnce(store);

    // Assess
    await expectPublishedOnce(store, results);
  });

  it('renders, stores and posts once when two publishes of a week run at once on S3 (conditional writes)', async () => {
    // Prepare
    const s3Store = s3.objectStore();

    // Act
    const results = await publishTwiceAtOnce(s3Store);

    // Assess
    await expectPublishedOnce(s3Store, results);
    const conditional = s3.s3.requests.filter(
      (request) => request.key === CLAIM_KEY && request.headers['if-none-match'] === '*',
    );
    expect(conditional.length).toBeGreaterThanOrEqual(2);
  });

  it('tells a second publisher that the week is in progress while a live claim is held, and does nothing', async () => {
    // Prepare: a run renewed its claim 90 s ago
    await store.put(CLAIM_KEY, claimRecord('lambda-a', new Date(MONDAY_RUN.getTime() - 90_000)));
    const worker = await composeReport();

    // Act
    const run = worker.schedules.WeeklyReport();

    // Assess
    await expect(run).rejects.toThrow(
      'being published by another run (lambda-a, since 2026-12-07T07:58:30.000Z): nothing was done here; that run posts it. If that run died, its claim expires at 2026-12-07T08:00:30.000Z',
    );
    expect(engines.assembled).toEqual([]);
    expect(slack.files()).toEqual([]);
    expect(await store.get(PDF_KEY)).toBeUndefined();
    expect((await store.get(CLAIM_KEY))?.body.toString('utf8')).toContain('lambda-a');
  });

  it('takes over the claim of a run that stopped renewing it for the lease, and publishes the week', async () => {
    // Prepare: a run that died 2 minutes after its last renewal
    await store.put(CLAIM_KEY, claimRecord('lambda-dead', new Date(MONDAY_RUN.getTime() - 120_000)));
    const worker = await composeReport({ publisher: 'lambda-retry' });

    // Act
    await worker.schedules.WeeklyReport();

    // Assess
    expect(slack.files()).toHaveLength(1);
    expect(bus.published).toHaveLength(1);
    expect(log.text()).toContain('took over a stale claim on publishing the report');
    expect(await store.get(CLAIM_KEY)).toBeUndefined();
  });

  it('takes over a claim it cannot read', async () => {
    // Prepare
    await store.put(CLAIM_KEY, '{"holder": ');
    const worker = await composeReport();

    // Act
    await worker.schedules.WeeklyReport();

    // Assess
    expect(slack.files()).toHaveLength(1);
  });

  it('stops without storing or posting when its claim was taken over while it rendered', async () => {
    // Prepare: while this run assembles, another takes its claim over (as after a missed lease)
    const inner = standInEngines();
    const slow: StandInEngines = {
      ...inner,
      assemble: async (doc) => {
        await store.put(CLAIM_KEY, claimRecord('other-run', MONDAY_RUN));
        return inner.assemble(doc);
      },
    };
    const worker = await composeReport({ engines: slow, publisher: 'slow-run' });

    // Act
    const run = worker.schedules.WeeklyReport();

    // Assess
    await expect(run).rejects.toBeInstanceOf(PublicationTakenOverError);
    await expect(run).rejects.toThrow(
      'the claim on publishing 2026-W49 was taken over by another run (this run could not renew it in time): this run stopped without storing or posting',
    );
    expect(await store.get(PDF_KEY)).toBeUndefined();
    expect(slack.files()).toEqual([]);
    expect(bus.published).toEqual([]);
    // The other run's claim is left to it.
    expect((await store.get(CLAIM_KEY))?.body.toString('utf8')).toContain('other-run');
  });

  it('releases the claim when the run fails, so that the retry need not wait for the lease', async () => {
    // Prepare
    const worker = await composeReport();
    slack.failNext({ error: 'internal_error' }, { method: 'files.completeUploadExternal', times: 2 });

    // Act
    await expect(worker.schedules.WeeklyReport()).rejects.toThrow(/upload failed 2 times/);

    // Assess
    expect(await store.get(CLAIM_KEY)).toBeUndefined();
    await worker.schedules.WeeklyReport();
    expect(slack.files().filter((file) => file.completed)).toHaveLength(1);
  });

  it('renews its claim while it works, so that a long render is not taken for a dead run', async () => {
    // Prepare
    let now = MONDAY_RUN;
    const movingClock = { now: () => now, sleep: async () => undefined };
    const claim = await claimPublication(
      { store, clock: movingClock, logger: log.logger },
      '2026-W49',
      'long-run',
      { renewEveryMs: 5 },
    );

    // Act: ten minutes later, well past one lease
    now = new Date(MONDAY_RUN.getTime() + 10 * 60_000);
    await waitFor(
      async () => {
        const stored = await store.get(CLAIM_KEY);
        return stored?.body.toString('utf8').includes('"renewedAt":"2026-12-07T08:10:00.000Z"')
          ? true
          : undefined;
      },
      { timeoutMs: 5_000, intervalMs: 10, description: 'the claim to be renewed' },
    );

    // Assess
    await expect(composeReport().then((worker) => worker.schedules.WeeklyReport())).rejects.toThrow(
      /being published by another run \(long-run, since 2026-12-07T08:00:00.000Z\)/,
    );
    await claim.confirm();
    await claim.release();
    expect(await store.get(CLAIM_KEY)).toBeUndefined();
  });

  it('renews again after a renewal the store failed to answer', async () => {
    // Prepare: the store drops the next write of the claim
    let dropNextClaimWrite = false;
    const flaky: ObjectStore = {
      get: (key) => store.get(key),
      put: async (key, body, options) => {
        if (dropNextClaimWrite && key === CLAIM_KEY) {
          dropNextClaimWrite = false;
          throw new Error('socket hang up');
        }
        return store.put(key, body, options);
      },
      putIfAbsent: (key, body, options) => store.putIfAbsent(key, body, options),
      delete: (key) => store.delete(key),
      list: (prefix) => store.list(prefix),
    };
    const claim = await claimPublication({ store: flaky, clock, logger: log.logger }, '2026-W49', 'run-1');
    dropNextClaimWrite = true;
    await expect(claim.confirm()).rejects.toThrow('socket hang up');

    // Act
    const renewed = claim.confirm();

    // Assess
    await expect(renewed).resolves.toBeUndefined();
    await claim.release();
    expect(await store.get(CLAIM_KEY)).toBeUndefined();
  });

  it('judges a claim by the time of its last renewal', () => {
    const renewed = new Date('2026-12-07T08:00:00Z');
    const record = Buffer.from(claimRecord('run-1', renewed));
    expect(judgeClaim(record, new Date('2026-12-07T08:01:59.999Z'))).toEqual({
      kind: 'in-progress',
      holder: 'run-1',
      claimedAt: '2026-12-07T08:00:00.000Z',
      staleAt: new Date(renewed.getTime() + PUBLICATION_LEASE_MS),
    });
    expect(judgeClaim(record, new Date('2026-12-07T08:02:00Z'))).toEqual({ kind: 'take-over' });
    expect(judgeClaim(Buffer.from('null'), renewed)).toEqual({ kind: 'take-over' });
    expect(judgeClaim(Buffer.from('{"holder":"x","claimedAt":"a","renewedAt":"never"}'), renewed)).toEqual({
      kind: 'take-over',
    });
  });
});
