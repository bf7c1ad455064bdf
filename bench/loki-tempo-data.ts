/**
 * The incident that Loki/Tempo benchmarks and tests replay: an hour of sample-app and payments traffic
 * whose last ten minutes fail at checkout. Logs and traces agree: every error line of the sample app
 * carries the id of a failing trace that Tempo holds, some of them with leading zeros.
 *
 *   const scenario = incidentScenario();                        // ~1,000,000 lines, 10,000 traces
 *   const loki = await startLokiServer({ generator: scenario.logs });
 *   const tempo = await startTempoServer({ traces: scenario.traces });
 */
import type { LogGenerator } from '../test/support/loki-server.js';
import { generateTraces, type TempoTraceInput } from '../test/support/tempo-server.js';

export interface IncidentScenarioOptions {
  /** Seed of every pseudo-random choice. @default 1 */
  readonly seed?: number;
  /** Log lines across both services (about; rates are whole lines per second). @default 1_000_000 */
  readonly lines?: number;
  /** Traces in Tempo. @default 10_000 */
  readonly traces?: number;
  /** When the window ends, about when the alert fires. @default 2026-11-28T09:05:00Z */
  readonly end?: Date;
  /** Length of the window. @default 60 */
  readonly windowMinutes?: number;
  /** Length of the failing stretch at the end of the window. @default 10 */
  readonly incidentMinutes?: number;
}

export interface IncidentScenario {
  readonly start: Date;
  readonly end: Date;
  readonly incident: { readonly start: Date; readonly end: Date };
  /** For startLokiServer({ generator }): sample-app JSON lines (80%) and payments logfmt lines (20%). */
  readonly logs: LogGenerator;
  /** For startTempoServer({ traces }). */
  readonly traces: readonly TempoTraceInput[];
  /** Ids of the failing traces (32 hex) that the sample app's error lines carry. */
  readonly errorTraceIds: readonly string[];
}

export function incidentScenario(options: IncidentScenarioOptions = {}): IncidentScenario {
  const seed = options.seed ?? 1;
  const end = options.end ?? new Date('2026-11-28T09:05:00Z');
  const windowSeconds = (options.windowMinutes ?? 60) * 60;
  const start = new Date(end.getTime() - windowSeconds * 1000);
  const incident = { start: new Date(end.getTime() - (options.incidentMinutes ?? 10) * 60_000), end };
  const linesPerSecond = (options.lines ?? 1_000_000) / windowSeconds;

  const traces = generateTraces({
    seed,
    start,
    end,
    count: options.traces ?? 10_000,
    errorRatio: 0.002,
    incident: { ...incident, errorRatio: 0.3 },
  });
  const errorTraceIds = traces
    .filter((trace) => trace.spans.some((span) => span.status?.code === 'error'))
    .filter((trace) => trace.spans.some((span) => toMs(span.start) >= incident.start.getTime()))
    .map((trace) => trace.traceId);

  return {
    start,
    end,
    incident,
    traces,
    errorTraceIds,
    logs: {
      seed,
      start,
      end,
      streams: [
        {
          labels: { service_name: 'sample-app' },
          linesPerSecond: linesPerSecond * 0.8,
          errorRatio: 0.001,
          incident: { ...incident, errorRatio: 0.25 },
          errorTraceIds,
        },
        {
          labels: { service_name: 'payments' },
          linesPerSecond: linesPerSecond * 0.2,
          errorRatio: 0.001,
          incident: { ...incident, errorRatio: 0.1 },
          format: 'logfmt',
          errorMessage: 'charge failed: upstream timeout after 2200ms',
          infoMessage: 'charge ok',
        },
      ],
    },
  };
}

function toMs(value: bigint | Date): number {
  return typeof value === 'bigint' ? Number(value / 1_000_000n) : value.getTime();
}
