/**
 * The weekly-report worker on Lambda: EventBridge Scheduler invokes it with its manifest's payload on
 * the cron and time zone of toilless.yaml `report`.
 */
import { processorLambda } from '../shared/adapters/aws/processor-lambda.js';
import { create } from './compose.js';
import { weeklyReportManifest } from './manifest.js';

export const handler = processorLambda(weeklyReportManifest, create);
