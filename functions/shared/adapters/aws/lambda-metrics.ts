/**
 * The toilless_* metrics of a worker on Lambda. Nothing can scrape a function, so the execution
 * environment counts in its own registry (the same metric definitions the local server exposes on
 * GET /metrics) and pushes the current values to Prometheus's remote-write receiver at the end of each
 * invocation, under an `instance` label of its own: counters stay cumulative per environment, and
 * increase() over them behaves as for a scraped target whose instances come and go.
 */
import { randomUUID } from 'node:crypto';
import { WorkerMetrics } from '../../../local/worker-metrics.js';
import type { Logger } from '../../log.js';
import { registrySeries } from '../../prometheus/registry-series.js';
import { RemoteWriteClient } from '../../prometheus/remote-write.js';
import { PUSHED_JOB_LABELS } from './pushed-job-labels.js';

export { PUSHED_JOB_LABELS } from './pushed-job-labels.js';

export interface LambdaMetricsOptions {
  /** The worker (subscriber) whose failures are counted. */
  readonly worker: string;
  /** Prometheus's remote-write receiver; without one nothing is pushed. */
  readonly remoteWriteUrl?: string;
  readonly logger: Logger;
  /** The function's name, in the instance label. @default AWS_LAMBDA_FUNCTION_NAME, else the worker */
  readonly functionName?: string;
  /** Time budget of one push, retries included: an invocation never waits longer on it. @default 2000 */
  readonly pushDeadlineMs?: number;
  /** The push time. @default Date.now */
  readonly now?: () => number;
}

export class LambdaMetrics {
  /** The counters; pass `signals` to the worker and wrap its bus with `countPublished`. */
  readonly metrics = new WorkerMetrics({ processMetrics: false });
  /** This execution environment: one series per counter and environment. */
  readonly instance: string;
  private client: RemoteWriteClient | undefined;

  constructor(private readonly options: LambdaMetricsOptions) {
    this.instance = `${options.functionName ?? process.env.AWS_LAMBDA_FUNCTION_NAME ?? options.worker}/${randomUUID()}`;
    // The worker's failure series exists at 0, so the first failure is an increase.
    this.metrics.workerFailures.inc({ subscriber: options.worker }, 0);
    this.client = this.remoteWriteClient(undefined);
  }

  /** Pushes with this Authorization header from now on: a hosted receiver's credentials (PROMETHEUS_AUTH). */
  authorize(authorization: string | undefined): void {
    this.client = this.remoteWriteClient(authorization);
  }

  private remoteWriteClient(authorization: string | undefined): RemoteWriteClient | undefined {
    if (!this.options.remoteWriteUrl) return undefined;
    const deadlineMs = this.options.pushDeadlineMs ?? 2000;
    return new RemoteWriteClient({
      url: this.options.remoteWriteUrl,
      deadlineMs,
      timeoutMs: deadlineMs,
      maxAttempts: 2,
      authorization,
    });
  }

  /** One failed attempt of the worker (each retry counts, as locally). */
  failed(): void {
    this.metrics.workerFailures.inc({ subscriber: this.options.worker });
  }

  /** Writes the current values; a failure is logged and never thrown: the invocation's outcome stands. */
  async push(): Promise<void> {
    if (!this.client) return;
    const labels = { ...PUSHED_JOB_LABELS, instance: this.instance };
    const now = this.options.now ?? Date.now;
    try {
      const series = registrySeries(await this.metrics.registry.getMetricsAsJSON(), labels, now());
      await this.client.write(series);
    } catch (error) {
      this.options.logger.warn(
        { err: error },
        'toilless metrics not written to Prometheus; the next invocation writes them',
      );
    }
  }
}

export { configuredRemoteWriteUrl } from './remote-write-target.js';
