/**
 * deploy-failure: successful production deployments, then a failed one, reach toilless's GitHub
 * webhook as GitHub would send them. Proves the DORA path end to end: the change failure rate is
 * recomputed and written to Prometheus, HighChangeFailureRate fires, Alertmanager routes it, toilless
 * opens an incident with a Slack thread. Afterwards successful deployments bring the rate back down.
 */
import { failed, held } from '../expectations.js';
import { deploymentDeliveries, deploymentSeries, sendDelivery } from '../github-deliveries.js';
import type { ScenarioResult } from '../result.js';
import { firingDeadlineMs } from '../rule-timings.js';
import {
  followAlert,
  resolutionDeadline,
  resolvedProbe,
  type ScenarioContext,
  ScenarioRecorder,
} from '../scenario-kit.js';

/** 4 successes and 1 failure: a change failure rate of 20%, above the rule's 15%. */
export const SUCCESSES_BEFORE_FAILURE = 4;
/** Successes sent afterwards: 1 failure in 8 is 12.5%, below 15%, so the alert resolves. */
export const RECOVERY_SUCCESSES = 3;
export const PRODUCTION_ENVIRONMENT = 'production';
const ALERT = 'HighChangeFailureRate';

/** A repository per run: the run's DORA series and alert are its own, whatever earlier runs left. */
export function gamedayRepository(at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').toLowerCase();
  return `toilless-gameday/deploy-failure-${stamp}`;
}

export async function runDeployFailure(context: ScenarioContext): Promise<ScenarioResult> {
  const recorder = new ScenarioRecorder('deploy-failure', context);
  const { environment, clock, progress, signal } = context;
  const start = clock.now();
  const repository = gamedayRepository(start);
  const idBase = Math.floor(start.getTime() / 1000) % 1_000_000_000;
  const labels = { repository, environment: PRODUCTION_ENVIRONMENT };
  const deliver = async (
    deployments: ReturnType<typeof deploymentSeries>,
    stopOn: AbortSignal | undefined = signal,
  ) => {
    for (const deployment of deployments) {
      for (const delivery of deploymentDeliveries(deployment)) {
        await sendDelivery(environment.toillessUrl, environment.githubWebhookSecret, delivery, {
          signal: stopOn,
          fetch: context.fetch,
        });
      }
    }
  };
  let failureSent = false;
  let recovered = false;
  /** Enough successes that the rate falls under the threshold: sent even after a stop (each delivery is bounded in time). */
  const recover = async () => {
    recovered = true;
    const recoveryStart = clock.now();
    const recovery = Array.from({ length: RECOVERY_SUCCESSES }, (_, index) => ({
      repository,
      environment: PRODUCTION_ENVIRONMENT,
      id: idBase + 100 + index,
      statusId: idBase + 1100 + index,
      sha: `${(idBase + 100 + index).toString(16).padStart(8, '0')}${'0'.repeat(32)}`,
      createdAt: new Date(recoveryStart.getTime() - (RECOVERY_SUCCESSES - index) * 20_000),
      // The last one finishes now, after the failure.
      finishedAt: new Date(recoveryStart.getTime() - (RECOVERY_SUCCESSES - 1 - index) * 10_000),
      status: 'success' as const,
    }));
    progress.step(
      `deploy-failure: ${RECOVERY_SUCCESSES} successful deployments to bring the rate back under 15%`,
    );
    await deliver(recovery, undefined).catch((error: unknown) => {
      progress.step(`deploy-failure: the recovery deliveries failed: ${(error as Error).message}`);
    });
  };

  try {
    const series = deploymentSeries(
      repository,
      PRODUCTION_ENVIRONMENT,
      start,
      SUCCESSES_BEFORE_FAILURE,
      idBase,
    );
    progress.step(
      `deploy-failure: ${SUCCESSES_BEFORE_FAILURE} successful deployments then a failed one of ${repository} to ${PRODUCTION_ENVIRONMENT}`,
    );
    try {
      await deliver(series);
    } catch (error) {
      recorder.expect(
        failed(
          'deliveries-accepted',
          'toilless accepts the signed GitHub deliveries',
          (error as Error).message,
        ),
      );
      return recorder.result();
    }
    failureSent = true;
    const trigger = clock.now();
    recorder.mark('trigger', trigger);
    recorder.expect(
      held(
        'deliveries-accepted',
        'toilless accepts the signed GitHub deliveries',
        trigger,
        `${series.length * 2} deliveries`,
      ),
    );

    const expectedRate = 1 / (SUCCESSES_BEFORE_FAILURE + 1);
    const selector = `repository="${repository}",environment="${PRODUCTION_ENVIRONMENT}",window="30d"`;
    // The worker writes on each event; the DORA alert's own window does not apply to the series.
    const seriesDeadline = firingDeadlineMs(context.timings, ALERT, context.scale);
    await recorder.waitAndExpect(
      'dora-series',
      `the DORA series of ${repository} change in Prometheus (change failure rate ${expectedRate * 100}%, ${SUCCESSES_BEFORE_FAILURE} successes, 1 failure)`,
      seriesDeadline,
      async () => {
        const [rate, deployments, frequency] = await Promise.all([
          context.api.query(`dora_change_failure_rate{${selector}}`, signal),
          context.api.query(`dora_deployments{${selector}}`, signal),
          context.api.query(`dora_deployment_frequency_per_day{${selector}}`, signal),
        ]);
        const value = rate[0]?.value;
        const successes = deployments.find((sample) => sample.labels.status === 'success')?.value;
        const failures = deployments.find((sample) => sample.labels.status === 'failure')?.value;
        const seen = `dora_change_failure_rate ${value ?? 'absent'}, dora_deployments success ${successes ?? 'absent'} failure ${failures ?? 'absent'}, frequency ${frequency[0]?.value ?? 'absent'}`;
        if (
          value !== undefined &&
          Math.abs(value - expectedRate) < 1e-9 &&
          successes === SUCCESSES_BEFORE_FAILURE &&
          failures === 1 &&
          frequency.length > 0
        ) {
          return { value: seen };
        }
        return { seen };
      },
      (seen) => seen,
    );

    const followed = await followAlert(context, recorder, { alertname: ALERT, labels, since: trigger });

    await recover();
    if (followed.firing) {
      await recorder
        .waitAndExpect(
          `alert-resolved:${ALERT}`,
          `${ALERT} resolves once successful deployments bring the rate under 15%`,
          resolutionDeadline(context, ALERT),
          resolvedProbe(context, [ALERT], labels),
        )
        .then((outcome) => {
          if (outcome.kind === 'seen') recorder.mark('resolved', outcome.at);
        });
    }
  } catch (error) {
    recorder.error = (error as Error).message;
  } finally {
    if (failureSent && !recovered) await recover();
  }
  return recorder.result();
}
