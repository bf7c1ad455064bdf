import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  deploymentDeliveries,
  deploymentSeries,
  sendDelivery,
  signGitHubBody,
} from '../../../bin/gameday/github-deliveries.js';
import {
  generatedSecret,
  type LocalServerUnderTest,
  recordEvents,
  startTestLocalServer,
} from '../../support/local-server.js';
import { waitFor } from '../../support/wait.js';

describe("the game day's GitHub deliveries", () => {
  let local: LocalServerUnderTest;

  beforeEach(async () => {
    local = await startTestLocalServer();
  });

  afterEach(async () => {
    await local.stop();
  });

  it('signs as GitHub does: HMAC-SHA256 of the raw body, hex, prefixed sha256=', () => {
    // GitHub's documented example (docs: "Validating webhook deliveries").
    expect(signGitHubBody("It's a Secret to Everybody", 'Hello, World!')).toBe(
      'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
    );
  });

  it('are accepted by the real intake and published as the deployment and its failed status', async () => {
    // Prepare
    const secret = await generatedSecret(local.dataDir, 'github-webhook-secret');
    const events = recordEvents(local.server, ['GitHubDeployment', 'GitHubDeploymentStatus']);
    const [failure] = deploymentSeries('toilless-gameday/check', 'production', new Date(), 0, 7000);
    if (failure === undefined) throw new Error('no deployment');

    // Act
    for (const delivery of deploymentDeliveries(failure)) {
      await sendDelivery(local.server.url, secret, delivery);
    }

    // Assess
    await waitFor(async () => (events.length === 2 ? true : undefined), {
      timeoutMs: 5000,
      description: 'both events delivered',
    });
    const status = events.find((event) => event.type === 'GitHubDeploymentStatus');
    expect(status?.detail).toMatchObject({
      repository: 'toilless-gameday/check',
      environment: 'production',
      state: 'failure',
      deploymentId: 7000,
    });
  });

  it('names the secret as the likely cause when toilless refuses the signature', async () => {
    const [deployment] = deploymentSeries('toilless-gameday/check', 'production', new Date(), 0, 1);
    if (deployment === undefined) throw new Error('no deployment');
    const [delivery] = deploymentDeliveries(deployment);
    await expect(sendDelivery(local.server.url, 'not the secret', delivery)).rejects.toThrow(
      /HTTP 401.*secret differs/,
    );
  });

  it('makes a series whose change failure rate is one in successes plus one, all finished by now', () => {
    const now = new Date('2026-12-06T10:00:00Z');
    const series = deploymentSeries('a/b', 'production', now, 4, 100);
    expect(series.map((d) => d.status)).toEqual(['success', 'success', 'success', 'success', 'failure']);
    expect(series.every((d) => d.finishedAt <= now && d.createdAt < d.finishedAt)).toBe(true);
    expect(new Set(series.map((d) => d.id)).size).toBe(5);
  });

  it('says which URL it could not reach, and why, when nothing listens there', async () => {
    const [deployment] = deploymentSeries('toilless-gameday/check', 'production', new Date(), 0, 1);
    if (deployment === undefined) throw new Error('no deployment');
    const url = local.server.url;
    await local.server.close();
    await expect(sendDelivery(url, 'secret', deploymentDeliveries(deployment)[0])).rejects.toThrow(
      `cannot deliver to ${url}/webhooks/github: ECONNREFUSED; is toilless running there (TOILLESS_URL)?`,
    );
  });
});
