/**
 * The game-day report in Markdown: a table per scenario (expectation, result, time relative to the
 * trigger), the milestones, and the time-scale note of a shortened run. Pure: result in, text out.
 * Every text that came from the platform is escaped for a table cell.
 */
import type { ScenarioName } from './environment.js';
import { formatSeconds } from './expectations.js';
import type { Expectation, GamedayResult, MilestoneName, ScenarioResult } from './result.js';

const SCENARIO_PURPOSE: Readonly<Record<ScenarioName, string>> = {
  'deploy-failure':
    'a failed production deployment after successful ones raises the change failure rate; the DORA alert reaches an incident',
  latency:
    'slow requests push the p95 over 500 ms; the latency alerts fire and the timeline shows the crossing',
  'resource-pressure': 'CPU saturation fires the warning, then the critical; both resolve once it stops',
};

const MILESTONES: readonly [MilestoneName, string][] = [
  ['trigger', 'trigger'],
  ['firing', 'first alert firing in Prometheus'],
  ['routed', 'routed by Alertmanager'],
  ['notified', 'incident at toilless'],
  ['slack', 'Slack message'],
  ['resolved', 'resolution'],
];

const STATUS_TEXT = { held: 'held', failed: '**failed**', 'not-applicable': 'not applicable' } as const;

export function renderGamedayMarkdown(result: GamedayResult): string {
  const lines: string[] = [];
  const held = result.scenarios
    .flatMap((s) => s.expectations)
    .filter((e) => e.outcome.status === 'held').length;
  const failedCount = result.scenarios
    .flatMap((s) => s.expectations)
    .filter((e) => e.outcome.status === 'failed').length;
  lines.push('# Game day report', '');
  lines.push(
    `${result.passed ? 'Every expectation held' : 'Some expectations failed'}: ${held} held, ${failedCount} failed, over ${result.scenarios.length} scenario${result.scenarios.length === 1 ? '' : 's'}${result.aborted ? '; the run was stopped before it finished' : ''}.`,
    '',
    `Run from ${result.startedAt} to ${result.finishedAt} (UTC).`,
  );
  if (result.timeScale) {
    lines.push(
      '',
      `> Time scale: rule windows shortened by a factor of ${formatFactor(result.timeScale.factor)}; the shipped rules are unchanged. ${cell(result.timeScale.description)}`,
    );
  }
  for (const scenario of result.scenarios) lines.push('', ...scenarioSection(scenario));
  lines.push('', '## Dashboards', '');
  lines.push(
    result.report.pdf.status === 'written'
      ? `The affected dashboards (${result.report.pdf.dashboards.join(', ')}) over the game day's window: ${fileName(result.report.pdf.file)}.`
      : `No dashboard PDF: ${cell(result.report.pdf.why)}.`,
  );
  return `${lines.join('\n')}\n`;
}

function scenarioSection(scenario: ScenarioResult): string[] {
  const trigger = scenario.milestones.trigger;
  const lines = [
    `## ${scenario.name}: ${scenario.passed ? 'passed' : 'FAILED'}`,
    '',
    `What it proves: ${SCENARIO_PURPOSE[scenario.name]}.`,
  ];
  if (scenario.incidentId) lines.push('', `Incident: ${cell(scenario.incidentId)}.`);
  if (scenario.error) lines.push('', `Stopped early: ${cell(scenario.error)}`);
  lines.push('', '| expectation | result | at (from trigger) | seen |', '|---|---|---|---|');
  for (const expectation of scenario.expectations) lines.push(expectationRow(expectation, trigger));
  if (scenario.expectations.length === 0) lines.push('| (none checked) | | | |');
  lines.push('', '| milestone | at (UTC) | from trigger |', '|---|---|---|');
  for (const [name, label] of MILESTONES) {
    const at = scenario.milestones[name];
    lines.push(`| ${label} | ${at ?? 'not seen'} | ${at === undefined ? '' : relative(at, trigger)} |`);
  }
  return lines;
}

function expectationRow(expectation: Expectation, trigger: string | undefined): string {
  const outcome = expectation.outcome;
  const at = outcome.status === 'held' && outcome.at !== undefined ? relative(outcome.at, trigger) : '';
  const seen =
    outcome.status === 'held'
      ? (outcome.detail ?? '')
      : outcome.status === 'failed'
        ? outcome.seen
        : outcome.why;
  return `| ${cell(expectation.description)} | ${STATUS_TEXT[outcome.status]} | ${at} | ${cell(seen)} |`;
}

/** "+95 s" after the trigger, "-3 s" before it (a rate computed from data already there). */
export function relative(at: string, trigger: string | undefined): string {
  if (trigger === undefined) return at;
  const ms = new Date(at).getTime() - new Date(trigger).getTime();
  return `${ms < 0 ? '' : '+'}${formatSeconds(ms)}`;
}

/** One table cell: no line breaks, pipes, HTML or Markdown links, at most 300 characters. */
export function cell(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const clipped = flat.length > 300 ? `${flat.slice(0, 299)}…` : flat;
  return clipped.replace(/[\\`*_[\]<>|]/g, (char) => `\\${char}`);
}

/** 1/30 rather than 0.0333, as the local run's options write it. */
export function formatFactor(factor: number): string {
  const inverse = 1 / factor;
  if (Math.abs(inverse - Math.round(inverse)) < 1e-6) return `1/${Math.round(inverse)}`;
  return factor >= 0.01 ? String(Number(factor.toFixed(4))) : factor.toExponential(2);
}

function fileName(path: string): string {
  return cell(path.split(/[\\/]/).pop() ?? path);
}
