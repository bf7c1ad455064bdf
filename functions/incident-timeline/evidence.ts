/**
 * Evidence for an incident timeline: Prometheus, Loki, Tempo and the deployment index, queried in
 * parallel for one service over one window (EvidenceRequest: from 30 minutes before the estimated
 * onset to now or resolution). Each source has its own timeout (8 s) inside the request's overall
 * budget; a source that is down, slow or answers errors becomes ONE `source.unavailable` event and
 * the others still contribute. Loki's error-line sample runs first in its branch because its trace
 * ids are what Tempo fetches by id; Tempo's searches start at once.
 *
 * RELEVANCE RULES (high: the key events, shown first and in the Slack thread; normal: the timeline;
 * low: the postmortem's appendix)
 *
 * Deployments (the index of DeploymentRecorded events, see deploy-index.ts)
 *   high    the latest deployment that finished before onset, within incidents.deployLookback (2h):
 *           the first suspect. A production deployment is preferred when there is one. Failed
 *           deployments are flagged ("failed to deploy") and are suspects like the others.
 *   normal  the other deployments that finished before onset within the lookback
 *   low     deployments that finished between onset and the end of the window (a rollback or a fix:
 *           they cannot have started the incident)
 * Prometheus (the alert rule's expression: from the alert's generatorURL when its origin is a configured
 * Prometheus, else the configured Prometheus' rule of that name; see sources/prometheus.ts)
 *   high    when the alert's condition first held in the window: for `<expr> > <number>` (also >=, <,
 *           <=) the first point where <expr> passed the number, else the first point of the whole rule
 *   normal  the expression's peak, its value and time (the lowest value for < and <= rules)
 *   normal  each other alert of the same service that fired in the window (ALERTS), the incident's
 *           own alerts left out; beyond 10 of them, one low event counts the rest
 * Loki (`sum by (detected_level) (count_over_time(<selector> [<step>]))` at a 1-minute step, then a sample of error lines)
 *   high    the first error spike that starts within 15 minutes of the estimated onset. A spike is a
 *           run of minutes each with more error lines than max(3 x the median of all the minutes before
 *           it in the window, 5)
 *   normal  the other spikes (the first 10)
 *   high    the most frequent error message in the sample (incidents.maxErrorLines newest error
 *           lines), at its first occurrence; messages are grouped by template: numbers, ids, uuids and
 *           IP addresses replaced
 *   normal  the next 9 messages, each with its count
 *   low     one event counting the messages beyond those 10
 * Tempo (the traces of the sampled error lines, at most 10, and two TraceQL searches of the window)
 *   high    the most common failure among the fetched traces: the endpoint that failed and the deepest
 *           failing span ("POST /checkout failed in payments (span charge-card, 2.3 s)")
 *   normal  the other failures; how many traces had error spans (search); how many were slower than
 *           the service's latency SLO threshold (slos.yaml, else 500 ms), naming the slowest span
 * Every source
 *   normal  source.unavailable, one per source that failed, naming the source and the error
 *
 * Events carry `details.key`, so the same fact found again on the incident's next update is kept once.
 *
 * ALERT STORMS: requests to each source are bounded by incidents.concurrency across every incident the
 * runtime builds at once (source-limits.ts). A request waits for a slot within the request's budget;
 * the source's own time limit runs from its first request that got a slot.
 */

import { LokiClient } from '../shared/clients/loki.js';
import { PrometheusClient } from '../shared/clients/prometheus.js';
import type { ServiceAuthorizations } from '../shared/clients/service-auth.js';
import { TempoClient } from '../shared/clients/tempo.js';
import type { RuntimeConfig } from '../shared/config.js';
import { parseDurationMs } from '../shared/duration.js';
import type { Logger } from '../shared/log.js';
import { type Clock, systemClock } from '../shared/ports/clock.js';
import type { ObjectStore } from '../shared/ports/object-store.js';
import { loadSloDefinitions, type SloDefinition } from '../shared/slo-definitions.js';
import { evidenceConcurrency, logSelectorFor, type ToillessConfig } from '../shared/stack-config.js';
import type { EvidenceGatherer, EvidenceRequest, EvidenceSource, TimelineEvent } from './model.js';
import { EvidenceLimits, type SourceTurn } from './source-limits.js';
import { gatherDeploymentEvidence } from './sources/deployments.js';
import { SourceFindings } from './sources/findings.js';
import { gatherLokiEvidence } from './sources/loki.js';
import { gatherPrometheusEvidence } from './sources/prometheus.js';
import { gatherTempoEvidence } from './sources/tempo.js';

export interface EvidenceGathererDependencies {
  /** Where Prometheus, Loki and Tempo answer (PROMETHEUS_URL, LOKI_URL, TEMPO_URL). */
  readonly config: Pick<RuntimeConfig, 'prometheusUrl' | 'lokiUrl' | 'tempoUrl'>;
  /** Authorization headers of hosted services (PROMETHEUS_AUTH, LOKI_AUTH, TEMPO_AUTH). @default none */
  readonly authorizations?: ServiceAuthorizations;
  /**
   * toilless.yaml: links.grafanaUrl, prometheus.externalUrls, services' log selectors,
   * incidents.deployLookback and maxErrorLines.
   */
  readonly toilless: ToillessConfig;
  /** The stack-config directory toilless.yaml was read from: slos.yaml is read from it too. */
  readonly stackConfigDir: string;
  /** Holds the deployment index (incidents/deploys/). */
  readonly store: ObjectStore;
  readonly logger: Logger;
  /** Times of source.unavailable events. @default systemClock */
  readonly clock?: Clock;
  /** Time limit of each source, within the request's budget. @default 8000 */
  readonly sourceTimeoutMs?: number;
  /** The SLOs whose latency thresholds make a span slow. @default slos.yaml of stackConfigDir, read once */
  readonly slos?: readonly SloDefinition[];
  /**
   * The per-source request limits, shared by every incident this gatherer builds. Create one gatherer
   * per runtime. @default new EvidenceLimits(evidenceConcurrency(toilless, runtimes))
   */
  readonly limits?: EvidenceLimits;
  /** Runtimes that share incidents.concurrency (function instances on AWS). @default 1 */
  readonly runtimes?: number;
  /** The fetch under the limits (tests). @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /**
   * Told of each source.unavailable event the gatherer adds, with its source (the /metrics counter
   * toilless_evidence_sources_unavailable_total). It must not throw.
   */
  readonly onSourceUnavailable?: (source: EvidenceSource) => void;
}

export const DEFAULT_SOURCE_TIMEOUT_MS = 8_000;
/** Slow spans when the service has no latency SLO. */
export const DEFAULT_LATENCY_THRESHOLD_MS = 500;

const SOURCE_NAMES: Record<EvidenceSource, string> = {
  alertmanager: 'Alertmanager',
  prometheus: 'Prometheus',
  loki: 'Loki',
  tempo: 'Tempo',
  deployments: 'Deployments',
  toilless: 'toilless',
};

export function createEvidenceGatherer(deps: EvidenceGathererDependencies): EvidenceGatherer {
  const clock = deps.clock ?? systemClock;
  const timeoutMs = deps.sourceTimeoutMs ?? DEFAULT_SOURCE_TIMEOUT_MS;
  const limits = deps.limits ?? new EvidenceLimits(evidenceConcurrency(deps.toilless, deps.runtimes));
  // The clients' own limit counts from the call, which includes waiting for a slot, so it is only a
  // backstop: runSource stops a source `timeoutMs` after its first request got a slot, and the
  // request's budget (incidents.sourceBudget) stops the waiting.
  const requestTimeoutMs = parseDurationMs(deps.toilless.incidents.sourceBudget) + timeoutMs;
  const prometheus = new PrometheusClient({
    baseUrl: deps.config.prometheusUrl,
    timeoutMs: requestTimeoutMs,
    fetch: limits.fetchFor('prometheus', deps.fetch),
    authorization: deps.authorizations?.prometheus,
  });
  const loki = new LokiClient({
    baseUrl: deps.config.lokiUrl,
    timeoutMs: requestTimeoutMs,
    fetch: limits.fetchFor('loki', deps.fetch),
    authorization: deps.authorizations?.loki,
  });
  const tempo = new TempoClient({
    baseUrl: deps.config.tempoUrl,
    timeoutMs: requestTimeoutMs,
    fetch: limits.fetchFor('tempo', deps.fetch),
    authorization: deps.authorizations?.tempo,
  });
  const deployIndex = limits.storeFor(deps.store);
  const grafanaUrl = deps.toilless.links.grafanaUrl;
  const lookbackMs = parseDurationMs(deps.toilless.incidents.deployLookback);
  let slos = deps.slos;

  const sloDefinitions = (): readonly SloDefinition[] => {
    if (slos === undefined) {
      try {
        slos = loadSloDefinitions(deps.stackConfigDir);
      } catch (error) {
        deps.logger.warn(
          { err: error },
          `slos.yaml unreadable: slow spans are those over ${DEFAULT_LATENCY_THRESHOLD_MS} ms`,
        );
        slos = [];
      }
    }
    return slos;
  };

  const run = (source: EvidenceSource, request: EvidenceRequest, priority: number, gather: SourceGather) =>
    runSource({ source, request, timeoutMs, clock, logger: deps.logger, gather, limits, priority });
  const counted = (events: TimelineEvent[]): TimelineEvent[] => {
    for (const event of events) {
      if (event.kind === 'source.unavailable') deps.onSourceUnavailable?.(event.source);
    }
    return events;
  };

  return async (request) => {
    const priority = limits.nextPriority();
    try {
      let deliverTraceIds: (ids: readonly string[]) => void = () => {};
      const traceIds = new Promise<readonly string[]>((resolve) => {
        deliverTraceIds = resolve;
      });
      const latency = latencyThreshold(sloDefinitions(), request.service);
      const lokiBranch = run('loki', request, priority, (signal, findings) =>
        gatherLokiEvidence(request, signal, findings, {
          client: loki,
          selector: logSelectorFor(deps.toilless, request.service),
          grafanaUrl,
          maxErrorLines: deps.toilless.incidents.maxErrorLines,
          onTraceIds: deliverTraceIds,
        }),
      ).finally(() => deliverTraceIds([]));
      const results = await Promise.all([
        run('deployments', request, priority, (signal, findings) =>
          gatherDeploymentEvidence(request, signal, findings, { store: deployIndex, lookbackMs }),
        ),
        run('prometheus', request, priority, (signal, findings) =>
          gatherPrometheusEvidence(request, signal, findings, {
            client: prometheus,
            grafanaUrl,
            trustedUrls: [deps.config.prometheusUrl, ...deps.toilless.prometheus.externalUrls],
          }),
        ),
        lokiBranch,
        run('tempo', request, priority, (signal, findings) =>
          gatherTempoEvidence(request, signal, findings, {
            client: tempo,
            grafanaUrl,
            latencyThresholdMs: latency.ms,
            latencyThresholdSource: latency.source,
            traceIds,
          }),
        ),
      ]);
      return counted(results.flat());
    } catch (error) {
      // Only a defect gets here (the sources catch their own failures); the timeline goes on without evidence.
      deps.logger.error({ err: error, incidentId: request.incidentId }, 'evidence gathering failed');
      return counted([
        unavailable('toilless', clock.now(), `evidence gathering failed: ${messageOf(error)}`, {}),
      ]);
    }
  };
}

/** The strictest latency SLO threshold of the service, or the default. */
export function latencyThreshold(
  slos: readonly SloDefinition[],
  service: string,
): { readonly ms: number; readonly source: string } {
  let best: { ms: number; source: string } | undefined;
  for (const slo of slos) {
    if (slo.service !== service || slo.sli.type !== 'latency') continue;
    const ms = Math.round(Number(slo.sli.threshold) * 1_000_000) / 1000;
    if (!(ms > 0)) continue;
    if (best === undefined || ms < best.ms) best = { ms, source: `${slo.name} SLO` };
  }
  return best ?? { ms: DEFAULT_LATENCY_THRESHOLD_MS, source: 'default' };
}

type SourceGather = (signal: AbortSignal, findings: SourceFindings) => Promise<void>;

interface SourceRun {
  readonly source: EvidenceSource;
  readonly request: EvidenceRequest;
  readonly timeoutMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly gather: SourceGather;
  readonly limits: EvidenceLimits;
  readonly priority: number;
}

/**
 * Runs one source until it finishes, its timeout passes or the budget runs out, whichever is first,
 * and returns what it found plus one source.unavailable event when anything went wrong.
 */
async function runSource(run: SourceRun): Promise<TimelineEvent[]> {
  const { source, request, timeoutMs } = run;
  const findings = new SourceFindings();
  const controller = new AbortController();
  let stopReason: string | undefined;
  const stop = (reason: string) => {
    if (controller.signal.aborted) return;
    stopReason = reason;
    controller.abort(new Error(reason));
  };
  // The source's own time limit starts with its first request that gets a slot: waiting behind other
  // incidents under a storm is bounded by the request's budget, not held against the source.
  let timer: NodeJS.Timeout | undefined;
  const turn: SourceTurn = {
    priority: run.priority,
    waiting: 0,
    onSlot: () => {
      timer ??= setTimeout(() => {
        const queued = queuedNote(run.limits, run.source, turn);
        stop(`no complete answer within ${timeoutMs / 1000} s${queued}`);
      }, timeoutMs);
    },
  };
  const onBudget = () =>
    stop(`stopped when the evidence budget ran out${queuedNote(run.limits, run.source, turn)}`);
  if (request.signal.aborted) onBudget();
  else request.signal.addEventListener('abort', onBudget, { once: true });
  const stopped = new Promise<void>((resolve) => {
    if (controller.signal.aborted) resolve();
    else controller.signal.addEventListener('abort', () => resolve(), { once: true });
  });

  try {
    await Promise.race([run.limits.withTurn(turn, () => run.gather(controller.signal, findings)), stopped]);
  } catch (error) {
    findings.fail(error);
  } finally {
    clearTimeout(timer);
    request.signal.removeEventListener('abort', onBudget);
  }

  const events = findings.events();
  // Parts failing for one reason (the service is down) say it once.
  const problems = [
    ...new Set(findings.problems.map((problem) => withoutPrefix(messageOf(problem), source))),
  ];
  if (stopReason === undefined && problems.length === 0) return events;
  // Failures caused by the stop itself (cancelled requests) only repeat it.
  const causes = stopReason === undefined ? problems : [stopReason];
  const [first = 'unknown error', ...rest] = causes;
  const more = rest.length > 0 ? ` (and ${rest.length} more problem${rest.length === 1 ? '' : 's'})` : '';
  run.logger.warn(
    { source, incidentId: request.incidentId, problems: problems.slice(0, 5), stopped: stopReason },
    'evidence source unavailable',
  );
  return [
    ...events,
    unavailable(
      source,
      run.clock.now(),
      `${SOURCE_NAMES[source]}${events.length > 0 ? ' partly' : ''} unavailable: ${first}${more}`,
      {
        error: first,
        problems: problems.slice(0, 5),
        ...(stopReason !== undefined ? { timeoutMs } : {}),
        partial: events.length > 0,
      },
    ),
  ];
}

/** ", still waiting for one of the N Loki slots (alert storm)" when the turn had requests queued. */
function queuedNote(limits: EvidenceLimits, source: EvidenceSource, turn: SourceTurn): string {
  if (turn.waiting === 0 || !(source in limits.limits)) return '';
  const limit = limits.limits[source as keyof typeof limits.limits];
  return `, still waiting for one of the ${limit.limit} ${SOURCE_NAMES[source]} request slots (incidents.concurrency.${source}): more incidents than the source may be asked about at once`;
}

function unavailable(
  source: EvidenceSource,
  at: Date,
  summary: string,
  details: Readonly<Record<string, unknown>>,
): TimelineEvent {
  return {
    at: at.toISOString(),
    kind: 'source.unavailable',
    source,
    summary,
    relevance: 'normal',
    links: [],
    details,
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** UpstreamError messages start with the service's name, which the event's summary already says. */
function withoutPrefix(message: string, source: EvidenceSource): string {
  return message.startsWith(`${source}: `) ? message.slice(source.length + 2) : message;
}
