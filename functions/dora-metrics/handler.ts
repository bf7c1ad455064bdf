/**
 * The dora-metrics worker on Lambda: an EventBridge rule delivers GitHub* and Incident* events, and an
 * EventBridge Scheduler schedule invokes it hourly with its manifest's payload to recompute everything.
 */
import { processorLambda } from '../shared/adapters/aws/processor-lambda.js';
import { create } from './compose.js';
import { doraMetricsManifest } from './manifest.js';

export const handler = processorLambda(doraMetricsManifest, create);
