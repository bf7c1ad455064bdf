/**
 * The local runtime with its processors in a process of their own (what `toilless serve` runs): the
 * same incidents, follow-up events, counters, retries and dead letters as in one process, a processors
 * process at a lower CPU priority, started again after a crash, and never left behind by its server.
 */
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LocalServer, startLocalServer } from '../../../functions/local/local-server.js';
import type { DeadLetter } from '../../../functions/shared/adapters/local/in-process-bus.js';
import { ConfigurationError } from '../../../functions/shared/errors.js';
import type { ToillessEvent } from '../../../functions/shared/events/types.js';
import { silentLogger } from '../../../functions/shared/log.js';
import { StaticSecretSource } from '../../../functions/shared/ports/secrets.js';
import { generatedSecret, recordEvents } from '../../support/local-server.js';
import { childPids, createTempDir, niceValue, processAlive } from '../../support/process.js';
import { waitFor } from '../../support/wait.js';

const CLI = join(import.meta.dirname, '..', '..', '..', 'bin', 'toilless.js');
/** Nothing listens there: evidence queries fail at once. */
const CLOSED_PORT_URL = 'http://127.0.0.1:9';
const DOWN = { PROMETHEUS_URL: CLOSED_PORT_URL, LOKI_URL: CLOSED_PORT_URL, TEMPO_URL: CLOSED_PORT_URL };

const firingPayload = async () =>
  JSON.parse(
    await readFile(new URL('../../fixtures/alertmanager/firing-fastburnrate.json', import.meta.url), 'utf8'),
  ).body as Record<string, unknown>;

/** The value of one series in a Prometheus text exposition. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function incidentIds(server: LocalServer): Promise<string[]> {
  const ids = new Set<string>();
  for await (const key of server.runtime.store.list('incidents/')) {
    const id = key.split('/')[1];
    if (id && id !== 'groups' && id !== 'deploys' && key.endsWith('/timeline.json')) ids.add(id);
  }
  return [...ids];
}

describe('Local runtime with processors: process', () => {
  let dataDir: string;
  let server: LocalServer | undefined;

  beforeEach(async () => {
    dataDir = await createTempDir('processor-process');
  });

  afterEach(async () => {
    await server?.close();
    server = undefined;
    await rm(dataDir, { recursive: true, force: true });
  });

  async function start(): Promise<LocalServer> {
    server = await startLocalServer({
      port: 0,
      dataDir,
      logger: silentLogger,
      env: DOWN,
      processMetrics: false,
      processors: 'process',
    });
    return server;
  }

  async function postFiring(url: string, payload: Record<string, unknown>): Promise<number> {
    const token = await generatedSecret(dataDir, 'alertmanager-webhook-token');
    const response = await fetch(`${url}/webhooks/alertmanager`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    });
    return response.status;
  }

  it('builds the incident in its own process, at nice 10, and publishes its follow-ups on the server bus', async () => {
    // Prepare
    const local = await start();
    const opened = recordEvents(local, ['IncidentOpened']);
    const pid = local.runtime.processorsPid();

    // Act
    const status = await postFiring(local.url, await firingPayload());

    // Assess
    expect(status).toBe(200);
    expect(pid).toBeDefined();
    expect(pid).not.toBe(process.pid);
    expect(await niceValue(pid as number)).toBe(10);
    await waitFor(async () => (opened.length > 0 ? true : undefined), {
      timeoutMs: 15_000,
      description: 'IncidentOpened published by the processors on the server bus',
    });
    expect(await incidentIds(local)).toEqual([opened[0]?.detail.incidentId]);
    const metrics = await waitFor(
      async () => {
        const text = await (await fetch(`${local.url}/metrics`)).text();
        return (sample(text, 'toilless_evidence_sources_unavailable_total{source="prometheus"}') ?? 0) > 0
          ? text
          : undefined;
      },
      { timeoutMs: 10_000, description: "the processors' counted facts on the server's /metrics" },
    );
    expect(sample(metrics, 'toilless_processors_resident_memory_bytes')).toBeGreaterThan(10 * 1024 * 1024);
    expect(sample(metrics, 'toilless_processors_heap_used_bytes')).toBeGreaterThan(0);
  });

  it('retries a handler that throws there and dead-letters the event with its error, as in one process', async () => {
    // Prepare
    const local = await start();
    const broken = {
      id: 'alertmanager:broken-payload',
      type: 'AlertNotification',
      time: new Date().toISOString(),
      detail: { payload: { receiver: 'toilless' } },
    } as unknown as ToillessEvent;

    // Act
    await local.runtime.bus.publish([broken]);

    // Assess
    const letter = await waitFor(
      async () => {
        const object = await local.runtime.store.get(
          `dead-letter/incident-timeline/${encodeURIComponent(broken.id)}.json`,
        );
        return object ? (JSON.parse(object.body.toString('utf8')) as DeadLetter) : undefined;
      },
      { timeoutMs: 20_000, description: 'the dead letter of the broken notification' },
    );
    expect(letter.attempts).toBe(5);
    expect(letter.error.name).toBe('ValidationError');
    expect(letter.error.message).toContain('AlertNotification payload');
    const metrics = await (await fetch(`${local.url}/metrics`)).text();
    expect(sample(metrics, 'toilless_worker_failures_total{subscriber="incident-timeline"}')).toBe(5);
  });

  it('starts the processors again after they were killed, and what they had not finished is delivered', async () => {
    // Prepare
    const local = await start();
    const killed = local.runtime.processorsPid() as number;
    process.kill(killed, 'SIGKILL');
    await waitFor(async () => ((await processAlive(killed)) ? undefined : true), {
      timeoutMs: 10_000,
      description: 'the killed processors process to end',
    });

    // Act
    const status = await postFiring(local.url, await firingPayload());

    // Assess
    expect(status).toBe(200);
    const ids = await waitFor(
      async () => ((await incidentIds(local)).length > 0 ? incidentIds(local) : undefined),
      {
        timeoutMs: 15_000,
        description: 'the incident built by the restarted processors',
      },
    );
    expect(ids).toHaveLength(1);
    const restarted = local.runtime.processorsPid();
    expect(restarted).toBeDefined();
    expect(restarted).not.toBe(killed);
  });

  it('runs a schedule in the processors process when asked', async () => {
    // Prepare
    const local = await start();

    // Act
    const known = local.runtime.runSchedule('DoraRecompute');

    // Assess: it resolves once done there (its remote-write to a closed port is only logged), and a
    // name no manifest has comes back as the configuration error it is.
    await expect(known).resolves.toBeUndefined();
    await expect(local.runtime.runSchedule('NoSuchSchedule')).rejects.toThrow(
      /no processor manifest has a schedule named NoSuchSchedule/,
    );
    await expect(local.runtime.runSchedule('NoSuchSchedule')).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('refuses an injected secret source, which cannot reach another process', async () => {
    // Act
    const starting = startLocalServer({
      port: 0,
      dataDir,
      logger: silentLogger,
      processMetrics: false,
      processors: 'process',
      secrets: new StaticSecretSource({}),
    });

    // Assess
    await expect(starting).rejects.toThrow(
      /cannot reach the processors' process: use processors: 'in-process'/,
    );
  });
});

describe('toilless serve and its processors process', () => {
  it('leaves no processors process behind when the server is killed with SIGKILL', async () => {
    // Prepare
    const dataDir = await createTempDir('processor-orphan');
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', dataDir], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...DOWN },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        createInterface({ input: child.stdout }).on('line', (line) => {
          if (line.includes('toilless is serving')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`toilless serve exited with ${code}`)));
      });
      const [processors] = await childPids(child.pid as number);
      expect(processors).toBeDefined();
      expect(await processAlive(processors as number)).toBe(true);

      // Act
      child.kill('SIGKILL');

      // Assess
      await waitFor(async () => ((await processAlive(processors as number)) ? undefined : true), {
        timeoutMs: 10_000,
        description: 'the processors process to end with its server',
      });
    } finally {
      child.kill('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
