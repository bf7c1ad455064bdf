/**
 * On Lambda there is no GET /metrics to scrape: the facts the local runtime counts
 * (functions/local/worker-metrics.ts) are written as one structured log line each, naming the counter
 * and its labels, so that a CloudWatch Logs metric filter or a log query can count them the same way.
 * Dead letters are not among them: on AWS they are the messages of the workers' SQS DLQs.
 */
import type { Logger } from './log.js';

export type WorkerSignal =
  | { readonly metric: 'toilless_worker_failures_total'; readonly subscriber: string }
  | { readonly metric: 'toilless_evidence_sources_unavailable_total'; readonly source: string };

export function logWorkerSignal(logger: Logger, signal: WorkerSignal, error?: unknown): void {
  logger.warn({ ...signal, ...(error !== undefined ? { err: error } : {}) }, `${signal.metric} +1`);
}

/**
 * Runs one delivery to a Lambda worker. A throw is logged as a worker failure of `subscriber` and
 * rethrown, so that Lambda retries the event and finally sends it to the DLQ as before.
 */
export async function countingFailures<T>(
  logger: Logger,
  subscriber: string,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    logWorkerSignal(logger, { metric: 'toilless_worker_failures_total', subscriber }, error);
    throw error;
  }
}
