/**
 * The game day in CI: the three scenarios against the real Prometheus, Alertmanager, node and blackbox
 * exporters, toilless serve and the sample app started by the local stack with shortened timings, every
 * expectation asserted. resource-pressure burns every core, so this file runs alone in the `gameday`
 * project, after the rest of `npm test`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIO_NAMES, type ScenarioName } from '../../../bin/gameday/environment.js';
import { type LocalGamedayStack, startLocalGamedayStack } from '../../../bin/gameday/local-stack.js';
import { type GamedayResult, runGameday, type ScenarioResult } from '../../../bin/gameday/run.js';
import { readSinkMessages } from '../../../bin/gameday/slack-sink.js';

/** Starting the stack (tsx compiles toilless and the sample app) on a busy 2-core runner. */
const START_TIMEOUT_MS = 240_000;
/** The three scenarios at 1/30 take about three minutes; the engine's own deadlines bound each wait. */
const RUN_TIMEOUT_MS = 840_000;

function scenario(result: GamedayResult, name: ScenarioName): ScenarioResult {
  const found = result.scenarios.find((candidate) => candidate.name === name);
  if (!found)
    throw new Error(`the result has no scenario ${name}: ${result.scenarios.map((s) => s.name).join(', ')}`);
  return found;
}

/** Each named expectation is present and held; the message shows what was seen when it was not. */
function expectHeld(result: ScenarioResult, ids: readonly string[]): void {
  for (const id of ids) {
    const expectation = result.expectations.find((candidate) => candidate.id === id);
    expect(
      expectation,
      `${result.name}: no expectation ${id} among ${result.expectations.map((e) => e.id).join(', ')}`,
    ).toBeDefined();
    expect(
      expectation?.outcome,
      `${result.name}: ${id} (${expectation?.description}): ${JSON.stringify(expectation?.outcome)}`,
    ).toMatchObject({
      status: 'held',
    });
  }
}

/** Milestones in the order the chain runs: trigger, firing, routed, notified, Slack. */
function expectOrdered(result: ScenarioResult, names: readonly (keyof ScenarioResult['milestones'])[]): void {
  const times = names.map((name) => {
    const at = result.milestones[name];
    expect(at, `${result.name}: milestone ${name}`).toBeDefined();
    return Date.parse(at ?? '');
  });
  expect(times, `${result.name}: ${names.join(' <= ')}`).toEqual([...times].sort((a, b) => a - b));
}

describe('The game day on one machine, with the shipped rules shortened', () => {
  let stack: LocalGamedayStack | undefined;
  let outDir: string;
  let result: GamedayResult;
  let startedMs = 0;
  let ranMs = 0;

  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'toilless-gameday-report-'));
    const t0 = Date.now();
    stack = await startLocalGamedayStack({ log: (line) => process.stderr.write(`gameday stack: ${line}\n`) });
    startedMs = Date.now() - t0;
    result = await runGameday(stack.environment, SCENARIO_NAMES, {
      outDir,
      progress: process.stderr,
      signal: AbortSignal.timeout(RUN_TIMEOUT_MS),
    });
    ranMs = Date.now() - t0 - startedMs;
    process.stderr.write(
      `gameday: stack started in ${Math.round(startedMs / 1000)} s, scenarios ran in ${Math.round(ranMs / 1000)} s\n`,
    );
  }, START_TIMEOUT_MS + RUN_TIMEOUT_MS);

  afterAll(async () => {
    await stack?.stop();
    await rm(outDir, { recursive: true, force: true });
  });

  it('deploy-failure: the failed deployment moves the DORA series, fires HighChangeFailureRate, opens an incident with a Slack thread, and resolves after recovery', () => {
    // Assess
    const deploy = scenario(result, 'deploy-failure');
    expectHeld(deploy, [
      'deliveries-accepted',
      'dora-series',
      'alert-firing:HighChangeFailureRate',
      'alert-routed:HighChangeFailureRate',
      'incident-opened:HighChangeFailureRate',
      'slack-root:HighChangeFailureRate',
      'alert-resolved:HighChangeFailureRate',
    ]);
    expectOrdered(deploy, ['trigger', 'firing', 'routed', 'notified', 'slack']);
    expect(deploy.incidentId).toMatch(/dora/);
    expect(deploy.passed).toBe(true);
  });

  it('latency: load on /slow passes the 500 ms p95, fires HighLatencyP95 and the latency burn rate, and the timeline holds the crossing', () => {
    // Assess
    const latency = scenario(result, 'latency');
    expectHeld(latency, [
      'p95-crossed',
      'alert-firing:HighLatencyP95',
      'alert-routed:HighLatencyP95',
      'incident-opened:HighLatencyP95',
      'slack-root:HighLatencyP95',
      'alert-firing:FastBurnRate',
      'timeline-latency-crossing',
    ]);
    expectOrdered(latency, ['trigger', 'firing', 'routed', 'notified', 'slack']);
    // Loki and Tempo do not run locally: their expectations say so instead of failing.
    for (const id of ['timeline-logs', 'timeline-trace']) {
      expect(latency.expectations.find((e) => e.id === id)?.outcome).toMatchObject({
        status: 'not-applicable',
      });
    }
    expect(latency.passed).toBe(true);
  });

  it('resource-pressure: burning every core fires HighCPUWarning then HighCPUCritical, both resolve, and the Slack root says Resolved', () => {
    // Assess: a host already saturated before the burn can neither show the alerts starting nor resolving.
    expect(stack?.alertsActiveAtStart, 'alerts active before the game day: the machine was busy').toEqual([]);
    const pressure = scenario(result, 'resource-pressure');
    expectHeld(pressure, [
      'alert-firing:HighCPUWarning',
      'alert-routed:HighCPUWarning',
      'incident-opened:HighCPUWarning',
      'slack-root:HighCPUWarning',
      'alert-firing:HighCPUCritical',
      'alerts-resolved',
      'slack-resolved',
    ]);
    expectOrdered(pressure, ['trigger', 'firing', 'notified', 'resolved']);
    expect(pressure.passed).toBe(true);
  });

  it('holds every expectation, reports the shortened timings, and leaves nothing failed unasserted', async () => {
    // Assess
    const failed = result.scenarios.flatMap((s) =>
      s.expectations
        .filter((e) => e.outcome.status === 'failed')
        .map((e) => `${s.name}: ${e.id}: ${JSON.stringify(e.outcome)}`),
    );
    expect(failed).toEqual([]);
    expect(result.aborted).toBe(false);
    expect(result.passed).toBe(true);
    expect(result.timeScale).toEqual(stack?.environment.timeScale);
    const markdownFile = result.report.markdownFile ?? '';
    expect(existsSync(markdownFile)).toBe(true);
    expect(readFileSync(markdownFile, 'utf8')).toContain('the shipped rules are unchanged');
    // Alertmanager's Slack receivers posted to the local sink, and nothing else was needed to get there.
    const sinkMessages = await readSinkMessages(stack?.sinkDir ?? '');
    expect(sinkMessages.some((message) => message.kind === 'slack')).toBe(true);
  });

  it('stop() ends every part and removes the folder', async () => {
    // Prepare
    const running = stack as LocalGamedayStack;
    const urls = running.parts.map((part) => part.url);

    // Act
    await running.stop();

    // Assess
    expect(existsSync(running.dir)).toBe(false);
    for (const url of urls) {
      await expect(fetch(url, { signal: AbortSignal.timeout(5_000) }), url).rejects.toThrow();
    }
  });
});
