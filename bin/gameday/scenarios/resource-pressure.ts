/**
 * resource-pressure: CPU pressure on the host the node exporter watches (every core of this machine),
 * or on the sample app's task (its /stress). Proves the saturation path: HighCPUWarning fires, then
 * HighCPUCritical while it continues; once the pressure stops both resolve and the incident's Slack
 * root message says Resolved.
 */
import { type CpuBurn, startCpuBurn } from '../cpu-burner.js';
import { skippedAfterFailure } from '../expectations.js';
import { type LoadRun, startLoad } from '../load.js';
import type { ScenarioResult } from '../result.js';
import { firingDeadlineMs } from '../rule-timings.js';
import {
  followAlert,
  resolutionDeadline,
  resolvedProbe,
  type ScenarioContext,
  ScenarioRecorder,
  slackRootProbe,
} from '../scenario-kit.js';

const WARNING = 'HighCPUWarning';
const CRITICAL = 'HighCPUCritical';
/** The sample app runs at most 4 /stress at once (docs/gameday.md); each burns 10 s. */
const STRESS_CONCURRENCY = 4;
const STRESS_MS = 10_000;

export interface ResourcePressureOptions {
  /** Threads of the local-host burn. @default every core */
  readonly threads?: number;
}

export async function runResourcePressure(
  context: ScenarioContext,
  options: ResourcePressureOptions = {},
): Promise<ScenarioResult> {
  const recorder = new ScenarioRecorder('resource-pressure', context);
  const { environment, clock, progress, signal } = context;
  // Bounded even if every wait ran to its deadline: the burn never outlives the scenario.
  const maxMs =
    firingDeadlineMs(context.timings, WARNING, context.scale) +
    firingDeadlineMs(context.timings, CRITICAL, context.scale);
  let burn: CpuBurn | undefined;
  let stress: LoadRun | undefined;
  const stopPressure = async () => {
    await Promise.all([burn?.stop(), stress?.stop()]);
  };
  if (environment.cpuPressure === 'local-host') {
    burn = startCpuBurn({
      maxMs,
      signal,
      ...(options.threads === undefined ? {} : { threads: options.threads }),
    });
    progress.step(
      `resource-pressure: burning ${burn.threads} cores of this machine (at most ${Math.round(maxMs / 1000)} s)`,
    );
  } else {
    const url = new URL('/stress', environment.sampleAppUrl);
    url.searchParams.set('duration_ms', String(STRESS_MS));
    stress = startLoad({
      url: url.href,
      concurrency: STRESS_CONCURRENCY,
      maxMs,
      requestTimeoutMs: STRESS_MS + 10_000,
      signal,
      fetch: context.fetch,
    });
    progress.step(`resource-pressure: ${STRESS_CONCURRENCY} calls at a time to ${url.href}`);
  }
  const trigger = clock.now();
  recorder.mark('trigger', trigger);
  try {
    const warning = await followAlert(context, recorder, { alertname: WARNING, since: trigger });
    // The critical comes while the pressure continues; the warning's incident is the one followed.
    if (warning.firing) {
      await followAlert(context, recorder, { alertname: CRITICAL, since: trigger, notification: false });
    } else {
      recorder.expect(
        skippedAfterFailure(
          `alert-firing:${CRITICAL}`,
          `${CRITICAL} fires in Prometheus`,
          `${WARNING} did not fire`,
        ),
      );
    }
    await stopPressure();
    const stoppedAt = clock.now();
    progress.step('resource-pressure: pressure stopped; waiting for the alerts to resolve');
    const resolved = await recorder.waitAndExpect(
      'alerts-resolved',
      `${WARNING} and ${CRITICAL} resolve after the pressure stops`,
      resolutionDeadline(context, CRITICAL),
      resolvedProbe(context, [WARNING, CRITICAL]),
    );
    if (resolved.kind === 'seen') recorder.mark('resolved', resolved.at);
    const rootText = "the incident's Slack root message says Resolved";
    if (recorder.incidentId === undefined) {
      recorder.expect(skippedAfterFailure('slack-resolved', rootText, 'no incident was found'));
    } else {
      const elapsed = clock.now().getTime() - stoppedAt.getTime();
      await recorder.waitAndExpect(
        'slack-resolved',
        rootText,
        Math.max(context.pollMs, resolutionDeadline(context, CRITICAL) - elapsed) +
          context.timings.groupIntervalMs * context.scale.factor,
        slackRootProbe(context, recorder.incidentId, { resolved: true }),
      );
    }
  } catch (error) {
    recorder.error = (error as Error).message;
  } finally {
    await stopPressure();
  }
  return recorder.result();
}
