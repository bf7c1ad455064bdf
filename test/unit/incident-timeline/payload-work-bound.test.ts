/**
 * No single notification may block the event loop for more than 50 ms. The worker's synchronous steps
 * (validate, plan, choose the queries, parse the expressions, merge and queue, serialise, render
 * Markdown and Slack) are run here on worst-case payloads of about 1 MiB, the largest the intake
 * accepts. Each step is timed in CPU time, the least of three runs, so that a busy machine does not
 * make the test flaky.
 */
import { describe, expect, it } from 'vitest';
import { linkPolicy } from '../../../functions/incident-timeline/incident-links.js';
import { planNotification } from '../../../functions/incident-timeline/lifecycle.js';
import { enqueueWork } from '../../../functions/incident-timeline/pending-work.js';
import { rootMessage } from '../../../functions/incident-timeline/slack-messages.js';
import {
  alertQuerySource,
  originsOf,
  parseAlertCondition,
} from '../../../functions/incident-timeline/sources/prometheus.js';
import { mergeEvents } from '../../../functions/incident-timeline/timeline-events.js';
import { renderTimelineMarkdown } from '../../../functions/incident-timeline/timeline-markdown.js';
import { type Alert, alertmanagerPayloadSchema } from '../../../functions/shared/events/alertmanager.js';
import { parseToillessConfig } from '../../../functions/shared/stack-config.js';
import { parseWith } from '../../../functions/shared/validation.js';
import { fastBurnCritical, notificationOf, sampleAppGroup } from './payloads.js';

const NOW = new Date('2026-11-28T08:45:00Z');
const MIB = 1024 * 1024;
const PROMETHEUS = 'http://prometheus:9090';
const config = parseToillessConfig(`prometheus:\n  externalUrls: [${PROMETHEUS}]\n`);

/** CPU milliseconds `run` takes: the work itself, not the time it waited for a busy CPU. */
function cpuMs(run: () => unknown): number {
  const before = process.cpuUsage();
  run();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

/** Every synchronous step of one notification, timed; the result names each step's CPU time. */
function stepTimes(payload: unknown): Record<string, number> {
  const times: Record<string, number> = {};
  const step = <T>(name: string, run: () => T): T => {
    let result: T | undefined;
    times[name] = cpuMs(() => {
      result = run();
    });
    return result as T;
  };
  const parsed = step('validate', () => parseWith(alertmanagerPayloadSchema, payload, 'payload'));
  const plan = step('plan', () => planNotification({}, { id: 'n1', payload: parsed }, NOW));
  if (plan.kind === 'unchanged') throw new Error('expected the payload to open an incident');
  const trusted = originsOf([PROMETHEUS]);
  const sources = step('choose queries', () =>
    plan.timeline.alerts.map((alert) => alertQuerySource(alert.generatorURL, trusted)),
  );
  // The gatherer evaluates at most 5 distinct expressions per notification (maxExpressions).
  step('parse expressions', () =>
    [...new Set(sources.flatMap((source) => (source.kind === 'expression' ? [source.expr] : [])))]
      .slice(0, 5)
      .map(parseAlertCondition),
  );
  const policy = linkPolicy(config);
  const timeline = step('merge and queue', () =>
    enqueueWork(
      { ...plan.timeline, events: mergeEvents(plan.timeline.events, []).events },
      plan.changes,
      'n1',
      policy,
    ),
  );
  step('serialise', () => JSON.stringify(timeline, null, 2));
  step('render Markdown', () => renderTimelineMarkdown(timeline, config, policy));
  step('render Slack', () => rootMessage(timeline, config, policy));
  return times;
}

const nested = (depth: number, inner: string) => `${'('.repeat(depth)}${inner}${')'.repeat(depth)}`;

async function payloadOf(alerts: readonly Alert[]): Promise<unknown> {
  const payload = await sampleAppGroup(alerts);
  expect(JSON.stringify(payload).length).toBeGreaterThan(MIB * 0.9);
  return JSON.parse(JSON.stringify(notificationOf(payload).detail.payload));
}

describe('Synchronous work of one notification', () => {
  const worstCases: [string, () => Promise<unknown>][] = [
    [
      'a generatorURL of nested parentheses on a trusted host',
      () =>
        payloadOf([
          { ...fastBurnCritical(), generatorURL: `${PROMETHEUS}/graph?g0.expr=${nested(500_000, 'x > 1')}` },
        ]),
    ],
    [
      'an expression of nested parentheses just under the length cap, repeated in 120 alerts',
      () =>
        payloadOf(
          Array.from({ length: 120 }, (_, i) => ({
            ...fastBurnCritical(),
            fingerprint: `f${i}`,
            generatorURL: `${PROMETHEUS}/graph?g0.expr=${nested(4_090, `x${i} > 1`)}`,
          })),
        ),
    ],
    [
      'annotations and labels full of Markdown and Slack syntax',
      () =>
        payloadOf([
          {
            ...fastBurnCritical(),
            labels: { ...fastBurnCritical().labels, alertname: `<!channel> ${'_*[a](b)'.repeat(20_000)}` },
            annotations: {
              summary: '<!here> <https://evil.example|x> *_`[y](z)` www.evil.example '.repeat(8_000),
              runbook_url: `https://evil.example/${'('.repeat(200_000)}`,
              for: '9'.repeat(100_000),
            },
          },
        ]),
    ],
    [
      '1,000 alerts',
      () =>
        payloadOf(
          Array.from({ length: 1_000 }, (_, i) => ({
            ...fastBurnCritical(),
            fingerprint: `fp-${i}`,
            labels: { ...fastBurnCritical().labels, alertname: `Alert${i}`, instance: `host-${i}:9100` },
            annotations: { summary: `disk ${i} is ${'full '.repeat(150)}` },
          })),
        ),
    ],
  ];

  for (const [name, build] of worstCases) {
    it(`takes under 50 ms of CPU in each step for ${name}`, async () => {
      // Prepare
      const payload = await build();
      stepTimes(payload); // a first run compiles the code paths, as earlier notifications would have

      // Act: the least of three runs, so that a collection or another process' burst does not count
      const runs = [stepTimes(payload), stepTimes(payload), stepTimes(payload)];

      // Assess
      const least = Object.keys(runs[0] ?? {}).map((step) => [
        step,
        Math.min(...runs.map((run) => run[step] ?? 0)),
      ]);
      const slow = least.filter(([, ms]) => (ms as number) >= 50);
      expect(slow).toEqual([]);
    });
  }
});
