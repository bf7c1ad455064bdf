/**
 * latency: load on the sample app's /slow until the p95 of successful requests passes 500 ms. Proves
 * the latency path: HighLatencyP95 and the latency SLO's burn-rate alert fire, toilless's incident
 * timeline holds the moment the latency crossed, and, where Loki and Tempo are configured, the slow
 * requests' log lines and a slow trace.
 */
import { failed, held, notApplicable, skippedAfterFailure } from '../expectations.js';
import { startLoad } from '../load.js';
import type { ScenarioResult } from '../result.js';
import { firingDeadlineMs, scaledMs } from '../rule-timings.js';
import { followAlert, type ScenarioContext, ScenarioRecorder } from '../scenario-kit.js';

export interface LatencyOptions {
  /** The delay /slow is asked for; above 500 ms so every request is slow. @default 1500 */
  readonly delayMs?: number;
  /** Requests in flight at once. @default 8 */
  readonly concurrency?: number;
}

const SERVICE = 'sample-app';
const P95_ALERT = 'HighLatencyP95';
const BURN_ALERT = 'FastBurnRate';
/** The shipped latency rule's window (5m), scaled like the rule itself in a shortened run. */
const RULE_WINDOW_MS = 300_000;

export async function runLatency(
  context: ScenarioContext,
  options: LatencyOptions = {},
): Promise<ScenarioResult> {
  const recorder = new ScenarioRecorder('latency', context);
  const { environment, clock, progress, signal } = context;
  const delayMs = options.delayMs ?? 1500;
  const concurrency = options.concurrency ?? 8;
  if (!(delayMs > 500 && delayMs <= 30_000)) {
    throw new RangeError(
      `the latency scenario's delay must be above 500 ms and at most 30000 ms, not ${delayMs}`,
    );
  }
  const url = new URL('/slow', environment.sampleAppUrl);
  url.searchParams.set('delay_ms', String(delayMs));
  const maxMs =
    Math.max(
      firingDeadlineMs(context.timings, P95_ALERT, context.scale),
      firingDeadlineMs(context.timings, BURN_ALERT, context.scale),
    ) * 3;
  progress.step(`latency: ${concurrency} requests at a time to ${url.href}`);
  const load = startLoad({
    url: url.href,
    concurrency,
    maxMs,
    requestTimeoutMs: delayMs + 10_000,
    signal,
    fetch: context.fetch,
  });
  const trigger = clock.now();
  recorder.mark('trigger', trigger);
  try {
    const windowSeconds = Math.max(
      Math.ceil(
        scaledMs(RULE_WINDOW_MS, { factor: environment.timeScale?.factor ?? 1, timeoutScale: 1 }) / 1000,
      ),
      Math.ceil((4 * context.timings.scrapeIntervalMs * (environment.timeScale?.factor ?? 1)) / 1000),
    );
    const p95 = `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{service="${SERVICE}",status_code!~"5.."}[${windowSeconds}s])))`;
    const crossing = await recorder.waitAndExpect(
      'p95-crossed',
      'the p95 of successful sample-app requests passes 500 ms in Prometheus',
      firingDeadlineMs(context.timings, P95_ALERT, context.scale),
      async () => {
        const samples = await context.api.query(p95, signal);
        const value = samples[0]?.value;
        if (value !== undefined && value > 0.5) return { value };
        return {
          seen: `p95 ${value === undefined || Number.isNaN(value) ? 'absent' : `${value.toFixed(3)} s`}; ${load.stats.ok} requests answered, ${load.stats.failed} failed${load.stats.lastError ? ` (${load.stats.lastError})` : ''}`,
        };
      },
      (value) => `${value.toFixed(3)} s`,
    );

    const followed = await followAlert(context, recorder, {
      alertname: P95_ALERT,
      labels: { service: SERVICE },
      since: trigger,
    });
    await followAlert(context, recorder, {
      alertname: BURN_ALERT,
      labels: { service: SERVICE, slo: 'latency' },
      since: trigger,
      notification: false,
    });

    const incident = followed.incident;
    const timelineId = 'timeline-latency-crossing';
    const timelineText = 'the incident timeline holds the moment the latency crossed 500 ms';
    if (incident === undefined) {
      recorder.expect(skippedAfterFailure(timelineId, timelineText, 'no incident was found'));
    } else {
      // The timeline is rebuilt on each notification: read it again now rather than the first copy.
      const current = (await context.incidents.get(incident.id)) ?? incident;
      const crossed = current.events.find(
        (event) =>
          event.kind === 'metric' &&
          event.source === 'prometheus' &&
          Array.isArray(event.details.alertnames) &&
          event.details.alertnames.includes(P95_ALERT) &&
          /first true/.test(event.summary),
      );
      recorder.expect(
        crossed
          ? held(timelineId, timelineText, new Date(crossed.at), crossed.summary.slice(0, 200))
          : failed(
              timelineId,
              timelineText,
              `no ${P95_ALERT} "condition first true" event among ${current.events.length} events`,
            ),
      );
      const logsText = "the timeline holds the slow requests' log lines (Loki)";
      if (!environment.lokiConfigured) {
        recorder.expect(
          notApplicable(
            'timeline-logs',
            logsText,
            'Loki is not configured here (LOKI_URL unset): toilless reads no logs',
          ),
        );
      } else {
        const logs = current.events.filter(
          (event) => event.source === 'loki' && event.kind.startsWith('log.'),
        );
        recorder.expect(
          logs.length > 0
            ? held(
                'timeline-logs',
                logsText,
                new Date(logs[0]?.at ?? clock.now()),
                `${logs.length} log events`,
              )
            : failed('timeline-logs', logsText, sourceProblem(current.events, 'loki')),
        );
      }
      const traceText = 'the timeline holds a slow trace (Tempo)';
      if (!environment.tempoConfigured) {
        recorder.expect(
          notApplicable(
            'timeline-trace',
            traceText,
            'Tempo is not configured here (TEMPO_URL unset): toilless reads no traces',
          ),
        );
      } else {
        const traces = current.events.filter((event) => event.kind === 'trace.slow');
        recorder.expect(
          traces.length > 0
            ? held(
                'timeline-trace',
                traceText,
                new Date(traces[0]?.at ?? clock.now()),
                traces[0]?.summary.slice(0, 200),
              )
            : failed('timeline-trace', traceText, sourceProblem(current.events, 'tempo')),
        );
      }
    }
    if (crossing.kind === 'seen' && followed.firing)
      progress.step('latency: every alert seen; stopping the load');
  } catch (error) {
    recorder.error = (error as Error).message;
  } finally {
    await load.stop();
    recorder.mark('resolved', clock.now());
    progress.step(
      `latency: load stopped after ${load.stats.sent} requests (${load.stats.ok} answered, ${load.stats.failed} failed)`,
    );
  }
  return recorder.result();
}

function sourceProblem(
  events: readonly { readonly kind: string; readonly source: string; readonly summary: string }[],
  source: string,
): string {
  const unavailable = events.find((event) => event.kind === 'source.unavailable' && event.source === source);
  return unavailable
    ? `${source} was unavailable to toilless: ${unavailable.summary.slice(0, 200)}`
    : `no ${source} events in the timeline`;
}
