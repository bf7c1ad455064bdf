/**
 * The whole platform on one machine for a game day (`npm run gameday:local`, the CI game day): the
 * real Prometheus, Alertmanager, node and blackbox exporters from their Debian packages, toilless serve
 * and the sample app, in a temporary folder on free 127.0.0.1 ports, with the shipped rules and routing
 * shortened by one factor (time-scale.ts). The result is the GamedayEnvironment the game day runs against.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError } from '../../functions/shared/errors.js';
import type { GamedayEnvironment } from './environment.js';
import {
  freePort,
  LocalPartError,
  type LocalProcess,
  requireBinary,
  startLocalProcess,
  startOnFreePort,
} from './local-processes.js';
import { type SlackSink, startSlackSink } from './slack-sink.js';
import {
  describeTimeScale,
  type LocalAddresses,
  localIntervals,
  shippedIntervals,
  writeLocalAlertmanagerFiles,
  writeLocalPrometheusFiles,
} from './time-scale.js';

const REPOSITORY = join(import.meta.dirname, '..', '..');

/**
 * The factor the local run shortens the shipped timings by: a 5-minute rule window becomes 10 s (ten
 * 1 s scrapes), the latency burn rate's 1 h window 2 min, HighChangeFailureRate's `for: 10m` 20 s.
 * Shorter windows hold too few scrapes to survive a busy 2-core machine; longer ones make the run slow.
 */
export const DEFAULT_TIME_SCALE_FACTOR = 1 / 30;

export interface LocalGamedayStackOptions {
  /** Multiplier of the shipped rule windows and routing timers. @default DEFAULT_TIME_SCALE_FACTOR */
  readonly factor?: number;
  /** The stack-config/ whose rules and routing are shortened. @default the repository's */
  readonly stackConfigDir?: string;
  /** Where the stack's temporary folder is created. @default the OS temp dir */
  readonly parentDir?: string;
  /** Keep the folder (configs, logs, data) after stop(). @default false */
  readonly keep?: boolean;
  /** Progress lines ("prometheus ready at ..."). @default none */
  readonly log?: (line: string) => void;
  /** How long toilless serve and the sample app may take to answer (tsx compiles them on start). @default 120000 */
  readonly nodeReadyTimeoutMs?: number;
}

/** One part of the running stack. */
export interface LocalPart {
  readonly name: string;
  readonly url: string;
  /** Its output; undefined for the sink, which runs in this process. */
  readonly logFile?: string;
}

export interface LocalGamedayStack {
  readonly environment: GamedayEnvironment;
  /** The temporary folder: configs, data, logs/. */
  readonly dir: string;
  readonly parts: readonly LocalPart[];
  /** Alertmanager's Slack and webhook receivers post here (slack-sink.ts). */
  readonly sinkDir: string;
  /**
   * Alerts other than the Watchdog still pending or firing when the stack handed over, e.g.
   * "HighCPUWarning (firing)" on a machine busy without the game day; empty on a quiet one.
   */
  readonly alertsActiveAtStart: readonly string[];
  /** Stops every part (in reverse order of start) and removes the folder unless `keep`. Safe to call twice. */
  stop(): Promise<void>;
}

/** The Debian binaries the local stack runs, and their packages. */
export const LOCAL_BINARIES = [
  ['prometheus', 'prometheus'],
  ['prometheus-alertmanager', 'prometheus-alertmanager'],
  ['prometheus-node-exporter', 'prometheus-node-exporter'],
  ['prometheus-blackbox-exporter', 'prometheus-blackbox-exporter'],
] as const;

/** The node exporter's collectors the node rules and dashboard read; the others cost scrape time for nothing. */
const NODE_COLLECTORS = ['cpu', 'meminfo', 'loadavg', 'filesystem', 'diskstats', 'netdev'];

/**
 * Starts every part, each ready before the next that needs it, and waits until Prometheus scrapes all
 * of them. A part that does not start stops the others and fails with its name and its log's last lines.
 */
export async function startLocalGamedayStack(
  options: LocalGamedayStackOptions = {},
): Promise<LocalGamedayStack> {
  const factor = checkFactor(options.factor ?? DEFAULT_TIME_SCALE_FACTOR);
  const stackConfigDir = options.stackConfigDir ?? join(REPOSITORY, 'stack-config');
  const log = options.log ?? (() => {});
  const nodeReadyTimeoutMs = options.nodeReadyTimeoutMs ?? 120_000;
  // Every binary is checked before anything starts: a missing package fails at once, naming it.
  const [prometheusBin, alertmanagerBin, nodeExporterBin, blackboxBin] = LOCAL_BINARIES.map(([binary, pkg]) =>
    requireBinary(binary, pkg),
  ) as [string, string, string, string];
  const scaling = localIntervals(
    factor,
    shippedIntervals(await readFile(join(stackConfigDir, 'prometheus', 'prometheus.yml'), 'utf8')),
  );

  const dir = await mkdtemp(join(options.parentDir ?? tmpdir(), 'toilless-gameday-'));
  const logsDir = join(dir, 'logs');
  const dataDir = join(dir, 'toilless');
  const sinkDir = join(dir, 'slack-sink');
  await mkdir(logsDir);
  const processes: LocalProcess[] = [];
  const parts: LocalPart[] = [];
  let sink: SlackSink | undefined;

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      // Prometheus first (no new alerts), then Alertmanager (started last), then toilless and the rest
      // with nothing more arriving.
      const [prometheus, ...rest] = processes;
      for (const part of [...(prometheus ? [prometheus] : []), ...rest.reverse()]) {
        await part.stop().catch(() => {});
      }
      await sink?.close();
      if (!options.keep) await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    })();
    return stopping;
  };
  const started = (part: LocalProcess, url: string) => {
    processes.push(part);
    parts.push({ name: part.name, url, logFile: part.logFile });
    log(`${part.name} ready at ${url}`);
    return part;
  };

  try {
    // The webhook credentials toilless checks, generated for this run and handed to both sides.
    const alertmanagerToken = randomBytes(32).toString('hex');
    const githubWebhookSecret = randomBytes(32).toString('hex');
    const secretsDir = join(dir, 'secrets');
    await mkdir(secretsDir, { mode: 0o700 });
    const tokenFile = join(secretsDir, 'toilless-webhook-token');
    await writeFile(tokenFile, alertmanagerToken, { mode: 0o600 });

    // Prometheus first, with no jobs yet: toilless needs its URL, and it learns the others' on reload.
    const prometheusDir = join(dir, 'prometheus');
    await mkdir(prometheusDir);
    const prometheusConfig = join(prometheusDir, 'prometheus.yml');
    await writeFile(
      prometheusConfig,
      `global:\n  scrape_interval: ${scaling.scrapeIntervalMs / 1000}s\n  evaluation_interval: ${scaling.evaluationIntervalMs / 1000}s\n`,
    );
    const prometheusAddress = await startOnFreePort(async (port) => {
      const address = `127.0.0.1:${port}`;
      started(
        await startLocalProcess({
          name: 'prometheus',
          command: prometheusBin,
          args: [
            `--config.file=${prometheusConfig}`,
            `--storage.tsdb.path=${join(dir, 'prometheus-data')}`,
            `--web.listen-address=${address}`,
            // Alerts' generatorURL then points at this Prometheus, whose expressions toilless evaluates.
            `--web.external-url=http://${address}`,
            '--web.enable-remote-write-receiver',
            '--web.enable-lifecycle',
            '--enable-feature=exemplar-storage',
          ],
          env: minimalEnv(),
          cwd: dir,
          readyUrl: `http://${address}/-/ready`,
          logFile: join(logsDir, 'prometheus.log'),
        }),
        `http://${address}`,
      );
      return address;
    });
    const prometheusUrl = `http://${prometheusAddress}`;

    const startExporter = (name: string, command: string, args: (address: string) => string[]) =>
      startOnFreePort(async (port) => {
        const address = `127.0.0.1:${port}`;
        started(
          await startLocalProcess({
            name,
            command,
            args: args(address),
            env: minimalEnv(),
            cwd: dir,
            readyUrl: `http://${address}/metrics`,
            logFile: join(logsDir, `${name}.log`),
          }),
          `http://${address}`,
        );
        return address;
      });

    const startNodeService = (
      name: string,
      args: readonly string[],
      env: (port: number) => NodeJS.ProcessEnv,
    ) =>
      startOnFreePort(async (port) => {
        const address = `127.0.0.1:${port}`;
        started(
          await startLocalProcess({
            name,
            command: process.execPath,
            args: args.map((arg) => arg.replace('{PORT}', String(port))),
            env: { ...minimalEnv(), ...env(port) },
            cwd: REPOSITORY,
            readyUrl: `http://${address}/healthz`,
            readyTimeoutMs: nodeReadyTimeoutMs,
            // The sample app lets requests finish for up to 10 s; toilless drains its deliveries.
            stopGraceMs: 15_000,
            logFile: join(logsDir, `${name}.log`),
          }),
          `http://${address}`,
        );
        return address;
      });

    // Loki and Tempo are not part of the local run: toilless is pointed at addresses nothing listens on,
    // so that its timelines say so rather than query whatever runs on this machine's default ports.
    const [lokiPort, tempoPort] = [await freePort(), await freePort()];
    // Settled, not all: a part still starting when another fails must be known to stop() too.
    const starts = await Promise.allSettled([
      startSlackSink(sinkDir),
      startExporter('node-exporter', nodeExporterBin, (address) => [
        `--web.listen-address=${address}`,
        '--collector.disable-defaults',
        ...NODE_COLLECTORS.map((collector) => `--collector.${collector}`),
      ]),
      startExporter('blackbox-exporter', blackboxBin, (address) => [
        `--config.file=${join(stackConfigDir, 'blackbox', 'blackbox.yml')}`,
        `--web.listen-address=${address}`,
      ]),
      startNodeService(
        'sample-app',
        ['--import', 'tsx', join(REPOSITORY, 'examples', 'sample-app', 'main.ts')],
        (port) => ({
          PORT: String(port),
          HOST: '127.0.0.1',
        }),
      ),
      // A child process, as operators run it: its event loop is not the one driving load and CPU burn,
      // so its answers and deliveries are timed as they would be in production.
      startNodeService(
        'toilless',
        [
          join(REPOSITORY, 'bin', 'toilless.js'),
          'serve',
          '--host',
          '127.0.0.1',
          '--port',
          '{PORT}',
          '--data-dir',
          dataDir,
        ],
        () => ({
          PROMETHEUS_URL: prometheusUrl,
          LOKI_URL: `http://127.0.0.1:${lokiPort}`,
          TEMPO_URL: `http://127.0.0.1:${tempoPort}`,
          ALERTMANAGER_WEBHOOK_TOKEN: alertmanagerToken,
          GITHUB_WEBHOOK_SECRET: githubWebhookSecret,
          TOILLESS_STACK_CONFIG: stackConfigDir,
        }),
      ),
    ]);
    if (starts[0].status === 'fulfilled') sink = starts[0].value;
    const failed = starts.find((start) => start.status === 'rejected');
    if (failed) throw failed.reason;
    const [nodeExporterAddress, blackboxAddress, sampleAppAddress, toillessAddress] = starts
      .slice(1)
      .map((start) => (start as PromiseFulfilledResult<string>).value) as [string, string, string, string];
    const sinkUrl = (starts[0] as PromiseFulfilledResult<SlackSink>).value.url;
    parts.push({ name: 'slack-sink', url: sinkUrl });
    log(`slack-sink ready at ${sinkUrl}`);

    const alertmanagerConfig = await writeLocalAlertmanagerFiles(
      stackConfigDir,
      join(dir, 'alertmanager'),
      {
        toillessWebhookUrl: `http://${toillessAddress}/webhooks/alertmanager`,
        toillessTokenFile: tokenFile,
        sinkUrl,
      },
      factor,
    );
    const alertmanagerAddress = await startOnFreePort(async (port) => {
      const address = `127.0.0.1:${port}`;
      started(
        await startLocalProcess({
          name: 'alertmanager',
          command: alertmanagerBin,
          args: [
            `--config.file=${alertmanagerConfig}`,
            `--storage.path=${join(dir, 'alertmanager-data')}`,
            `--web.listen-address=${address}`,
            // No cluster: no gossip port, and ready at once.
            '--cluster.listen-address=',
          ],
          env: minimalEnv(),
          cwd: dir,
          readyUrl: `http://${address}/-/ready`,
          logFile: join(logsDir, 'alertmanager.log'),
        }),
        `http://${address}`,
      );
      return address;
    });

    const addresses: LocalAddresses = {
      'localhost:9090': prometheusAddress,
      'alertmanager:9093': alertmanagerAddress,
      'sample-app:8000': sampleAppAddress,
      'node-exporter:9100': nodeExporterAddress,
      'blackbox-exporter:9115': blackboxAddress,
      'toilless:8080': toillessAddress,
    };
    const files = await writeLocalPrometheusFiles(stackConfigDir, prometheusDir, addresses, scaling);
    await reloadPrometheus(prometheusUrl, processes[0] as LocalProcess);
    await waitForTargetsUp(prometheusUrl, processes[0] as LocalProcess);
    log(
      `prometheus scrapes every part; left out (not run locally): ${[...files.jobsLeftOut, ...files.targetsLeftOut].join(', ')}`,
    );
    const noisy = await waitForQuiet(prometheusUrl);
    if (noisy.length > 0) {
      log(
        `alerts already active before the game day: ${noisy.join(', ')}; this machine may be too busy for its ` +
          'results to mean much (HighCPU* fire on a host that is busy without the game day)',
      );
    }

    const timeScale = describeTimeScale(scaling);
    return {
      environment: {
        prometheusUrl,
        alertmanagerUrl: `http://${alertmanagerAddress}`,
        sampleAppUrl: `http://${sampleAppAddress}`,
        toillessUrl: `http://${toillessAddress}`,
        githubWebhookSecret,
        slack: { kind: 'outbox', dir: join(dataDir, 'outbox', 'slack') },
        store: { kind: 'data-dir', dir: dataDir },
        cpuPressure: 'local-host',
        lokiConfigured: false,
        tempoConfigured: false,
        timeScale,
      },
      dir,
      parts,
      sinkDir,
      alertsActiveAtStart: noisy,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The environment of a part: enough to run, and nothing of ours (no Slack token, no AWS credentials). */
function minimalEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** POST /-/reload; a refusal fails with Prometheus's reason from its log. */
async function reloadPrometheus(url: string, prometheus: LocalProcess): Promise<void> {
  const response = await fetch(`${url}/-/reload`, { method: 'POST', signal: AbortSignal.timeout(30_000) });
  const body = await response.text();
  if (!response.ok) {
    throw new LocalPartError(
      'prometheus',
      `refused the local configuration (HTTP ${response.status}: ${body.trim()})`,
      prometheus.logTail(),
      prometheus.logFile,
    );
  }
}

interface TargetsResponse {
  readonly data?: {
    readonly activeTargets?: readonly {
      readonly scrapePool: string;
      readonly health: string;
      readonly lastError: string;
    }[];
  };
}

/** Every scrape target up: a game day started earlier would see InstanceDown and ProbeFailed of its own parts. */
async function waitForTargetsUp(url: string, prometheus: LocalProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let down: string[] = ['(no targets yet)'];
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/api/v1/targets?state=active`, {
        signal: AbortSignal.timeout(5_000),
      });
      const targets = ((await response.json()) as TargetsResponse).data?.activeTargets ?? [];
      down = targets
        .filter((target) => target.health !== 'up')
        .map(
          (target) =>
            `${target.scrapePool} (${target.health}${target.lastError ? `: ${target.lastError}` : ''})`,
        );
      if (targets.length > 0 && down.length === 0) return;
    } catch (error) {
      down = [`(targets not readable: ${error instanceof Error ? error.message : String(error)})`];
    }
    await new Promise((wake) => setTimeout(wake, 500));
  }
  throw new LocalPartError(
    'prometheus',
    `did not see every part up within ${timeoutMs / 1000} s; still down: ${down.join(', ')}`,
    prometheus.logTail(),
    prometheus.logFile,
  );
}

interface AlertsResponse {
  readonly data?: {
    readonly alerts?: readonly { readonly labels: Record<string, string>; readonly state: string }[];
  };
}

/**
 * Waits until no alert but the Watchdog is pending or firing (the start's own CPU use fades from the
 * shortened rate windows), and returns those still active after `timeoutMs`.
 */
async function waitForQuiet(url: string, timeoutMs = 45_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let active: string[] = [];
  // One evaluation at least, so that an alert pending from the start is seen.
  await new Promise((wake) => setTimeout(wake, 2_000));
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/api/v1/alerts`, { signal: AbortSignal.timeout(5_000) });
      active = (((await response.json()) as AlertsResponse).data?.alerts ?? [])
        .filter((alert) => alert.labels['alertname'] !== 'Watchdog')
        .map((alert) => `${alert.labels['alertname']} (${alert.state})`);
      if (active.length === 0) return [];
    } catch {
      // Prometheus is ready: a failed read is a moment's hiccup, tried again.
    }
    await new Promise((wake) => setTimeout(wake, 1_000));
  }
  return [...new Set(active)];
}

/** Refuses a factor that would stretch rather than shorten. */
export function checkFactor(factor: number): number {
  if (!Number.isFinite(factor) || factor <= 0 || factor > 1) {
    throw new ConfigurationError(`the time-scale factor must be above 0 and at most 1, not ${factor}`);
  }
  return factor;
}
