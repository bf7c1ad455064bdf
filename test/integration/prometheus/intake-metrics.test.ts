/**
 * A webhook intake on Lambda pushes its request, latency and event counts to the real Prometheus
 * (Debian package, remote-write receiver on), so the toilless dashboard's intake panels and the
 * WebhookErrors alert see them on AWS; and its answer never waits on Prometheus beyond a bound.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { create } from '../../../functions/alertmanager-webhook/compose.js';
import { alertmanagerWebhookManifest } from '../../../functions/alertmanager-webhook/manifest.js';
import { IntakeMetricsPush } from '../../../functions/shared/adapters/aws/intake-metrics-push.js';
import { meteredWebhookLambda } from '../../../functions/shared/adapters/aws/metered-webhook-lambda.js';
import { IntakeCounters } from '../../../functions/shared/webhook-metrics.js';
import { TEST_BUS, useAwsTestServers } from '../../support/aws-test-servers.js';
import { type InstantQueryData, type RunningPrometheus, startPrometheus } from '../../support/prometheus.js';
import {
  type DecodedSeries,
  type RemoteWriteServer,
  startRemoteWriteServer,
} from '../../support/remote-write-server.js';

const TOKEN = 'intake-metrics-test-token';
/** A notification Alertmanager 0.25 sent (the fixture holds its headers and body). */
const NOTIFICATION = JSON.stringify(
  JSON.parse(
    readFileSync(
      join(import.meta.dirname, '..', '..', 'fixtures', 'alertmanager', 'firing-fastburnrate.json'),
      'utf8',
    ),
  ).body,
);

let prometheus: RunningPrometheus;
let receiver: RemoteWriteServer | undefined;
const saved = { ...process.env };
const aws = useAwsTestServers();

beforeAll(async () => {
  prometheus = await startPrometheus();
}, 30_000);

afterAll(async () => {
  await prometheus.stop();
});

beforeEach(() => {
  Object.assign(process.env, {
    TOILLESS_BUCKET: 'toilless-test',
    TOILLESS_EVENT_BUS: TEST_BUS,
    ALERTMANAGER_WEBHOOK_TOKEN: TOKEN,
    AWS_ENDPOINT_URL_EVENTBRIDGE: aws.eventBridge.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_LAMBDA_FUNCTION_NAME: 'Toilless-Workers-AlertmanagerWebhook',
  });
});

afterEach(async () => {
  process.env = { ...saved };
  await receiver?.close();
  receiver = undefined;
});

/** Alertmanager's POST as API Gateway hands it to the function. */
function delivery(token: string): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'POST /webhooks/alertmanager',
    rawPath: '/webhooks/alertmanager',
    rawQueryString: '',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: NOTIFICATION,
    isBase64Encoded: false,
    requestContext: { http: { method: 'POST' } },
  } as unknown as APIGatewayProxyEventV2;
}

/** The samples of toilless_webhook_requests_total in one received write. */
function requestsTotal(series: readonly DecodedSeries[] | undefined) {
  return series
    ?.find((one) =>
      one.labels.some(
        (label) => label.name === '__name__' && label.value === 'toilless_webhook_requests_total',
      ),
    )
    ?.samples.map(({ value, timestampMs }) => ({ value, timestampMs }));
}

function values(data: InstantQueryData): Array<{ labels: Record<string, string>; value: number }> {
  if (data.resultType !== 'vector') throw new Error(`expected a vector, got ${data.resultType}`);
  return data.result.map((sample) => ({ labels: sample.metric, value: Number(sample.value[1]) }));
}

describe('Intake metrics on Lambda', () => {
  it("pushes the intake's answers by status, their latency and the events it published, each series starting at 0", async () => {
    // Prepare
    process.env.PROMETHEUS_REMOTE_WRITE_URL = prometheus.remoteWriteUrl;
    // Every answer pushes, and waits for it: the bound is the last test's subject.
    const handler = meteredWebhookLambda(alertmanagerWebhookManifest, create, {
      pushIntervalMs: 0,
      answerWaitMs: 10_000,
    });

    // Act
    const accepted = await handler(delivery(TOKEN));
    const refused = await handler(delivery('not-the-token'));

    // Assess
    expect([accepted, refused].map((result) => result.statusCode)).toEqual([200, 401]);
    const requests = values(
      await prometheus.query('toilless_webhook_requests_total{route="/webhooks/alertmanager"}'),
    );
    expect(requests.map(({ labels, value }) => [labels.status, value]).sort()).toEqual([
      ['200', 1],
      ['401', 1],
    ]);
    expect(requests[0]?.labels).toMatchObject({ job: 'toilless', service: 'toilless' });
    expect(requests[0]?.labels.instance).toMatch(/^Toilless-Workers-AlertmanagerWebhook\/[0-9a-f-]{36}$/);
    // A zero before each first value: increase() counts an environment's first request too.
    expect(
      values(await prometheus.query('min_over_time(toilless_webhook_requests_total[5m])')).map(
        (s) => s.value,
      ),
    ).toEqual([0, 0]);
    expect(
      values(await prometheus.query('toilless_events_published_total{type="AlertNotification"}')),
    ).toEqual([expect.objectContaining({ value: 1 })]);
    expect(
      values(await prometheus.query('toilless_webhook_request_duration_seconds_count')).map((s) => s.value),
    ).toEqual([2]);
    expect(aws.eventBridge.accepted).toHaveLength(1);
  });

  it('pushes at most once per interval, the counts of the skipped answers with the next push', async () => {
    // Prepare
    receiver = await startRemoteWriteServer();
    process.env.PROMETHEUS_REMOTE_WRITE_URL = receiver.url;
    let now = 1_000_000;
    const handler = meteredWebhookLambda(alertmanagerWebhookManifest, create, {
      pushIntervalMs: 10_000,
      answerWaitMs: 10_000,
      now: () => now,
    });

    // Act: three answers within 10 s, then one after.
    for (const step of [1, 3_000, 3_000, 10_000]) {
      now += step;
      await handler(delivery('not-the-token'));
    }

    // Assess
    const pushed = receiver.requests.map((request) =>
      request.series
        ?.find((series) =>
          series.labels.some((l) => l.name === '__name__' && l.value.endsWith('requests_total')),
        )
        ?.samples.map((sample) => sample.value),
    );
    expect(pushed).toEqual([[0, 1], [4]]);
  });

  it('sends the zero before a new series until the receiver has answered for it, a refusal included', async () => {
    // Prepare: the first push is refused (as Prometheus refuses a zero an unanswered push already wrote).
    receiver = await startRemoteWriteServer();
    receiver.answerNext({ status: 400, body: 'out of order sample' });
    const push = new IntakeMetricsPush({
      url: receiver.url,
      instance: 'fn/1',
      timeoutMs: 1_000,
      startedAtMs: 1_000,
    });
    const counters = new IntakeCounters();

    // Act
    counters.answered('/webhooks/github', 200, 0.01);
    await expect(push.push(counters, 2_000)).rejects.toThrow(/400 out of order sample/);
    counters.answered('/webhooks/github', 200, 0.01);
    await push.push(counters, 3_000);

    // Assess
    expect(receiver.requests.map((request) => requestsTotal(request.series))).toEqual([
      [
        { value: 0, timestampMs: 1_000 },
        { value: 1, timestampMs: 2_000 },
      ],
      [{ value: 2, timestampMs: 3_000 }],
    ]);
  });

  it('answers within its bound when Prometheus holds its answer, and when nothing listens', async () => {
    // Prepare
    receiver = await startRemoteWriteServer();
    const answerWaitMs = 300;
    for (const url of [receiver.url, 'http://127.0.0.1:9/api/v1/write']) {
      process.env.PROMETHEUS_REMOTE_WRITE_URL = url;
      const handler = meteredWebhookLambda(alertmanagerWebhookManifest, create, {
        pushIntervalMs: 0,
        answerWaitMs,
        pushTimeoutMs: 10_000,
      });
      // A warm environment: the bus client and the push module are loaded.
      await handler(delivery(TOKEN));
      await new Promise((resolve) => setTimeout(resolve, answerWaitMs));
      receiver.answerNext({ status: 204, delayMs: 5_000 });

      // Act: the due push is held for 5 s (or refused at once).
      const started = performance.now();
      const result = await handler(delivery(TOKEN));
      const elapsed = performance.now() - started;

      // Assess: the answer stands and waited on the push at most the bound, plus the intake's own work.
      expect(result.statusCode, url).toBe(200);
      expect(elapsed, url).toBeLessThan(answerWaitMs + 1_000);
    }
    expect(receiver.requests).toHaveLength(2);
  });
});
