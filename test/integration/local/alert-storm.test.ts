import { type ChildProcess, spawn } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../../support/cli.js';
import {
  type CountingSourceServer,
  startCountingSourceServer,
} from '../../support/counting-source-server.js';
import { childPids, createTempDir } from '../../support/process.js';
import { STACK_CONFIG_DIR } from '../../support/stack-config-copy.js';
import { waitFor } from '../../support/wait.js';

const GROUPS = 500;
const BOUNDS = { prometheus: 4, loki: 2, tempo: 2 } as const;
const TOKEN = 'storm-token';

/** One notification of its own group, as Alertmanager sends when a large outage fires many rules. */
function notification(group: number, prometheusUrl: string): string {
  const labels = {
    alertname: 'HighErrorRate',
    service: 'sample-app',
    severity: 'critical',
    shard: `s${group}`,
  };
  return JSON.stringify({
    receiver: 'toilless',
    status: 'firing',
    alerts: [
      {
        status: 'firing',
        labels,
        annotations: { summary: `shard s${group} fails` },
        startsAt: new Date(Date.now() - 60_000).toISOString(),
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: `${prometheusUrl}/graph?g0.expr=${encodeURIComponent('sum(rate(http_requests_total[5m])) > 1')}&g0.tab=1`,
        fingerprint: group.toString(16).padStart(16, '0'),
      },
    ],
    groupLabels: { shard: `s${group}` },
    commonLabels: labels,
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    version: '4',
    groupKey: `{}:{shard="s${group}"}`,
    truncatedAlerts: 0,
  });
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** The peak resident memory of the server and of its processors process, added up. */
async function peakResidentBytes(pid: number): Promise<number> {
  let bytes = 0;
  for (const each of [pid, ...(await childPids(pid))]) {
    const status = await readFile(`/proc/${each}/status`, 'utf8');
    bytes += Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]) * 1024;
  }
  return bytes;
}

describe('Alert storm on the local server', () => {
  let dir: string;
  let sources: Record<keyof typeof BOUNDS, CountingSourceServer>;
  let child: ChildProcess;
  let url: string;

  beforeAll(async () => {
    dir = await createTempDir('storm');
    sources = {
      prometheus: await startCountingSourceServer('prometheus', { delayMs: 2 }),
      loki: await startCountingSourceServer('loki', { delayMs: 2 }),
      tempo: await startCountingSourceServer('tempo', { delayMs: 2 }),
    };
    const stackConfig = join(dir, 'stack-config');
    await mkdir(stackConfig);
    await writeFile(
      join(stackConfig, 'toilless.yaml'),
      [
        'incidents:',
        // Long enough that no request is abandoned on a busy machine: see the `abandoned` assertion.
        '  sourceBudget: 5m',
        `  concurrency: { prometheus: ${BOUNDS.prometheus}, loki: ${BOUNDS.loki}, tempo: ${BOUNDS.tempo} }`,
        '',
      ].join('\n'),
    );
    await copyFile(join(STACK_CONFIG_DIR, 'slos.yaml'), join(stackConfig, 'slos.yaml'));
    child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', join(dir, 'data')], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        LOG_LEVEL: 'info',
        TOILLESS_STACK_CONFIG: stackConfig,
        ALERTMANAGER_WEBHOOK_TOKEN: TOKEN,
        PROMETHEUS_URL: sources.prometheus.url,
        // DORA's remote-write is not evidence gathering: keep it off the counted Prometheus.
        PROMETHEUS_REMOTE_WRITE_URL: 'http://127.0.0.1:9/api/v1/write',
        LOKI_URL: sources.loki.url,
        TEMPO_URL: sources.tempo.url,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    url = await new Promise<string>((resolve, reject) => {
      // Every line is read, so the server never blocks on a full pipe.
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        if (line.includes('toilless is serving')) resolve((JSON.parse(line) as { url: string }).url);
      });
      child.once('exit', (code) => reject(new Error(`toilless serve exited with ${code} before serving`)));
    });
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    await Promise.all(Object.values(sources ?? {}).map((source) => source.close()));
    await rm(dir, { recursive: true, force: true });
  });

  it('opens an incident for each of 500 groups sent within 10 s, within every source bound and 512 MB', async () => {
    // Prepare
    const started = Date.now();
    let lastSentAt = started;

    // Act: one notification every 16 ms (500 in 8 s), each sent without waiting for earlier answers,
    // as Alertmanager's dispatcher does for many groups at once.
    const statuses = await Promise.all(
      Array.from({ length: GROUPS }, async (_, group) => {
        await delay(started + group * 16 - Date.now());
        lastSentAt = Math.max(lastSentAt, Date.now());
        const response = await fetch(`${url}/webhooks/alertmanager`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: notification(group, sources.prometheus.url),
        });
        await response.arrayBuffer();
        return response.status;
      }),
    );
    const sendingMs = lastSentAt - started;
    const incidentsDir = join(dir, 'data', 'incidents');
    const opened = await waitFor(
      async () => {
        const names = await readdir(incidentsDir).catch(() => [] as string[]);
        const incidents = names.filter((name) => name !== 'groups' && name !== 'deploys');
        let withTimeline = 0;
        for (const name of incidents) {
          if ((await readdir(join(incidentsDir, name)).catch(() => [] as string[])).includes('timeline.json'))
            withTimeline++;
        }
        return withTimeline >= GROUPS ? withTimeline : undefined;
      },
      { timeoutMs: 100_000, intervalMs: 1_000, description: `${GROUPS} incidents in the data directory` },
    );

    // Assess
    expect(sendingMs).toBeLessThan(10_000);
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    expect(opened).toBe(GROUPS);
    // A request toilless gave up on ends at the source a moment later, which could overlap the next one.
    expect(sources.loki.abandoned + sources.tempo.abandoned + sources.prometheus.abandoned).toBe(0);
    expect({
      prometheus: sources.prometheus.peakInFlight,
      loki: sources.loki.peakInFlight,
      tempo: sources.tempo.peakInFlight,
    }).toEqual(BOUNDS);
    expect(sources.loki.requests).toBeGreaterThanOrEqual(GROUPS);
    expect(await peakResidentBytes(child.pid as number)).toBeLessThan(512 * 1024 * 1024);
  });
});
