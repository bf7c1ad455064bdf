/**
 * Soak: `toilless serve` in its own process under mixed traffic for SOAK_DURATION seconds (default 600):
 * Alertmanager notifications opening SOAK_INCIDENTS distinct incidents (default 20,000) spread over the
 * run, repeats of recent groups, their resolutions, and one signed GitHub deployment_status in ten.
 * Evidence sources are down (closed port), as on a laptop without the LGTM stack.
 *
 * Figures: the resident memory of the server and its processors' process, added up, after the first
 * minute and at the end (flat: within 20%), and
 * the intake's request rate and p99. SOAK_HEAP_SNAPSHOTS=1000,10000 writes a heap snapshot of the server
 * when that many incidents were opened (into SOAK_HEAP_DIR, default the OS temp dir) to compare.
 * SOAK_CPU_PROFILE_DIR=<dir> writes a CPU profile of the server (.cpuprofile) there when it stops.
 * SOAK_NODE_ARGS='--trace-gc ...' passes V8/Node flags to the server (those NODE_OPTIONS refuses).
 * SOAK_GITHUB_EVERY=n makes one request in n a GitHub delivery (default 10; 0: none).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { deploymentStatusDelivery } from '../test/support/github-deliveries.js';
import type { Benchmark, Figure } from './run.js';

const DURATION_SECONDS = Number(process.env.SOAK_DURATION ?? 600);
const INCIDENTS = Number(process.env.SOAK_INCIDENTS ?? Math.round((20_000 * DURATION_SECONDS) / 600));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
/** One request in this many is a GitHub delivery (0: none, to see the Alertmanager intake alone). */
const GITHUB_EVERY = Number(process.env.SOAK_GITHUB_EVERY ?? 10);
const SNAPSHOTS_AT = (process.env.SOAK_HEAP_SNAPSHOTS ?? '')
  .split(',')
  .filter((text) => text.trim() !== '')
  .map(Number);
const TOKEN = 'bench-token';
const SECRET = 'bench-webhook-secret';
/** Distinct deployments sent (then redelivered under new delivery ids). */
const DEPLOYMENTS = 2_000;
/** Groups still firing and resent by Alertmanager; older ones are resolved. */
const RECENT_GROUPS = 50;
const GROWTH_TARGET = 0.2;

export const soakBenchmark: Benchmark = {
  name: 'soak',
  description: `${DURATION_SECONDS} s of mixed traffic (${INCIDENTS} distinct incidents, 1 GitHub delivery in 10), ${CONNECTIONS} connections`,
  async run(): Promise<readonly Figure[]> {
    const dataDir = await mkdtemp(join(tmpdir(), 'toilless-bench-soak-'));
    const heapDir = process.env.SOAK_HEAP_DIR ?? tmpdir();
    const { child, url } = await startServe(dataDir, heapDir);
    const traffic = new SoakTraffic(INCIDENTS, DURATION_SECONDS * 1000);
    const rss: { at: number; bytes: number }[] = [];
    const sampler = setInterval(() => {
      void residentBytes(child.pid as number).then((bytes) => {
        if (bytes !== undefined) rss.push({ at: traffic.elapsedMs(), bytes });
      });
      const due = SNAPSHOTS_AT[0];
      if (due !== undefined && traffic.opened >= due) {
        SNAPSHOTS_AT.shift();
        console.log(`heap snapshot at ${traffic.opened} incidents (into ${heapDir})`);
        child.kill('SIGUSR2');
      }
    }, 1_000);
    try {
      traffic.start();
      const result = await autocannon({
        url,
        connections: CONNECTIONS,
        duration: DURATION_SECONDS,
        requests: [{ method: 'POST', setupRequest: (request) => traffic.next(request) }],
      });
      clearInterval(sampler);
      const endBytes = (await residentBytes(child.pid as number)) ?? 0;
      const memory = await memoryMetrics(url);
      const firstMinuteAt = Math.min(60_000, (DURATION_SECONDS * 1000) / 2);
      const firstMinute = rss.find((sample) => sample.at >= firstMinuteAt)?.bytes ?? 0;
      const growth = firstMinute === 0 ? Number.NaN : (endBytes - firstMinute) / firstMinute;
      const stored = await storedIncidents(dataDir);
      const queueBytes = await folderBytes(join(dataDir, 'queue'));
      const failed = result.non2xx + result.errors + result.timeouts;
      return [
        {
          name: 'requests/s (mean)',
          value: Math.round(result.requests.average),
          unit: 'req/s',
          target: '>= 2000',
          met: result.requests.average >= 2000,
        },
        { name: 'latency p50', value: result.latency.p50, unit: 'ms' },
        {
          name: 'latency p99',
          value: result.latency.p99,
          unit: 'ms',
          target: '< 20',
          met: result.latency.p99 < 20,
        },
        {
          name: 'responses non-2xx + errors',
          value: failed,
          unit: 'count',
          target: '0',
          met: failed === 0,
        },
        { name: 'distinct incidents sent', value: traffic.opened, unit: 'count' },
        { name: 'incidents stored at end', value: stored, unit: 'count' },
        { name: 'GitHub deliveries sent', value: traffic.githubSent, unit: 'count' },
        // What the workers have not done yet waits here, on disk, not in memory.
        { name: 'event queue on disk at end', value: Math.round(queueBytes / 1024 / 1024), unit: 'MiB' },
        {
          name: `RSS after ${firstMinuteAt / 1000} s`,
          value: Math.round(firstMinute / 1024 / 1024),
          unit: 'MiB',
        },
        { name: 'RSS at end', value: Math.round(endBytes / 1024 / 1024), unit: 'MiB' },
        // One sample lands anywhere between two major GCs: medians over a window show the trend.
        {
          name: 'RSS median, the minute after the first',
          value: medianMiB(rss, firstMinuteAt, 2 * firstMinuteAt),
          unit: 'MiB',
        },
        {
          name: 'RSS median, the last minute',
          value: medianMiB(rss, DURATION_SECONDS * 1000 - firstMinuteAt, Number.POSITIVE_INFINITY),
          unit: 'MiB',
        },
        {
          name: 'RSS max',
          value: Math.round(Math.max(0, ...rss.map((s) => s.bytes)) / 1024 / 1024),
          unit: 'MiB',
        },
        ...memory,
        {
          name: 'RSS growth after the first minute',
          value: Math.round(growth * 1000) / 10,
          unit: '%',
          target: `<= ${GROWTH_TARGET * 100}`,
          met: growth <= GROWTH_TARGET,
        },
      ];
    } finally {
      clearInterval(sampler);
      await stop(child);
      await rm(dataDir, { recursive: true, force: true });
    }
  },
};

type CannonRequest = autocannon.Request;

/** Decides each request: a new incident when one is due, a resolution, a GitHub delivery or a repeat. */
class SoakTraffic {
  opened = 0;
  githubSent = 0;
  private sent = 0;
  private startedAt = 0;
  private readonly firing: { group: number; startsAt: string }[] = [];
  private readonly toResolve: { group: number; startsAt: string }[] = [];
  private readonly template: string;
  private readonly deliveries: { body: string; signature: string }[];

  constructor(
    private readonly incidents: number,
    private readonly durationMs: number,
  ) {
    this.template = alertTemplate();
    this.deliveries = Array.from({ length: DEPLOYMENTS }, (_, index) => {
      const at = new Date();
      const delivery = deploymentStatusDelivery(
        {
          repository: 'acme/soak',
          id: 500_000 + index,
          sha: (index + 1).toString(16).padStart(40, 'b'),
          environment: 'production',
          createdAt: at,
        },
        { id: 800_000 + index, state: 'success', at },
      );
      return {
        body: delivery.body,
        signature: `sha256=${createHmac('sha256', SECRET).update(delivery.body).digest('hex')}`,
      };
    });
  }

  start(): void {
    this.startedAt = Date.now();
  }

  elapsedMs(): number {
    return this.startedAt === 0 ? 0 : Date.now() - this.startedAt;
  }

  next(request: CannonRequest): CannonRequest {
    this.sent += 1;
    if (GITHUB_EVERY > 0 && this.sent % GITHUB_EVERY === 0) return this.github(request);
    const due = Math.min(this.incidents, Math.ceil((this.incidents * this.elapsedMs()) / this.durationMs));
    if (this.opened < due) {
      const group = { group: this.opened++, startsAt: new Date().toISOString() };
      this.firing.push(group);
      if (this.firing.length > RECENT_GROUPS) this.toResolve.push(this.firing.shift() as typeof group);
      return this.alert(request, group, 'firing');
    }
    const resolving = this.toResolve.shift();
    if (resolving) return this.alert(request, resolving, 'resolved');
    const repeat = this.firing[this.sent % Math.max(1, this.firing.length)];
    if (repeat) return this.alert(request, repeat, 'firing');
    return this.github(request);
  }

  private alert(
    request: CannonRequest,
    group: { group: number; startsAt: string },
    status: 'firing' | 'resolved',
  ): CannonRequest {
    const body = this.template
      .replaceAll('__GROUP__', String(group.group))
      .replaceAll('__STATUS__', status)
      .replaceAll('__STARTS_AT__', group.startsAt)
      .replaceAll('__ENDS_AT__', status === 'resolved' ? new Date().toISOString() : '0001-01-01T00:00:00Z')
      .replaceAll('__FINGERPRINT__', group.group.toString(16).padStart(16, '0'));
    return {
      ...request,
      method: 'POST',
      path: '/webhooks/alertmanager',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body,
    };
  }

  private github(request: CannonRequest): CannonRequest {
    const delivery = this.deliveries[this.githubSent % this.deliveries.length] as {
      body: string;
      signature: string;
    };
    this.githubSent += 1;
    return {
      ...request,
      method: 'POST',
      path: '/webhooks/github',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'GitHub-Hookshot/f6c3b5e',
        'x-github-event': 'deployment_status',
        'x-github-delivery': randomUUID(),
        'x-github-hook-id': '471147114',
        'x-github-hook-installation-target-type': 'repository',
        'x-hub-signature-256': delivery.signature,
      },
      body: delivery.body,
    };
  }
}

/** One Alertmanager notification of one group, with placeholders for what differs per group. */
function alertTemplate(): string {
  const labels = {
    alertname: 'FastBurnRate',
    service: 'sample-app',
    severity: 'critical',
    slo: 'availability',
    instance: 'soak-__GROUP__',
  };
  return JSON.stringify({
    receiver: 'toilless',
    status: '__STATUS__',
    alerts: [
      {
        status: '__STATUS__',
        labels,
        annotations: {
          summary: 'sample-app is burning its error budget 20x too fast',
          runbook_url: 'runbooks/fast-burn-rate.md',
        },
        startsAt: '__STARTS_AT__',
        endsAt: '__ENDS_AT__',
        generatorURL:
          'http://127.0.0.1:9/graph?g0.expr=sum%28rate%28http_requests_total%5B5m%5D%29%29+%3E+1&g0.tab=1',
        fingerprint: '__FINGERPRINT__',
      },
    ],
    groupLabels: { service: 'sample-app', instance: 'soak-__GROUP__' },
    commonLabels: labels,
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    version: '4',
    groupKey: '{}:{instance="soak-__GROUP__", service="sample-app"}',
    truncatedAlerts: 0,
  });
}

async function startServe(dataDir: string, heapDir: string): Promise<{ child: ChildProcess; url: string }> {
  const heapFlags =
    SNAPSHOTS_AT.length > 0 ? ` --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${heapDir}` : '';
  const profileDir = process.env.SOAK_CPU_PROFILE_DIR;
  // --cpu-prof is refused in NODE_OPTIONS: it goes on the command line.
  const profileFlags = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const args = [
    ...profileFlags,
    ...(process.env.SOAK_NODE_ARGS ?? '').split(' ').filter(Boolean),
    'bin/toilless.js',
    'serve',
    '--port',
    '0',
    '--data-dir',
    dataDir,
  ];
  const child = spawn(process.execPath, args, {
    env: {
      ...process.env,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''}${heapFlags}`.trim(),
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      ALERTMANAGER_WEBHOOK_TOKEN: TOKEN,
      GITHUB_WEBHOOK_SECRET: SECRET,
      // Nothing listens there: the sources are down, as on a laptop without the LGTM stack.
      PROMETHEUS_URL: 'http://127.0.0.1:9',
      LOKI_URL: 'http://127.0.0.1:9',
      TEMPO_URL: 'http://127.0.0.1:9',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    // Read every line, also after the first: an unread pipe would block the server's logging.
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (!line.includes('toilless is serving')) return;
      try {
        const entry = JSON.parse(line) as { url?: string };
        if (entry.url) resolve(entry.url);
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code) => reject(new Error(`toilless serve exited with ${code} before serving`)));
  });
  return { child, url };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

function medianMiB(samples: readonly { at: number; bytes: number }[], from: number, to: number): number {
  const inWindow = samples
    .filter((sample) => sample.at >= from && sample.at < to)
    .map((sample) => sample.bytes)
    .sort((a, b) => a - b);
  const middle = inWindow[Math.floor(inWindow.length / 2)];
  return middle === undefined ? Number.NaN : Math.round(middle / 1024 / 1024);
}

/** VmRSS of a process and its children (the processors' process), from /proc (Linux). */
async function residentBytes(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kib = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    if (kib === undefined) return undefined;
    const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
    let bytes = Number(kib) * 1024;
    for (const child of children.split(' ').filter((text) => text.trim() !== '')) {
      bytes += (await residentBytes(Number(child))) ?? 0;
    }
    return bytes;
  } catch {
    return undefined;
  }
}

async function folderBytes(dir: string): Promise<number> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const sizes = await Promise.all(
    names.map((name) =>
      stat(join(dir, name)).then(
        (info) => info.size,
        () => 0,
      ),
    ),
  );
  return sizes.reduce((sum, size) => sum + size, 0);
}

async function storedIncidents(dataDir: string): Promise<number> {
  const names = await readdir(join(dataDir, 'incidents')).catch(() => [] as string[]);
  return names.filter((name) => name !== 'groups' && name !== 'deploys').length;
}

/**
 * Where the memory is at the end, from the server's own /metrics: the server's V8 heap used and reserved,
 * off-heap, and the processors' process.
 */
async function memoryMetrics(url: string): Promise<Figure[]> {
  const text = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(30_000) })
    .then((response) => response.text())
    .catch(() => '');
  const figures: readonly (readonly [name: string, series: string])[] = [
    ['V8 heap used at end', 'toilless_nodejs_heap_size_used_bytes'],
    ['V8 heap total at end', 'toilless_nodejs_heap_size_total_bytes'],
    ['external memory at end', 'toilless_nodejs_external_memory_bytes'],
    // The processors run in a child process of the server: its share of the RSS above.
    ['processors RSS at end', 'toilless_processors_resident_memory_bytes'],
    ['processors heap used at end', 'toilless_processors_heap_used_bytes'],
    ['processors heap total at end', 'toilless_processors_heap_total_bytes'],
  ];
  return figures.map(([name, series]) => {
    const bytes = Number(new RegExp(`^${series} (\\S+)`, 'm').exec(text)?.[1] ?? Number.NaN);
    return { name, value: Math.round(bytes / 1024 / 1024), unit: 'MiB' };
  });
}
