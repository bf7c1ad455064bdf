/**
 * Workers on Lambda: builds the AWS ports from the environment, composes the worker once per execution
 * environment (functions/<worker>/compose.ts) and turns invocations into calls of it. A handler.ts is
 * one call of webhookLambda (here) or processorLambda (processor-lambda.ts) with its manifest and its
 * create.
 *
 * Only what an invocation's path needs is loaded: the S3, EventBridge and Secrets Manager clients are
 * imported on their first use, not with the handler.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { loadRuntimeConfig, type RuntimeConfig } from '../../config.js';
import { ConfigurationError } from '../../errors.js';
import { toApiGatewayResult, toWebhookRequest } from '../../http/api-gateway.js';
import type { WebhookHandler } from '../../http/webhook.js';
import { createLogger, type Logger } from '../../log.js';
import { systemClock } from '../../ports/clock.js';
import type { ComposeWebhook, IntakePorts } from '../../workers/composition.js';
import type { ProcessorManifest, WebhookManifest } from '../../workers/manifest.js';
import { DeferredEventBus, DeferredObjectStore } from '../deferred/deferred-ports.js';
import { EnvironmentSecretSource } from './environment-secret-source.js';

export type WebhookLambda = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

/** The logger of a worker on Lambda: JSON lines on stdout, named after the worker. */
export function lambdaWorkerLogger(manifest: Pick<WebhookManifest | ProcessorManifest, 'name'>): Logger {
  return createLogger({ name: manifest.name });
}

/**
 * The store, bus, secrets, clock and logger of a worker on Lambda. Throws ConfigurationError naming
 * TOILLESS_BUCKET or TOILLESS_EVENT_BUS when one is missing.
 */
export function awsIntakePorts(
  manifest: Pick<WebhookManifest | ProcessorManifest, 'name'>,
  env: NodeJS.ProcessEnv = process.env,
  logger: Logger = lambdaWorkerLogger(manifest),
): IntakePorts & { readonly runtime: RuntimeConfig } {
  const runtime = loadRuntimeConfig(env);
  const { bucket, eventBusName } = runtime;
  if (!bucket) {
    throw new ConfigurationError(`TOILLESS_BUCKET is not set: ${manifest.name} needs the store bucket name`);
  }
  if (!eventBusName) {
    throw new ConfigurationError(`TOILLESS_EVENT_BUS is not set: ${manifest.name} needs the event bus name`);
  }
  return {
    runtime,
    store: new DeferredObjectStore(async () => {
      const { S3ObjectStore } = await import('./s3-object-store.js');
      return new S3ObjectStore({ bucket });
    }),
    bus: new DeferredEventBus(async () => {
      const { EventBridgeBus } = await import('./eventbridge-bus.js');
      return new EventBridgeBus({ eventBusName });
    }),
    secrets: new EnvironmentSecretSource(env),
    clock: systemClock,
    logger,
  };
}

/** The Lambda handler of a webhook intake behind API Gateway (payload format 2.0). */
export function webhookLambda(manifest: WebhookManifest, create: ComposeWebhook): WebhookLambda {
  // Built on the first request and kept for the life of the execution environment.
  let intake: WebhookHandler | undefined;
  return async (event) => {
    intake ??= create(awsIntakePorts(manifest));
    return toApiGatewayResult(await intake(toWebhookRequest(event)));
  };
}
