/**
 * `toilless serve` killed with SIGKILL at random moments keeps everything it answered 200 for: each
 * accepted Alertmanager notification ends up as exactly one incident, each accepted GitHub deployment
 * status as exactly one DORA record, once the server is started again. Unanswered deliveries are sent
 * again in the next round, as Alertmanager and GitHub do.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeploymentRecord } from '../../../functions/dora-metrics/model.js';
import type { IncidentTimeline } from '../../../functions/incident-timeline/model.js';
import {
  type DeploymentFacts,
  deliver,
  deploymentStatusDelivery,
  type GitHubDelivery,
} from '../../support/github-deliveries.js';
import { generatedSecret } from '../../support/local-server.js';
import { childPids, createTempDir, processAlive } from '../../support/process.js';
import { waitFor } from '../../support/wait.js';

const CLI = join(import.meta.dirname, '..', '..', '..', 'bin', 'toilless.js');
/** Nothing listens there: evidence queries and remote-write fail at once instead of waiting. */
const CLOSED_PORT_URL = 'http://127.0.0.1:9';

type Child = ChildProcessByStdio<null, Readable, Readable>;

interface Serving {
  readonly child: Child;
  readonly url: string;
  /** Resolves once the server and its processors process are both gone. */
  readonly exited: Promise<number | null>;
  readonly messages: string[];
}

function serve(dataDir: string, env: NodeJS.ProcessEnv = {}): Promise<Serving> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', dataDir], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PROMETHEUS_URL: CLOSED_PORT_URL,
      LOKI_URL: CLOSED_PORT_URL,
      TEMPO_URL: CLOSED_PORT_URL,
      GRAFANA_URL: CLOSED_PORT_URL,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const messages: string[] = [];
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (text) => {
      const line = JSON.parse(text) as { msg: string; url?: string };
      messages.push(line.msg);
      if (line.msg === 'toilless is serving' && line.url) {
        const url = line.url;
        // The processors run in a child process of the server: a killed server must not leave it behind,
        // still working on the data directory while the next server starts.
        void childPids(child.pid as number).then((pids) => {
          const gone = exited.then(async (code) => {
            for (const pid of pids) {
              await waitFor(async () => ((await processAlive(pid)) ? undefined : true), {
                timeoutMs: 10_000,
                description: `the processors process ${pid} to end with its server`,
              });
            }
            return code;
          });
          resolve({ child, url, exited: gone, messages });
        }, reject);
      }
    });
    void exited.then((code) => reject(new Error(`toilless serve exited with ${code} before serving`)));
  });
}

/** One Alertmanager notification of its own group (service svc-<n>). */
function notification(template: Record<string, unknown>, n: number): { groupKey: string; body: string } {
  const service = `svc-${n}`;
  const groupKey = `{}:{service="${service}", severity="critical"}`;
  const payload = structuredClone(template) as {
    groupKey: string;
    groupLabels: Record<string, string>;
    commonLabels: Record<string, string>;
    alerts: { labels: Record<string, string>; fingerprint: string }[];
  };
  payload.groupKey = groupKey;
  payload.groupLabels.service = service;
  payload.commonLabels.service = service;
  for (const alert of payload.alerts) {
    alert.labels.service = service;
    alert.fingerprint = n.toString(16).padStart(16, '0');
  }
  return { groupKey, body: JSON.stringify(payload) };
}

/** A successful deployment of its own repository (acme/repo-<n>). */
function deploymentStatus(n: number): { key: string; delivery: GitHubDelivery } {
  const at = new Date(Date.now() - 60_000);
  const deployment: DeploymentFacts = {
    repository: `acme/repo-${n}`,
    id: 5000 + n,
    sha: n.toString(16).padStart(40, 'a'),
    environment: 'production',
    createdAt: at,
  };
  return {
    key: join('deployments', 'acme', `repo-${n}`, 'production', `${5000 + n}.json`),
    delivery: deploymentStatusDelivery(deployment, { id: 9000 + n, state: 'success', at }),
  };
}

interface Delivery {
  readonly name: string;
  send(url: string): Promise<number>;
}

describe('toilless serve killed with SIGKILL', () => {
  let dataDir: string;
  const children: Child[] = [];

  beforeEach(async () => {
    dataDir = await createTempDir('crash');
  });

  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  async function start(env: NodeJS.ProcessEnv = {}): Promise<Serving> {
    const serving = await serve(dataDir, env);
    children.push(serving.child);
    return serving;
  }

  /**
   * Sends the deliveries concurrently and kills the server when `killAt` says so; resolves with the
   * names answered 200 before the kill.
   */
  async function round(
    deliveries: readonly Delivery[],
    killAt: { readonly afterAnswers: number } | { readonly afterMs: number },
  ): Promise<Set<string>> {
    const serving = await start();
    const accepted = new Set<string>();
    let answers = 0;
    const kill = () => serving.child.kill('SIGKILL');
    if ('afterMs' in killAt) setTimeout(kill, killAt.afterMs);
    await Promise.allSettled(
      deliveries.map(async (delivery) => {
        const status = await delivery.send(serving.url);
        if (serving.child.exitCode !== null || serving.child.signalCode !== null) return;
        if (status === 200) accepted.add(delivery.name);
        answers++;
        // Right after an answer, before the server has had a chance to process anything more.
        if ('afterAnswers' in killAt && answers === killAt.afterAnswers) kill();
      }),
    );
    kill();
    await serving.exited;
    return accepted;
  }

  it('keeps every delivery it answered 200 for: one incident or DORA record each, after a restart', async () => {
    // Prepare
    const template = JSON.parse(
      await readFile(
        new URL('../../fixtures/alertmanager/firing-fastburnrate.json', import.meta.url),
        'utf8',
      ),
    ).body as Record<string, unknown>;
    const first = await start();
    const token = await generatedSecret(dataDir, 'alertmanager-webhook-token');
    const secret = await generatedSecret(dataDir, 'github-webhook-secret');
    first.child.kill('SIGKILL');
    await first.exited;

    const groups = new Map<string, string>();
    const deployments = new Map<string, string>();
    const all: Delivery[] = [];
    for (let n = 0; n < 36; n++) {
      const { groupKey, body } = notification(template, n);
      groups.set(`alert-${n}`, groupKey);
      all.push({
        name: `alert-${n}`,
        send: async (url) =>
          (
            await fetch(`${url}/webhooks/alertmanager`, {
              method: 'POST',
              headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
              body,
            })
          ).status,
      });
    }
    for (let n = 0; n < 24; n++) {
      const { key, delivery } = deploymentStatus(n);
      deployments.set(`github-${n}`, key);
      all.push({ name: `github-${n}`, send: async (url) => (await deliver(url, secret, delivery)).status });
    }
    const shuffled = [...all].sort(() => Math.random() - 0.5);
    const everAccepted = new Set<string>();
    const unanswered = () => shuffled.filter((delivery) => !everAccepted.has(delivery.name));

    // Act: three rounds of deliveries, each cut short by a SIGKILL; the unanswered ones are sent again.
    const plan = [
      { take: 20, killAt: { afterAnswers: 1 + Math.floor(Math.random() * 12) } },
      { take: 40, killAt: { afterMs: 20 + Math.floor(Math.random() * 150) } },
      { take: 60, killAt: { afterAnswers: 10 + Math.floor(Math.random() * 20) } },
    ];
    for (const { take, killAt } of plan) {
      for (const name of await round(unanswered().slice(0, take), killAt)) everAccepted.add(name);
    }
    const last = await start();
    for (const delivery of unanswered()) {
      if ((await delivery.send(last.url)) === 200) everAccepted.add(delivery.name);
    }

    // Assess: a GitHub delivery whose claim a killed attempt left is answered 503 for a while, so not
    // every delivery is accepted by now; every accepted one must be processed.
    expect(everAccepted.size).toBeGreaterThan(all.length / 2);
    const acceptedGroups = [...groups].filter(([name]) => everAccepted.has(name));
    const acceptedDeployments = [...deployments].filter(([name]) => everAccepted.has(name));
    const incidentsByGroup = await waitFor(
      async () => {
        const byGroup = await incidentGroups(dataDir);
        const missing = acceptedGroups.filter(([, groupKey]) => !byGroup.has(groupKey)).map(([name]) => name);
        for (const [name, key] of acceptedDeployments) {
          if (
            await readFile(join(dataDir, key)).then(
              () => false,
              () => true,
            )
          )
            missing.push(name);
        }
        // Thrown, so that a timeout names what is missing.
        if (missing.length > 0) throw new Error(`not processed yet: ${missing.join(', ')}`);
        return byGroup;
      },
      { timeoutMs: 20_000, intervalMs: 250, description: 'every accepted delivery to be processed' },
    );
    for (const [, groupKey] of acceptedGroups) expect(incidentsByGroup.get(groupKey)).toBe(1);
    expect([...incidentsByGroup.values()].every((count) => count === 1)).toBe(true);
    for (const [, key] of acceptedDeployments) {
      const record = JSON.parse(await readFile(join(dataDir, key), 'utf8')) as DeploymentRecord;
      expect(record.statuses.filter((status) => status.state === 'success')).toHaveLength(1);
    }
    last.child.kill('SIGTERM');
    expect(await last.exited).toBe(0);
  }, 90_000);

  it('exits at once on a second SIGTERM and delivers what it had not finished on the next start', async () => {
    // Prepare: a Prometheus that never answers keeps the incident handlers busy (20 s budget).
    const hanging = createServer(() => {});
    hanging.listen(0, '127.0.0.1');
    await once(hanging, 'listening');
    const stalled = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`;
    const template = await alertTemplate();
    const first = await start({ PROMETHEUS_URL: stalled, LOKI_URL: stalled, TEMPO_URL: stalled });
    const token = await generatedSecret(dataDir, 'alertmanager-webhook-token');
    const groups = Array.from({ length: 12 }, (_, n) => notification(template, n));
    const statuses = await Promise.all(
      groups.map(
        async ({ body }) =>
          (
            await fetch(`${first.url}/webhooks/alertmanager`, {
              method: 'POST',
              headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
              body,
            })
          ).status,
      ),
    );

    // Act
    first.child.kill('SIGTERM');
    await waitFor(
      async () =>
        first.messages.includes('shutting down: finishing in-flight requests and deliveries')
          ? true
          : undefined,
      { timeoutMs: 5_000, intervalMs: 20, description: 'the first SIGTERM to be handled' },
    );
    const secondSignalAt = Date.now();
    first.child.kill('SIGTERM');
    const code = await first.exited;
    const exitedAfterMs = Date.now() - secondSignalAt;
    hanging.closeAllConnections();
    hanging.close();
    const incidentsAtExit = await incidentGroups(dataDir);
    const next = await start();

    // Assess
    expect(statuses.every((status) => status === 200)).toBe(true);
    expect(code).toBe(1);
    expect(exitedAfterMs).toBeLessThan(3_000);
    expect(first.messages).toContain('second signal: exiting without waiting for in-flight work');
    expect(incidentsAtExit.size).toBeLessThan(groups.length);
    const byGroup = await waitFor(
      async () => {
        const counts = await incidentGroups(dataDir);
        return counts.size === groups.length ? counts : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 250, description: 'an incident for every notification' },
    );
    expect([...byGroup.values()].every((count) => count === 1)).toBe(true);
    next.child.kill('SIGTERM');
    expect(await next.exited).toBe(0);
  }, 60_000);
});

/** How many incidents each Alertmanager group has in the store. */
async function incidentGroups(dataDir: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const root = join(dataDir, 'incidents');
  const names = await readdir(root).catch(() => [] as string[]);
  for (const name of names) {
    if (name === 'groups' || name === 'deploys') continue;
    const text = await readFile(join(root, name, 'timeline.json'), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const { groupKey } = JSON.parse(text) as IncidentTimeline;
    counts.set(groupKey, (counts.get(groupKey) ?? 0) + 1);
  }
  return counts;
}

/** The body of a firing Alertmanager notification from the fixtures. */
async function alertTemplate(): Promise<Record<string, unknown>> {
  const fixture = new URL('../../fixtures/alertmanager/firing-fastburnrate.json', import.meta.url);
  return JSON.parse(await readFile(fixture, 'utf8')).body as Record<string, unknown>;
}
