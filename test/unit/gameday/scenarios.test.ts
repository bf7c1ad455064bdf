import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GamedayEnvironment } from '../../../bin/gameday/environment.js';
import type { ObservedIncident } from '../../../bin/gameday/incident-watch.js';
import type { AlertmanagerAlert, PrometheusAlert } from '../../../bin/gameday/platform-api.js';
import { loadPlatformTimings } from '../../../bin/gameday/rule-timings.js';
import type { ScenarioContext } from '../../../bin/gameday/scenario-kit.js';
import { runLatency } from '../../../bin/gameday/scenarios/latency.js';
import { runResourcePressure } from '../../../bin/gameday/scenarios/resource-pressure.js';
import type { Clock } from '../../../functions/shared/ports/clock.js';

const STACK_CONFIG = join(import.meta.dirname, '..', '..', '..', 'stack-config');

/** Time moves only when the scenario sleeps between polls. */
class SteppingClock implements Clock {
  constructor(private ms = Date.parse('2026-12-06T10:00:00Z')) {}
  now(): Date {
    return new Date(this.ms);
  }
  async sleep(ms: number): Promise<void> {
    this.ms += ms;
    // Lets the load's requests (real promises) run between polls.
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const environment = (overrides: Partial<GamedayEnvironment> = {}): GamedayEnvironment => ({
  prometheusUrl: 'http://prometheus.test',
  alertmanagerUrl: 'http://alertmanager.test',
  sampleAppUrl: 'http://sample-app.test',
  toillessUrl: 'http://toilless.test',
  githubWebhookSecret: 'secret',
  slack: { kind: 'outbox', dir: '/nonexistent' },
  store: { kind: 'data-dir', dir: '/nonexistent' },
  cpuPressure: 'sample-app',
  lokiConfigured: false,
  tempoConfigured: true,
  ...overrides,
});

function firing(alertname: string, labels: Record<string, string> = {}): PrometheusAlert {
  return { labels: { alertname, ...labels }, state: 'firing', activeAt: '2026-12-06T10:01:00Z' };
}

function routed(alertname: string, labels: Record<string, string> = {}): AlertmanagerAlert {
  return {
    labels: { alertname, ...labels },
    fingerprint: 'f',
    startsAt: '2026-12-06T10:01:00Z',
    status: { state: 'active' },
    receivers: [{ name: 'toilless' }],
  };
}

function incident(alertname: string, overrides: Partial<ObservedIncident> = {}): ObservedIncident {
  return {
    id: '20261206T1006-sample-app-0a1b2c3d',
    status: 'open',
    service: 'sample-app',
    startedAt: '2026-12-06T10:06:00Z',
    alerts: [{ alertname, status: 'firing', labels: { alertname, service: 'sample-app' } }],
    events: [],
    slack: { thread: { channel: 'C1', ts: '1796556360.000100' } },
    ...overrides,
  };
}

/** A platform whose answers the test scripts, and a fetch that records what the scenario sent. */
function platform(script: {
  alerts: () => PrometheusAlert[];
  routed?: () => AlertmanagerAlert[];
  query?: () => number | undefined;
  incident?: () => ObservedIncident | undefined;
  slackResolved?: () => boolean;
}) {
  const requests: string[] = [];
  let inFlight = 0;
  const fetchStub: typeof fetch = async (input, init) => {
    requests.push(String(input));
    inFlight += 1;
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, 5);
        init?.signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(new DOMException('aborted', 'AbortError'));
        });
      });
      return new Response('ok');
    } finally {
      inFlight -= 1;
    }
  };
  const clock = new SteppingClock();
  const context: ScenarioContext = {
    environment: environment(),
    api: {
      prometheusAlerts: async () => script.alerts(),
      alertmanagerAlerts: async () => script.routed?.() ?? [],
      query: async () => {
        const value = script.query?.();
        return value === undefined ? [] : [{ labels: {}, value }];
      },
    },
    incidents: {
      find: async () => {
        const found = script.incident?.();
        return found ? [found] : [];
      },
      get: async () => script.incident?.(),
    },
    slack: {
      where: 'a test',
      root: async () => ({
        postedAt: new Date('2026-12-06T10:06:10Z'),
        resolved: script.slackResolved?.() ?? false,
      }),
    },
    timings: loadPlatformTimings(STACK_CONFIG),
    scale: { factor: 1, timeoutScale: 1 },
    clock,
    signal: new AbortController().signal,
    pollMs: 5000,
    progress: { step: () => {}, waiting: () => {} },
    fetch: fetchStub,
  };
  return { context, requests, inFlight: () => inFlight };
}

describe('the latency scenario', () => {
  it('reports logs as not applicable without Loki, a missing trace as failed with why, and stops its load', async () => {
    // Prepare: every alert fires; Tempo was unavailable to toilless.
    const crossing = {
      at: '2026-12-06T10:01:30Z',
      kind: 'metric',
      source: 'prometheus',
      summary: 'HighLatencyP95 condition first true: 1.42 > 0.5',
      details: { alertnames: ['HighLatencyP95'] },
    };
    const unavailable = {
      at: '2026-12-06T10:06:00Z',
      kind: 'source.unavailable',
      source: 'tempo',
      summary: 'Tempo did not answer within 5 s',
      details: {},
    };
    const { context, requests, inFlight } = platform({
      alerts: () => [
        firing('HighLatencyP95', { service: 'sample-app' }),
        firing('FastBurnRate', { service: 'sample-app', slo: 'latency' }),
      ],
      routed: () => [routed('HighLatencyP95', { service: 'sample-app' })],
      query: () => 1.42,
      incident: () => incident('HighLatencyP95', { events: [crossing, unavailable] }),
    });

    // Act
    const result = await runLatency(context);

    // Assess
    const outcomes = Object.fromEntries(result.expectations.map((e) => [e.id, e.outcome]));
    expect(outcomes['p95-crossed']).toMatchObject({ status: 'held', detail: '1.420 s' });
    expect(outcomes['alert-firing:FastBurnRate']).toMatchObject({ status: 'held' });
    expect(outcomes['timeline-latency-crossing']).toMatchObject({
      status: 'held',
      at: '2026-12-06T10:01:30.000Z',
    });
    expect(outcomes['timeline-logs']).toMatchObject({
      status: 'not-applicable',
      why: expect.stringMatching(/Loki is not configured/),
    });
    expect(outcomes['timeline-trace']).toEqual({
      status: 'failed',
      seen: 'tempo was unavailable to toilless: Tempo did not answer within 5 s',
    });
    expect(result.passed).toBe(false);
    expect(result.incidentId).toBe('20261206T1006-sample-app-0a1b2c3d');
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.every((url) => url === 'http://sample-app.test/slow?delay_ms=1500')).toBe(true);
    expect(inFlight()).toBe(0);
  });

  it('refuses a delay that would not make requests slow', async () => {
    const { context } = platform({ alerts: () => [] });
    await expect(runLatency(context, { delayMs: 400 })).rejects.toThrow(/above 500 ms/);
  });
});

describe('the resource-pressure scenario', () => {
  it('fails the critical with what it saw, still stops the pressure, then sees both resolve', async () => {
    // Prepare: the warning fires while /stress is called; the critical never does.
    const state = { stopped: false, requestsAtStop: 0 };
    const { context, requests, inFlight } = platform({
      alerts: () => (state.stopped ? [] : [firing('HighCPUWarning', { instance: 'host:9100' })]),
      routed: () => [routed('HighCPUWarning')],
      incident: () => incident('HighCPUWarning', state.stopped ? { status: 'resolved' } : {}),
      slackResolved: () => state.stopped,
    });
    const watched: ScenarioContext = {
      ...context,
      progress: {
        waiting: () => {},
        step: (text) => {
          if (text.includes('pressure stopped')) {
            state.stopped = true;
            state.requestsAtStop = requests.length;
          }
        },
      },
    };

    // Act
    const result = await runResourcePressure(watched);

    // Assess
    const outcomes = Object.fromEntries(result.expectations.map((e) => [e.id, e.outcome]));
    expect(outcomes['alert-firing:HighCPUWarning']).toMatchObject({ status: 'held' });
    expect(outcomes['incident-opened:HighCPUWarning']).toMatchObject({ status: 'held' });
    expect(outcomes['alert-firing:HighCPUCritical']).toMatchObject({
      status: 'failed',
      seen: expect.stringMatching(/^not within .*; last seen: HighCPUWarning \(firing\)/),
    });
    expect(outcomes['alerts-resolved']).toMatchObject({ status: 'held' });
    expect(outcomes['slack-resolved']).toMatchObject({ status: 'held' });
    expect(result.passed).toBe(false);
    expect(result.milestones.resolved).toBeDefined();
    expect(state.requestsAtStop).toBeGreaterThan(0);
    expect(requests.length).toBe(state.requestsAtStop);
    expect(requests.every((url) => url === 'http://sample-app.test/stress?duration_ms=10000')).toBe(true);
    expect(inFlight()).toBe(0);
  });
});
