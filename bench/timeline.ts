/**
 * Incident timeline evidence at volume: Loki holding 1,000,000 lines of the service in the window and
 * Tempo holding 10,000 traces (plus the real Prometheus), then one `buildTimelineOnce`. The servers
 * and the build each run in their own process, so the build's peak RSS is its own.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { LOOKBACK_BEFORE_ONSET_MS } from '../functions/incident-timeline/incident-links.js';
import { EVALUATION_INTERVAL_MS } from '../functions/incident-timeline/lifecycle.js';
import type { Benchmark, Figure } from './run.js';

/** The alert started firing this long before the build. */
const FIRING_FOR_MS = 10 * 60_000;

type ServerKind = 'loki' | 'tempo' | 'prometheus';

/** A server of bench/timeline-servers.ts in its own process. */
interface ServerProcess {
  readonly child: ChildProcess;
  readonly lines: Interface;
  readonly url: string;
  /** Lines (Loki), traces (Tempo) or samples (Prometheus) held. */
  readonly held: number;
}

interface BuildResult {
  readonly wallMs: number;
  readonly maxRssMiB: number;
  readonly onset: string;
  readonly events: number;
  readonly high: readonly string[];
  readonly unavailable: readonly string[];
}

export const timelineBenchmark: Benchmark = {
  name: 'timeline',
  description: 'incident timeline build against Loki with 1,000,000 lines and Tempo with 10,000 traces',
  async run(): Promise<readonly Figure[]> {
    // The window the worker will query: from 30 minutes before the estimated onset to now.
    const now = new Date();
    const startsAt = new Date(now.getTime() - FIRING_FOR_MS);
    const onset = new Date(startsAt.getTime() - EVALUATION_INTERVAL_MS);
    const from = new Date(onset.getTime() - LOOKBACK_BEFORE_ONSET_MS);

    const windowArg = JSON.stringify({
      from: from.toISOString(),
      onset: onset.toISOString(),
      to: now.toISOString(),
    });
    const started: ServerProcess[] = [];
    try {
      const [loki, tempo, prometheus] = await Promise.all(
        (['loki', 'tempo', 'prometheus'] as const).map(async (kind: ServerKind) => {
          const server = await startServer(kind, windowArg);
          started.push(server);
          return server;
        }),
      );
      if (!loki || !tempo || !prometheus) throw new Error('a benchmark server did not start');
      const build = tsx(
        'bench/timeline-build.ts',
        [JSON.stringify({ now: now.toISOString(), startsAt: startsAt.toISOString() })],
        { PROMETHEUS_URL: prometheus.url, LOKI_URL: loki.url, TEMPO_URL: tempo.url, LOG_LEVEL: 'warn' },
      );
      const result = JSON.parse(
        await nextLine(
          createInterface({ input: build.stdout as NodeJS.ReadableStream }),
          build,
          'the timeline build',
        ),
      ) as BuildResult;
      const lokiRequests = await requestsOf(loki);
      const tempoRequests = await requestsOf(tempo);

      console.log(`onset ${result.onset}; ${result.events} events; high relevance:`);
      for (const summary of result.high) console.log(`  - ${summary}`);
      for (const summary of result.unavailable) console.log(`  unavailable: ${summary}`);
      return [
        { name: 'Loki lines in the window', value: loki.held, unit: 'lines' },
        { name: 'Tempo traces held', value: tempo.held, unit: 'traces' },
        {
          name: 'timeline build (cold)',
          value: Math.round(result.wallMs),
          unit: 'ms',
          target: '<= 2000',
          met: result.wallMs <= 2000,
        },
        {
          name: 'Loki requests',
          value: lokiRequests,
          unit: 'count',
          target: '<= 10',
          met: lokiRequests <= 10,
        },
        {
          name: 'Tempo requests',
          value: tempoRequests,
          unit: 'count',
          target: '<= 25',
          met: tempoRequests <= 25,
        },
        {
          name: 'peak RSS of the build process',
          value: Math.round(result.maxRssMiB),
          unit: 'MiB',
          target: '< 256',
          met: result.maxRssMiB < 256,
        },
        {
          name: 'sources unavailable',
          value: result.unavailable.length,
          unit: 'count',
          target: '0',
          met: result.unavailable.length === 0,
        },
      ];
    } finally {
      for (const server of started) server.child.stdin?.end();
      await Promise.all(started.map((server) => exited(server.child)));
    }
  },
};

async function startServer(kind: ServerKind, windowArg: string): Promise<ServerProcess> {
  const child = tsx('bench/timeline-servers.ts', [kind, windowArg]);
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const ready = JSON.parse(await nextLine(lines, child, `the ${kind} server`)) as {
    url: string;
    held: number;
  };
  return { child, lines, url: ready.url, held: ready.held };
}

async function requestsOf(server: ServerProcess): Promise<number> {
  server.child.stdin?.write('stats\n');
  return (
    JSON.parse(await nextLine(server.lines, server.child, 'the server statistics')) as { requests: number }
  ).requests;
}

function tsx(script: string, args: readonly string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
}

function nextLine(lines: Interface, child: ChildProcess, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`${what} exited with ${code} before answering`));
    child.once('exit', onExit);
    lines.once('line', (line) => {
      child.off('exit', onExit);
      resolve(line);
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
