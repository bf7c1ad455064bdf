/**
 * A webhook intake on Lambda that counts what it answers and publishes, and pushes the counts to
 * Prometheus's remote-write receiver (nothing can scrape a function): the toilless dashboard's intake
 * panels and the WebhookErrors alert then work on AWS as they do for `toilless serve`.
 *
 * The answer never depends on Prometheus: a push is due at most once every `pushIntervalMs` per
 * execution environment, is one request with a short timeout, and the answer waits for it at most
 * `answerWaitMs`; a push still running then finishes (or fails) while the environment is thawed for a
 * later invocation. Failures are logged, never thrown. The push module (remote-write client, Snappy)
 * is imported on the first due push only, and not at all without PROMETHEUS_REMOTE_WRITE_URL.
 */
import { randomUUID } from 'node:crypto';
import { type ServiceAuthorizations, serviceAuthorizations } from '../../clients/service-auth.js';
import { lazily } from '../../lazily.js';
import type { Logger } from '../../log.js';
import { IntakeCounters } from '../../webhook-metrics.js';
import type { ComposeWebhook } from '../../workers/composition.js';
import { type WebhookManifest, webhookPath } from '../../workers/manifest.js';
import { EnvironmentSecretSource } from './environment-secret-source.js';
import { lambdaWorkerLogger, type WebhookLambda, webhookLambda } from './lambda-worker.js';

export interface MeteredWebhookOptions {
  /** Least time between two pushes of one execution environment. @default 2000 */
  readonly pushIntervalMs?: number;
  /** Longest an answer waits on a due push (loading its module, reading PROMETHEUS_AUTH, the request). @default 300 */
  readonly answerWaitMs?: number;
  /** One push request's time limit. @default 1000 */
  readonly pushTimeoutMs?: number;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** @default lambdaWorkerLogger(manifest) */
  readonly logger?: Logger;
  /** Unix milliseconds. @default Date.now */
  readonly now?: () => number;
}

/** True when an environment that last started a push at `lastPushMs` may push again at `nowMs`. */
export function pushDue(lastPushMs: number | undefined, nowMs: number, intervalMs: number): boolean {
  return lastPushMs === undefined || nowMs - lastPushMs >= intervalMs;
}

/** The intake's Lambda handler (webhookLambda), counted and pushed when PROMETHEUS_REMOTE_WRITE_URL is set. */
export function meteredWebhookLambda(
  manifest: WebhookManifest,
  create: ComposeWebhook,
  options: MeteredWebhookOptions = {},
): WebhookLambda {
  const env = options.env ?? process.env;
  const url = env.PROMETHEUS_REMOTE_WRITE_URL;
  if (!url) return webhookLambda(manifest, create);

  const counters = new IntakeCounters();
  const route = webhookPath(manifest);
  const now = options.now ?? Date.now;
  const intervalMs = options.pushIntervalMs ?? 2000;
  const answerWaitMs = options.answerWaitMs ?? 300;
  const logger = options.logger ?? lambdaWorkerLogger(manifest);
  const startedAtMs = now();
  const instance = `${env.AWS_LAMBDA_FUNCTION_NAME ?? manifest.name}/${randomUUID()}`;
  const pusher = lazily(async () => {
    const [{ IntakeMetricsPush }, authorizations] = await Promise.all([
      import('./intake-metrics-push.js'),
      prometheusCredentials(env),
    ]);
    return new IntakeMetricsPush({
      url,
      authorization: authorizations.prometheus,
      instance,
      timeoutMs: options.pushTimeoutMs ?? 1000,
      startedAtMs,
    });
  });
  let lastPushMs: number | undefined;
  let pushing: Promise<void> | undefined;

  const push = async (): Promise<void> => {
    try {
      await (await pusher()).push(counters, now());
    } catch (error) {
      logger.warn({ err: error }, 'intake metrics not written to Prometheus; a later push writes them');
    }
  };
  const answer = webhookLambda(manifest, countingPublished(create, counters));
  return async (event) => {
    const started = performance.now();
    const due = pushing === undefined && pushDue(lastPushMs, now(), intervalMs);
    // Loading the push module and its credential overlap with the intake's own work.
    if (due) pusher().catch(() => undefined);
    let status = 500;
    try {
      const result = await answer(event);
      status = result.statusCode ?? 200;
      return result;
    } finally {
      counters.answered(route, status, (performance.now() - started) / 1000);
      if (due) {
        lastPushMs = now();
        const current = push().finally(() => {
          pushing = undefined;
        });
        pushing = current;
        await atMost(current, answerWaitMs);
      }
    }
  };
}

/** The intake's composition with a bus that counts the events it accepts. */
function countingPublished(create: ComposeWebhook, counters: IntakeCounters): ComposeWebhook {
  return (ports) =>
    create({
      ...ports,
      bus: {
        publish: async (events) => {
          await ports.bus.publish(events);
          counters.published(events.map((event) => event.type));
        },
      },
    });
}

/** PROMETHEUS_AUTH for a hosted receiver (the intake is given no other credential); a failed read fails that push. */
function prometheusCredentials(env: NodeJS.ProcessEnv): Promise<ServiceAuthorizations> {
  if (!env.PROMETHEUS_AUTH && !env.PROMETHEUS_AUTH_ARN) return Promise.resolve({});
  return serviceAuthorizations(new EnvironmentSecretSource(env));
}

/** Waits for `work` for at most `ms`; never throws. */
async function atMost(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work.catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
