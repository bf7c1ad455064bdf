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

interface ServersReady {
  readonly lokiUrl: string;
  readonly tempoUrl: string;
  readonly prometheusUrl: string;
  readonly lokiLines: number;
  readonly tempoTraces: number;
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

    const servers = tsx('bench/timeline-servers.ts', [
      JSON.stringify({ from: from.toISOString(), onset: onset.toISOString(), to: now.toISOString() }),
    ]);
    const serverLines = createInterface({ input: servers.stdout as NodeJS.ReadableStream });
    try {
      const ready = JSON.parse(await nextLine(serverLines, servers, 'the benchmark servers')) as ServersReady;
      const build = tsx(
        'bench/timeline-build.ts',
        [JSON.stringify({ now: now.toISOString(), startsAt: startsAt.toISOString() })],
        {
          PROMETHEUS_URL: ready.prometheusUrl,
          LOKI_URL: ready.lokiUrl,
          TEMPO_URL: ready.tempoUrl,
          LOG_LEVEL: 'warn',
        },
      );
      const result = JSON.parse(
        await nextLine(
          createInterface({ input: build.stdout as NodeJS.ReadableStream }),
          build,
          'the timeline build',
        ),
      ) as BuildResult;
      servers.stdin?.write('stats\n');
      const stats = JSON.parse(await nextLine(serverLines, servers, 'the server statistics')) as {
        lokiRequests: number;
        tempoRequests: number;
      };

      console.log(`onset ${result.onset}; ${result.events} events; high relevance:`);
      for (const summary of result.high) console.log(`  - ${summary}`);
      for (const summary of result.unavailable) console.log(`  unavailable: ${summary}`);
      return [
        { name: 'Loki lines in the window', value: ready.lokiLines, unit: 'lines' },
        { name: 'Tempo traces held', value: ready.tempoTraces, unit: 'traces' },
        {
          name: 'timeline build (cold)',
          value: Math.round(result.wallMs),
          unit: 'ms',
          target: '<= 2000',
          met: result.wallMs <= 2000,
        },
        {
          name: 'Loki requests',
          value: stats.lokiRequests,
          unit: 'count',
          target: '<= 10',
          met: stats.lokiRequests <= 10,
        },
        {
          name: 'Tempo requests',
          value: stats.tempoRequests,
          unit: 'count',
          target: '<= 25',
          met: stats.tempoRequests <= 25,
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
      servers.stdin?.end();
      await exited(servers);
    }
  },
};

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
