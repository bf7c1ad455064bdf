import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAlertmanagerWebhook } from '../../../functions/alertmanager-webhook/intake.js';
import { createGitHubWebhook } from '../../../functions/github-webhook/intake.js';
import { fromEventBridgeEvent } from '../../../functions/shared/adapters/aws/eventbridge-bus.js';
import { FsObjectStore } from '../../../functions/shared/adapters/local/fs-object-store.js';
import { ValidationError } from '../../../functions/shared/errors.js';
import {
  BUS_EVENT_LIMIT_BYTES,
  CLAIM_CHECK_THRESHOLD_BYTES,
  ClaimCheckError,
  checkInOversizedEvent,
  claimCheckKey,
  claimCheckOf,
  fitsOnTheBus,
  resolveClaimCheck,
} from '../../../functions/shared/events/claim-check.js';
import type { ToillessEvent } from '../../../functions/shared/events/types.js';
import type { IntakeDependencies } from '../../../functions/shared/http/intake.js';
import type { WebhookRequest } from '../../../functions/shared/http/webhook.js';
import { silentLogger } from '../../../functions/shared/log.js';
import type { Clock } from '../../../functions/shared/ports/clock.js';
import { StaticSecretSource } from '../../../functions/shared/ports/secrets.js';
import { deliveredToLambda, useAwsTestServers } from '../../support/aws-test-servers.js';
import type { AcceptedEntry } from '../../support/eventbridge-server.js';
import { oversizedPush, signGitHubBody } from '../../support/github-examples.js';
import { largeAlertNotification } from '../../support/intake-hostile-corpus.js';
import { RecordingBus } from '../../support/recording-bus.js';

const TOKEN = 'example-token';
const SECRET = 'github-secret';
const fixedClock: Clock = { now: () => new Date('2026-11-28T08:40:00Z'), sleep: async () => {} };

function alertDelivery(payload: unknown): WebhookRequest {
  return {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify(payload)),
  };
}

describe('Claim-check of events over the bus limit', () => {
  let dataDir: string;
  let store: FsObjectStore;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'toilless-claim-check-'));
    store = new FsObjectStore(dataDir);
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  async function keysUnder(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const key of store.list(prefix)) keys.push(key);
    return keys;
  }

  describe('through the EventBridge adapter', () => {
    const aws = useAwsTestServers();

    function alertmanagerIntake() {
      const deps: IntakeDependencies = {
        bus: aws.bus({ clock: fixedClock }),
        store,
        secrets: new StaticSecretSource({ ALERTMANAGER_WEBHOOK_TOKEN: TOKEN }),
        clock: fixedClock,
        logger: silentLogger,
      };
      return createAlertmanagerWebhook(deps);
    }

    it('accepts a 400-alert notification of about 530 KB and the processor reads all of it back', async () => {
      // Prepare
      const payload = largeAlertNotification({ alerts: 400 });
      const request = alertDelivery(payload);

      // Act
      const response = await alertmanagerIntake()(request);
      const [entry] = aws.eventBridge.accepted;
      const delivered =
        entry && (await resolveClaimCheck(store, fromEventBridgeEvent(deliveredToLambda(entry))));

      // Assess
      expect(request.body.length).toBeGreaterThan(520 * 1024);
      expect(response.status).toBe(200);
      expect(aws.eventBridge.accepted).toHaveLength(1);
      expect(Buffer.byteLength(entry?.Detail ?? '')).toBeLessThan(1024);
      expect(delivered?.id).toBe(response.body.eventId);
      expect(delivered?.type === 'AlertNotification' && delivered.detail.payload.alerts).toHaveLength(400);
      expect(delivered?.type === 'AlertNotification' && delivered.detail.payload.groupKey).toBe(
        payload.groupKey,
      );
    });

    it('keeps the first stored payload when Alertmanager re-sends the notification', async () => {
      // Prepare
      const webhook = alertmanagerIntake();
      const payload = largeAlertNotification({ alerts: 400 });

      // Act
      await webhook(alertDelivery(payload));
      await webhook(alertDelivery(payload));
      const resolved = await Promise.all(
        aws.eventBridge.accepted.map((entry) =>
          resolveClaimCheck(store, fromEventBridgeEvent(deliveredToLambda(entry))),
        ),
      );

      // Assess
      expect(await keysUnder('claim-check/')).toHaveLength(1);
      expect(resolved.map((event) => event.id)).toEqual([resolved[0]?.id, resolved[0]?.id]);
    });

    it("honours Alertmanager's own truncation of a large group", async () => {
      // Prepare
      const payload = { ...largeAlertNotification({ alerts: 300 }), truncatedAlerts: 150 };

      // Act
      const response = await alertmanagerIntake()(alertDelivery(payload));
      const [entry] = aws.eventBridge.accepted;
      const delivered =
        entry && (await resolveClaimCheck(store, fromEventBridgeEvent(deliveredToLambda(entry))));

      // Assess
      expect(response.status).toBe(200);
      expect(delivered?.type === 'AlertNotification' && delivered.detail.payload.truncatedAlerts).toBe(150);
    });

    it('publishes a small notification as it is, storing nothing', async () => {
      // Prepare
      const payload = largeAlertNotification({ alerts: 2, bytes: 4096 });

      // Act
      const response = await alertmanagerIntake()(alertDelivery(payload));

      // Assess
      expect(response.status).toBe(200);
      expect(
        claimCheckOf(fromEventBridgeEvent(deliveredToLambda(aws.eventBridge.accepted[0] as AcceptedEntry))),
      ).toBeUndefined();
      expect(await keysUnder('')).toEqual([]);
    });
  });

  it('claim-checks a GitHub push whose commits make it larger than the bus accepts', async () => {
    // Prepare
    const bus = new RecordingBus();
    const payload = oversizedPush();
    const raw = JSON.stringify(payload);
    const webhook = createGitHubWebhook({
      bus,
      store,
      secrets: new StaticSecretSource({ GITHUB_WEBHOOK_SECRET: SECRET }),
      clock: fixedClock,
      logger: silentLogger,
    });

    // Act
    const response = await webhook({
      method: 'POST',
      headers: {
        'x-github-event': 'push',
        'x-github-delivery': 'bbbbbbbb-0000-4000-8000-000000000001',
        'x-github-hook-id': '42',
        'x-hub-signature-256': signGitHubBody(SECRET, raw),
      },
      body: Buffer.from(raw),
    });
    const [published] = bus.published;
    const resolved = published && (await resolveClaimCheck(store, published));

    // Assess
    expect(response.status).toBe(200);
    expect(JSON.stringify(published).length).toBeLessThan(1024);
    expect(resolved?.type === 'GitHubPush' && resolved.detail.commits).toHaveLength(300);
  });

  describe('resolveClaimCheck', () => {
    const oversized = (): ToillessEvent<'AlertNotification'> => ({
      id: 'alertmanager:abc',
      type: 'AlertNotification',
      time: '2026-11-28T08:40:00.000Z',
      detail: {
        receivedAt: '2026-11-28T08:40:00.000Z',
        payload: largeAlertNotification({ alerts: 400 }) as never,
      },
    });

    it('stores an event over the bus limit at claim-check/<event-id>.json', async () => {
      // Act
      const reference = await checkInOversizedEvent(store, oversized());

      // Assess
      expect(JSON.stringify(oversized()).length).toBeGreaterThan(BUS_EVENT_LIMIT_BYTES);
      expect(claimCheckOf(reference)?.key).toBe('claim-check/alertmanager%3Aabc.json');
      expect(await keysUnder('claim-check/')).toEqual([claimCheckKey('alertmanager:abc')]);
    });

    it('refuses a reference to a key other than its own event id', async () => {
      // Prepare
      const reference = await checkInOversizedEvent(store, oversized());
      const forged = {
        ...reference,
        detail: { claimCheck: { ...claimCheckOf(reference), key: 'incidents/x/timeline.json' } },
      } as unknown as ToillessEvent;

      // Act
      const resolving = resolveClaimCheck(store, forged);

      // Assess
      await expect(resolving).rejects.toThrow(ClaimCheckError);
    });

    it('refuses a stored payload that is not the one referenced', async () => {
      // Prepare
      const reference = await checkInOversizedEvent(store, oversized());
      await store.put(claimCheckKey('alertmanager:abc'), JSON.stringify({ ...oversized(), time: 'x' }));

      // Act
      const resolving = resolveClaimCheck(store, reference);

      // Assess
      await expect(resolving).rejects.toThrow('is not the one the event references');
    });

    it('says the payload is missing when it expired, so the event is retried then dead-lettered', async () => {
      // Prepare
      const reference = await checkInOversizedEvent(store, oversized());
      await store.delete(claimCheckKey('alertmanager:abc'));

      // Act
      const resolving = resolveClaimCheck(store, reference);

      // Assess
      await expect(resolving).rejects.toThrow(/payload is missing at claim-check\/alertmanager%3Aabc\.json/);
    });

    it('validates the stored notification again with the Alertmanager schema', async () => {
      // Prepare
      const event = oversized();
      (event.detail.payload as { version: string }).version = '3';
      const reference = await checkInOversizedEvent(store, event);

      // Act
      const resolving = resolveClaimCheck(store, reference);

      // Assess
      await expect(resolving).rejects.toThrow(ValidationError);
    });
  });

  describe('fitsOnTheBus', () => {
    it.each([
      ['ASCII at the threshold', 'a'.repeat(CLAIM_CHECK_THRESHOLD_BYTES), true],
      ['ASCII one byte over', 'a'.repeat(CLAIM_CHECK_THRESHOLD_BYTES + 1), false],
      ['3-byte characters at the threshold', '€'.repeat(CLAIM_CHECK_THRESHOLD_BYTES / 3), true],
      [
        '3-byte characters over it in bytes, not in length',
        '€'.repeat(CLAIM_CHECK_THRESHOLD_BYTES / 3 + 1),
        false,
      ],
      ['4-byte characters over it', '😀'.repeat(CLAIM_CHECK_THRESHOLD_BYTES / 4 + 1), false],
      [
        'a third of the threshold in 3-byte characters',
        '€'.repeat(Math.floor(CLAIM_CHECK_THRESHOLD_BYTES / 3)),
        true,
      ],
    ])('judges %s by its UTF-8 bytes', (_case, json, fits) => {
      expect(fitsOnTheBus(json)).toBe(fits);
    });

    it('claim-checks an event whose text is under the threshold in characters but over it in bytes', async () => {
      // Prepare
      const payload = { commonAnnotations: { summary: '€'.repeat(CLAIM_CHECK_THRESHOLD_BYTES / 3) } };
      const event = {
        id: 'alertmanager:multibyte',
        type: 'AlertNotification',
        time: '2026-11-28T08:40:00.000Z',
        detail: { receivedAt: '2026-11-28T08:40:00.000Z', payload },
      } as unknown as ToillessEvent;

      // Act
      const published = await checkInOversizedEvent(store, event);

      // Assess
      expect(JSON.stringify(event).length).toBeLessThan(CLAIM_CHECK_THRESHOLD_BYTES);
      expect(claimCheckOf(published)?.key).toBe(claimCheckKey('alertmanager:multibyte'));
    });
  });
});
