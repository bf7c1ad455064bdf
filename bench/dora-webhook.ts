/**
 * Deploy-to-dashboard latency: `toilless serve` in its own process writing to a real Prometheus. For each
 * of N new deployments of one repository, its `deployment` webhook, then its successful `deployment_status`
 * webhook, timed from sending the status until Prometheus answers the new count of
 * dora_deployments{status="success",window="7d"} (polled every 20 ms). One deployment at a time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  type DeploymentFacts,
  deliver,
  deploymentDelivery,
  deploymentStatusDelivery,
} from '../test/support/github-deliveries.js';
import { type RunningPrometheus, startPrometheus } from '../test/support/prometheus.js';
import type { Benchmark, Figure } from './run.js';

const DEPLOYMENTS = Number(process.env.BENCH_DORA_DEPLOYMENTS ?? 40);
const SECRET = 'bench-webhook-secret';
const REPOSITORY = 'acme/bench';
const POLL_MS = 20;
/** A deployment not counted by then is reported as missing. */
const GIVE_UP_MS = 10_000;
const TARGET_P95_MS = 2_000;
const QUERY = `dora_deployments{repository="${REPOSITORY}",environment="production",window="7d",status="success"}`;

export const doraWebhookBenchmark: Benchmark = {
  name: 'dora-webhook',
  description: `${DEPLOYMENTS} successful deployments of one repository: status webhook -> local server -> remote-write -> Prometheus query`,
  async run(): Promise<readonly Figure[]> {
    const prometheus = await startPrometheus();
    const dataDir = await mkdtemp(join(tmpdir(), 'toilless-bench-dora-'));
    let child: ChildProcess | undefined;
    try {
      const serve = await startServe(dataDir, prometheus.url);
      child = serve.child;
      const visible: number[] = [];
      const answered: number[] = [];
      let missing = 0;
      for (let index = 1; index <= DEPLOYMENTS; index++) {
        const deployment: DeploymentFacts = {
          repository: REPOSITORY,
          id: 700_000 + index,
          sha: index.toString(16).padStart(40, 'a'),
          environment: 'production',
          createdAt: new Date(),
        };
        await accepted(deliver(serve.url, SECRET, deploymentDelivery(deployment)));
        const status = deploymentStatusDelivery(deployment, {
          id: 900_000 + index,
          state: 'success',
          at: new Date(),
        });

        const sent = performance.now();
        await accepted(deliver(serve.url, SECRET, status));
        answered.push(performance.now() - sent);
        if (await counted(prometheus, index, sent)) visible.push(performance.now() - sent);
        else missing++;
      }
      return [
        { name: 'deployments', value: DEPLOYMENTS, unit: 'count' },
        { name: 'status webhook answered p50', value: round(percentile(answered, 0.5)), unit: 'ms' },
        { name: 'status -> Prometheus p50', value: round(percentile(visible, 0.5)), unit: 'ms' },
        {
          name: 'status -> Prometheus p95',
          value: round(percentile(visible, 0.95)),
          unit: 'ms',
          target: `<= ${TARGET_P95_MS}`,
          met: visible.length > 0 && percentile(visible, 0.95) <= TARGET_P95_MS,
        },
        { name: 'status -> Prometheus max', value: round(percentile(visible, 1)), unit: 'ms' },
        {
          name: `not in Prometheus after ${GIVE_UP_MS / 1000} s`,
          value: missing,
          unit: 'count',
          target: '0',
          met: missing === 0,
        },
      ];
    } finally {
      if (child !== undefined && child.exitCode === null) {
        const exited = new Promise((resolve) => child?.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dataDir, { recursive: true, force: true });
      await prometheus.stop();
    }
  },
};

/** `toilless serve --port 0` with the webhook secret and Prometheus; resolves with its URL once it serves. */
async function startServe(
  dataDir: string,
  prometheusUrl: string,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['bin/toilless.js', 'serve', '--port', '0', '--data-dir', dataDir], {
    env: {
      ...process.env,
      LOG_LEVEL: 'info',
      GITHUB_WEBHOOK_SECRET: SECRET,
      PROMETHEUS_URL: prometheusUrl,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    // Read every line, also after the first: an unread pipe would block the server's logging.
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'toilless is serving' && entry.url) resolve(entry.url);
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code) => reject(new Error(`toilless serve exited with ${code} before serving`)));
  });
  return { child, url };
}

async function accepted(answer: ReturnType<typeof deliver>): Promise<void> {
  const { status, body } = await answer;
  if (status !== 200)
    throw new Error(`the local server answered a webhook with ${status}: ${JSON.stringify(body)}`);
}

/** Polls until Prometheus answers `count` successful deployments; false after GIVE_UP_MS from `since`. */
async function counted(prometheus: RunningPrometheus, count: number, since: number): Promise<boolean> {
  for (;;) {
    const data = await prometheus.query(QUERY);
    if (data.resultType === 'vector' && Number(data.result[0]?.value[1]) === count) return true;
    if (performance.now() - since > GIVE_UP_MS) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Nearest rank, as the DORA quantiles: the value at rank ceil(q * n) of the sorted values. */
function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1] ?? Number.NaN;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
