/**
 * What every scenario is made of: the context it runs in, a recorder of its milestones and
 * expectations, and the chain each expected alert is followed along (firing in Prometheus, routed by
 * Alertmanager, an incident at toilless, its Slack root message).
 */
import type { Clock } from '../../functions/shared/ports/clock.js';
import type { GamedayEnvironment, ScenarioName } from './environment.js';
import { expectationFromWait, formatSeconds, skippedAfterFailure } from './expectations.js';
import { type IncidentWatch, incidentHasAlert, type ObservedIncident } from './incident-watch.js';
import { describeAlerts, labelsMatch, type PlatformApi, type PrometheusAlert } from './platform-api.js';
import type { Expectation, MilestoneName, ScenarioMilestones, ScenarioResult } from './result.js';
import { expectationsPassed } from './result.js';
import {
  type DeadlineScale,
  firingDeadlineMs,
  notificationDeadlineMs,
  type PlatformTimings,
  resolutionDeadlineMs,
} from './rule-timings.js';
import type { ObservedSlackRoot, SlackWatch } from './slack-watch.js';
import { type Probe, type WaitOutcome, waitFor } from './waits.js';

/** What the scenario shows while it waits: a line per step, a bar while waiting. */
export interface ScenarioProgress {
  step(text: string): void;
  waiting(label: string, elapsedMs: number, deadlineMs: number): void;
}

export interface ScenarioContext {
  readonly environment: GamedayEnvironment;
  readonly api: Pick<PlatformApi, 'prometheusAlerts' | 'query' | 'alertmanagerAlerts'>;
  readonly incidents: Pick<IncidentWatch, 'find' | 'get'>;
  readonly slack: SlackWatch;
  readonly timings: PlatformTimings;
  readonly scale: DeadlineScale;
  readonly clock: Clock;
  readonly signal: AbortSignal;
  readonly pollMs: number;
  readonly progress: ScenarioProgress;
  readonly fetch?: typeof fetch | undefined;
}

/** Collects a scenario's milestones and expectations as it goes; `result` closes it. */
export class ScenarioRecorder {
  readonly expectations: Expectation[] = [];
  private readonly milestones: { -readonly [K in MilestoneName]?: string } = {};
  private readonly startedAt: Date;
  incidentId: string | undefined;
  error: string | undefined;

  constructor(
    readonly name: ScenarioName,
    private readonly context: ScenarioContext,
  ) {
    this.startedAt = context.clock.now();
  }

  /** Records a milestone the first time it is reached; later ones keep the first. */
  mark(milestone: MilestoneName, at: Date): void {
    this.milestones[milestone] ??= at.toISOString();
  }

  milestone(milestone: MilestoneName): Date | undefined {
    const at = this.milestones[milestone];
    return at === undefined ? undefined : new Date(at);
  }

  expect(expectation: Expectation): Expectation {
    this.expectations.push(expectation);
    this.context.progress.step(
      `  ${expectation.outcome.status === 'held' ? 'held' : expectation.outcome.status === 'failed' ? 'FAILED' : 'n/a'}: ${expectation.description}`,
    );
    return expectation;
  }

  /** Waits for `probe` with a deadline, shows progress, and records the outcome as an expectation. */
  async waitAndExpect<T>(
    id: string,
    description: string,
    deadlineMs: number,
    probe: Probe<T>,
    detail?: (value: T) => string,
  ): Promise<WaitOutcome<T>> {
    const { clock, progress, signal, pollMs } = this.context;
    const started = clock.now().getTime();
    progress.step(`  waiting up to ${formatSeconds(deadlineMs)}: ${description}`);
    const outcome = await waitFor(
      async () => {
        progress.waiting(description, clock.now().getTime() - started, deadlineMs);
        return probe();
      },
      { clock, deadlineMs, pollMs, signal },
    );
    this.expect(expectationFromWait(id, description, outcome, detail));
    return outcome;
  }

  result(): ScenarioResult {
    return {
      name: this.name,
      passed: this.error === undefined && expectationsPassed(this.expectations),
      startedAt: this.startedAt.toISOString(),
      finishedAt: this.context.clock.now().toISOString(),
      milestones: { ...this.milestones } as ScenarioMilestones,
      expectations: [...this.expectations],
      ...(this.incidentId === undefined ? {} : { incidentId: this.incidentId }),
      ...(this.error === undefined ? {} : { error: this.error }),
    };
  }
}

/** A probe of Prometheus's alerts: the first alert named `alertname` with `labels`, firing. */
export function firingProbe(
  context: ScenarioContext,
  alertname: string,
  labels: Readonly<Record<string, string>> = {},
): Probe<PrometheusAlert> {
  return async () => {
    const alerts = await context.api.prometheusAlerts(context.signal);
    const named = alerts.filter(
      (alert) => alert.labels.alertname === alertname && labelsMatch(alert.labels, labels),
    );
    const firing = named.find((alert) => alert.state === 'firing');
    if (firing) return { value: firing };
    return { seen: named.length > 0 ? `${alertname} ${named[0]?.state}` : describeAlerts(alerts) };
  };
}

/** A probe that holds once no alert named in `alertnames` with `labels` is pending or firing. */
export function resolvedProbe(
  context: ScenarioContext,
  alertnames: readonly string[],
  labels: Readonly<Record<string, string>> = {},
): Probe<true> {
  return async () => {
    const alerts = await context.api.prometheusAlerts(context.signal);
    const left = alerts.filter(
      (alert) => alertnames.includes(alert.labels.alertname ?? '') && labelsMatch(alert.labels, labels),
    );
    return left.length === 0 ? { value: true } : { seen: `still ${describeAlerts(left)}` };
  };
}

/** A probe of Alertmanager's alerts: the alert, active or muted, and the receivers routing chose. */
export function routedProbe(
  context: ScenarioContext,
  alertname: string,
  labels: Readonly<Record<string, string>> = {},
): Probe<{ receivers: string[]; state: string }> {
  return async () => {
    const alerts = await context.api.alertmanagerAlerts(context.signal);
    const match = alerts.find(
      (alert) =>
        alert.labels.alertname === alertname &&
        labelsMatch(alert.labels, labels) &&
        alert.receivers.length > 0,
    );
    if (match) {
      return {
        value: { receivers: match.receivers.map((receiver) => receiver.name), state: match.status.state },
      };
    }
    return { seen: `Alertmanager holds ${describeAlerts(alerts)}` };
  };
}

/** A probe of the store: an incident holding the alert, opened since (or open at) `since`. */
export function incidentProbe(
  context: ScenarioContext,
  since: Date,
  alertname: string,
  labels: Readonly<Record<string, string>> = {},
): Probe<ObservedIncident> {
  return async () => {
    const problems: string[] = [];
    const found = await context.incidents.find(
      since,
      context.clock.now(),
      (incident) =>
        incidentHasAlert(incident, alertname, labels) &&
        (incident.status === 'open' ||
          incident.resolvedAt === undefined ||
          new Date(incident.resolvedAt) >= since),
      problems,
    );
    const incident = found[0];
    if (incident) return { value: incident };
    return { seen: problems[0] ?? `no incident with ${alertname} in the store` };
  };
}

/** A probe of Slack: the incident's root message (and whether it says resolved, when `resolved`). */
export function slackRootProbe(
  context: ScenarioContext,
  incidentId: string,
  options: { readonly resolved?: boolean } = {},
): Probe<ObservedSlackRoot> {
  return async () => {
    const incident = await context.incidents.get(incidentId);
    const thread = incident?.slack.thread;
    if (thread === undefined) return { seen: 'the incident has no Slack thread yet' };
    const root = await context.slack.root(thread);
    if (root === undefined) return { seen: `no root message ${thread.ts} in ${context.slack.where}` };
    if (options.resolved && !root.resolved) return { seen: 'the root message does not say Resolved' };
    return { value: root };
  };
}

export interface FollowedAlert {
  readonly firing: boolean;
  readonly incident?: ObservedIncident;
}

/**
 * The chain of one expected alert: firing in Prometheus, routed by Alertmanager, an incident holding
 * it at toilless, the incident's Slack root. A link that fails leaves the later ones failed as not
 * checked (with why), so the report still lists every expectation.
 */
export async function followAlert(
  context: ScenarioContext,
  recorder: ScenarioRecorder,
  alert: {
    readonly alertname: string;
    readonly labels?: Readonly<Record<string, string>>;
    /** When the fault started: the firing deadline counts from here. */
    readonly since: Date;
    /** Also expect routing, the incident and Slack (the first alert of a scenario). @default true */
    readonly notification?: boolean;
  },
): Promise<FollowedAlert> {
  const labels = alert.labels ?? {};
  const name = alert.alertname;
  const elapsed = context.clock.now().getTime() - alert.since.getTime();
  const firingDeadline = Math.max(0, firingDeadlineMs(context.timings, name, context.scale) - elapsed);
  const firing = await recorder.waitAndExpect(
    `alert-firing:${name}`,
    `${name} fires in Prometheus`,
    firingDeadline,
    firingProbe(context, name, labels),
    (value) => `active since ${value.activeAt ?? 'unknown'}`,
  );
  if (alert.notification === false) return { firing: firing.kind === 'seen' };
  const notification = [
    [`alert-routed:${name}`, `Alertmanager holds ${name}, routed to a receiver`],
    [`incident-opened:${name}`, `toilless opens an incident holding ${name}`],
    [`slack-root:${name}`, `the incident's Slack root message is posted`],
  ] as const;
  if (firing.kind !== 'seen') {
    for (const [id, description] of notification) {
      recorder.expect(skippedAfterFailure(id, description, `${name} did not fire`));
    }
    return { firing: false };
  }
  recorder.mark('firing', firing.at);
  const notifyDeadline = notificationDeadlineMs(context.timings, context.scale);
  const routed = await recorder.waitAndExpect(
    notification[0][0],
    notification[0][1],
    notifyDeadline,
    routedProbe(context, name, labels),
    (value) => `receivers ${value.receivers.join(', ')} (${value.state})`,
  );
  if (routed.kind === 'seen') recorder.mark('routed', routed.at);
  const opened = await recorder.waitAndExpect(
    notification[1][0],
    notification[1][1],
    notifyDeadline,
    incidentProbe(context, alert.since, name, labels),
    (incident) => `incident ${incident.id}`,
  );
  if (opened.kind !== 'seen') {
    recorder.expect(skippedAfterFailure(notification[2][0], notification[2][1], 'no incident was found'));
    return { firing: true };
  }
  recorder.mark('notified', opened.at);
  recorder.incidentId ??= opened.value.id;
  const root = await recorder.waitAndExpect(
    notification[2][0],
    notification[2][1],
    notifyDeadline,
    slackRootProbe(context, opened.value.id),
    (value) => `posted ${value.postedAt.toISOString()}`,
  );
  if (root.kind === 'seen') recorder.mark('slack', root.at);
  return { firing: true, incident: opened.value };
}

/** How long the alerts of a scenario may take to resolve after the fault stops. */
export function resolutionDeadline(context: ScenarioContext, alertname: string): number {
  return resolutionDeadlineMs(context.timings, alertname, context.scale);
}
