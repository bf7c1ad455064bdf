/**
 * Webhook intake throughput: `toilless serve` in its own process, autocannon posting valid
 * Alertmanager payloads over loopback for 30 s. Every 200 must have its event published.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import type { Benchmark, Figure } from './run.js';

const DURATION_SECONDS = Number(process.env.BENCH_DURATION ?? 30);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);

export const intakeBenchmark: Benchmark = {
  name: 'intake',
  description: `POST /webhooks/alertmanager on the local server, ${CONNECTIONS} connections, ${DURATION_SECONDS} s`,
  async run(): Promise<readonly Figure[]> {
    const dataDir = await mkdtemp(join(tmpdir(), 'toilless-bench-'));
    const child = spawn(
      process.execPath,
      ['bin/toilless.js', 'serve', '--port', '0', '--data-dir', dataDir],
      {
        // The default log level: every webhook logs one line, as `npm start` does.
        env: {
          ...process.env,
          LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
          ALERTMANAGER_WEBHOOK_TOKEN: 'bench-token',
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const lines = createInterface({ input: child.stdout });
        lines.on('line', (line) => {
          try {
            const entry = JSON.parse(line) as { msg?: string; url?: string };
            if (entry.msg === 'toilless is serving' && entry.url) {
              // From here on the log lines are only drained, not parsed, so reading them costs little.
              lines.close();
              child.stdout.resume();
              resolve(entry.url);
            }
          } catch {
            // not a log line
          }
        });
        child.once('exit', (code) => reject(new Error(`toilless serve exited with ${code} before serving`)));
      });
      const payload = JSON.parse(
        await readFile('test/fixtures/alertmanager/firing-fastburnrate.json', 'utf8'),
      ).body;

      const result = await autocannon({
        url: `${url}/webhooks/alertmanager`,
        method: 'POST',
        connections: CONNECTIONS,
        duration: DURATION_SECONDS,
        headers: { authorization: 'Bearer bench-token', 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      });

      const metrics = await (await fetch(`${url}/metrics`)).text();
      const published = Number(
        /toilless_events_published_total\{type="AlertNotification"\} (\d+)/.exec(metrics)?.[1] ?? 0,
      );
      const rss = Number(/toilless_process_resident_memory_bytes (\d+)/.exec(metrics)?.[1] ?? 0);
      const ok = result['2xx'];
      // Requests still in flight when autocannon stops are published but not counted as answered.
      const lost = Math.max(0, ok - published);
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
        { name: 'responses 2xx', value: ok, unit: 'count' },
        {
          name: 'responses non-2xx + errors',
          value: result.non2xx + result.errors + result.timeouts,
          unit: 'count',
          target: '0',
          met: result.non2xx + result.errors + result.timeouts === 0,
        },
        { name: 'events published', value: published, unit: 'count' },
        { name: 'events lost (2xx not published)', value: lost, unit: 'count', target: '0', met: lost === 0 },
        { name: 'server RSS after run', value: Math.round(rss / 1024 / 1024), unit: 'MiB' },
      ];
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      await rm(dataDir, { recursive: true, force: true });
    }
  },
};
