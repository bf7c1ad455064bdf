/**
 * The incident-timeline worker on Lambda. EventBridge rules deliver AlertNotification events (incidents)
 * and DeploymentRecorded events (the per-service deploy index the timeline's first suspect comes from).
 */
import { processorLambda } from '../shared/adapters/aws/processor-lambda.js';
import { create } from './compose.js';
import { incidentTimelineManifest } from './manifest.js';

export const handler = processorLambda(incidentTimelineManifest, create);
