/**
 * One timeline build, in a process of its own so that its peak memory is the timeline's alone:
 * `buildTimelineOnce` of the captured FastBurnRate payload with the evidence gatherer against the
 * servers of bench/timeline-servers.ts (PROMETHEUS_URL, LOKI_URL, TEMPO_URL).
 *
 *   node --import tsx bench/timeline-build.ts '{"now":"<iso>","startsAt":"<iso>"}'
 *
 * Prints one JSON line: wall time, peak RSS, and what the timeline holds.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordDeployment } from '../functions/incident-timeline/deploy-index.js';
import { createEvidenceGatherer } from '../functions/incident-timeline/evidence.js';
import { buildTimelineOnce } from '../functions/incident-timeline/timeline-preview.js';
import { FsObjectStore } from '../functions/shared/adapters/local/fs-object-store.js';
import { loadRuntimeConfig } from '../functions/shared/config.js';
import type { AlertmanagerPayload } from '../functions/shared/events/alertmanager.js';
import { silentLogger } from '../functions/shared/log.js';
import { parseToillessConfig, stackConfigDir } from '../functions/shared/stack-config.js';

const input = JSON.parse(process.argv[2] ?? '{}') as { now: string; startsAt: string };
const now = new Date(input.now);
const clock = {
  now: () => now,
  sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
};

const captured = JSON.parse(
  await readFile(new URL('../test/fixtures/alertmanager/firing-fastburnrate.json', import.meta.url), 'utf8'),
) as { body: AlertmanagerPayload };
const payload: AlertmanagerPayload = {
  ...captured.body,
  alerts: captured.body.alerts.map((alert) => ({ ...alert, startsAt: input.startsAt })),
};

const dir = await mkdtemp(join(tmpdir(), 'toilless-bench-timeline-'));
try {
  const store = new FsObjectStore(dir);
  // Two days of deployments, one every 2 hours; the window holds the last few.
  for (let i = 0; i < 24; i++) {
    const finishedAt = new Date(Date.parse(input.startsAt) - 12 * 60_000 - i * 2 * 3_600_000).toISOString();
    await recordDeployment(store, {
      id: `bench-${i}`,
      type: 'DeploymentRecorded',
      time: finishedAt,
      detail: {
        repository: 'acme/sample-app',
        environment: 'production',
        deploymentId: String(1000 + i),
        sha: (0xc0ffee00 + i).toString(16).padEnd(40, '0'),
        status: 'success',
        production: true,
        finishedAt,
        services: ['sample-app'],
      },
    });
  }
  const toilless = parseToillessConfig('');
  const gatherEvidence = createEvidenceGatherer({
    config: loadRuntimeConfig(),
    toilless,
    stackConfigDir: stackConfigDir(),
    store,
    logger: silentLogger,
    clock,
  });

  const started = performance.now();
  const { timeline } = await buildTimelineOnce(payload, { clock, config: toilless, gatherEvidence });
  const wallMs = performance.now() - started;

  process.stdout.write(
    `${JSON.stringify({
      wallMs,
      maxRssMiB: process.resourceUsage().maxRSS / 1024,
      onset: timeline.onset,
      events: timeline.events.length,
      high: timeline.events.filter((event) => event.relevance === 'high').map((event) => event.summary),
      unavailable: timeline.events
        .filter((event) => event.kind === 'source.unavailable')
        .map((event) => event.summary),
    })}\n`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
