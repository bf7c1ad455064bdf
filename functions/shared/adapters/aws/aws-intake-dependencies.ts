/** The intakes' dependencies on Lambda: S3 store, EventBridge bus, Secrets Manager, built from the environment. */

import { loadRuntimeConfig } from '../../config.js';
import { ConfigurationError } from '../../errors.js';
import type { IntakeDependencies } from '../../http/intake.js';
import { createLogger } from '../../log.js';
import { systemClock } from '../../ports/clock.js';
import { EnvironmentSecretSource } from './environment-secret-source.js';
import { EventBridgeBus } from './eventbridge-bus.js';
import { S3ObjectStore } from './s3-object-store.js';

/** Call once per cold start. Throws ConfigurationError naming TOILLESS_BUCKET or TOILLESS_EVENT_BUS when one is missing. */
export function createAwsIntakeDependencies(
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): IntakeDependencies {
  const config = loadRuntimeConfig(env);
  if (!config.bucket) {
    throw new ConfigurationError(
      'TOILLESS_BUCKET is not set: the webhook intake needs the store bucket name',
    );
  }
  if (!config.eventBusName) {
    throw new ConfigurationError(
      'TOILLESS_EVENT_BUS is not set: the webhook intake needs the event bus name',
    );
  }
  return {
    store: new S3ObjectStore({ bucket: config.bucket }),
    bus: new EventBridgeBus({ eventBusName: config.eventBusName }),
    secrets: new EnvironmentSecretSource(env),
    clock: systemClock,
    logger: createLogger({ name }),
  };
}
