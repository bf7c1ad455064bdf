import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAlertmanagerWebhook } from '../../../functions/alertmanager-webhook/intake.js';
import { createGitHubWebhook } from '../../../functions/github-webhook/intake.js';
import { FsObjectStore } from '../../../functions/shared/adapters/local/fs-object-store.js';
import { InProcessEventBus } from '../../../functions/shared/adapters/local/in-process-bus.js';
import { resolveClaimCheck } from '../../../functions/shared/events/claim-check.js';
import type { ToillessEvent } from '../../../functions/shared/events/types.js';
import type { IntakeDependencies } from '../../../functions/shared/http/intake.js';
import type { WebhookRequest } from '../../../functions/shared/http/webhook.js';
import { silentLogger } from '../../../functions/shared/log.js';
import { StaticSecretSource } from '../../../functions/shared/ports/secrets.js';
import { githubExample, signGitHubBody } from '../../support/github-examples.js';
import {
  hostileAlertNotifications,
  hostileEnvironmentNames,
  hostileRepositoryNames,
  invalidUtf8Twins,
  largeAlertNotification,
} from '../../support/intake-hostile-corpus.js';
import { RecordingClock } from '../../support/recording-clock.js';

const TOKEN = 'corpus-token';
const SECRET = 'corpus-secret';

/** Every body of the corpus, as bytes: each is posted, signed, to both intakes. */
function corpusBodies(): { readonly name: string; readonly body: Buffer }[] {
  const withRepository = (fullName: string) => {
    const payload = githubExample('deployment_status');
    payload.repository.full_name = fullName;
    return payload;
  };
  const withEnvironment = (environment: string) => {
    const payload = githubExample('deployment_status');
    payload.deployment.environment = environment;
    payload.deployment_status.environment = environment;
    return payload;
  };
  return [
    ...hostileRepositoryNames.map((name) => ({
      name: `repository ${JSON.stringify(name)}`,
      body: Buffer.from(JSON.stringify(withRepository(name))),
    })),
    ...hostileEnvironmentNames.map((name) => ({
      name: `environment ${JSON.stringify(name)}`,
      body: Buffer.from(JSON.stringify(withEnvironment(name))),
    })),
    ...invalidUtf8Twins().map((body, index) => ({ name: `invalid UTF-8 twin ${index}`, body })),
    { name: '400-alert notification', body: Buffer.from(JSON.stringify(largeAlertNotification())) },
    ...hostileAlertNotifications().map(({ name, payload }) => ({
      name,
      body: Buffer.from(JSON.stringify(payload)),
    })),
    {
      name: '400-alert notification under a hostile repository',
      body: Buffer.from(JSON.stringify({ ...largeAlertNotification(), repository: { full_name: '../..' } })),
    },
  ];
}

describe('The intakes against the hostile corpus', () => {
  let dataDir: string;
  let store: FsObjectStore;
  let bus: InProcessEventBus;
  let delivered: ToillessEvent[];

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'toilless-corpus-'));
    store = new FsObjectStore(dataDir);
    bus = new InProcessEventBus({ store, logger: silentLogger, maxAttempts: 1 });
    delivered = [];
    bus.subscribe({
      name: 'corpus-consumer',
      types: ['AlertNotification', 'GitHubDeploymentStatus', 'GitHubDeployment', 'GitHubPush'],
      handler: async (event) => {
        delivered.push(await resolveClaimCheck(store, event));
      },
    });
  });

  afterEach(async () => {
    await bus.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  function deps(): IntakeDependencies {
    return {
      bus,
      store,
      secrets: new StaticSecretSource({ ALERTMANAGER_WEBHOOK_TOKEN: TOKEN, GITHUB_WEBHOOK_SECRET: SECRET }),
      clock: new RecordingClock(new Date('2026-11-28T09:00:00Z')),
      logger: silentLogger,
    };
  }

  it.each(corpusBodies())('answers $name without a 5xx, and delivers what it accepts', async ({ body }) => {
    // Prepare
    const alertmanager: WebhookRequest = {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body,
    };
    const github = (event: string): WebhookRequest => ({
      method: 'POST',
      headers: {
        'x-github-event': event,
        'x-github-delivery': 'cccccccc-0000-4000-8000-000000000001',
        'x-github-hook-id': '42',
        'x-hub-signature-256': signGitHubBody(SECRET, body),
      },
      body,
    });

    // Act
    const answers = [
      await createAlertmanagerWebhook(deps())(alertmanager),
      await createGitHubWebhook(deps())(github('deployment_status')),
      await createGitHubWebhook(deps())(github('deployment')),
    ];
    await bus.idle();

    // Assess
    expect(answers.every((answer) => answer.status < 500)).toBe(true);
    const accepted = answers.filter((answer) => answer.status === 200 && answer.body.duplicate !== true);
    expect(delivered.map((event) => event.id).sort()).toEqual(
      accepted.map((answer) => String(answer.body.eventId)).sort(),
    );
    const deadLetters: string[] = [];
    for await (const key of store.list('dead-letter/')) deadLetters.push(key);
    expect(deadLetters).toEqual([]);
  });
});
