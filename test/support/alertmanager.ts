import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { requireBinary } from './binaries.js';
import { startOnFreePort } from './ports.js';
import { createTempDir, startServerProcess } from './process.js';

/** How to start an Alertmanager for a test. */
export interface AlertmanagerOptions {
  /** alertmanager.yml text; every `{{DIR}}` is replaced by the directory holding it and `files`. */
  readonly config: string;
  /** Files by relative path (credentials, templates), written into that directory first. @default none */
  readonly files?: Readonly<Record<string, string>>;
  /** More command-line flags, appended after the ones the harness sets. @default none */
  readonly extraArgs?: readonly string[];
}

/** An alert as a client such as Prometheus posts it (POST /api/v2/alerts). */
export interface PostableAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  /** @default the time Alertmanager receives it */
  readonly startsAt?: Date | string;
  /** @default unresolved (Alertmanager resolves it after resolve_timeout without updates) */
  readonly endsAt?: Date | string;
  readonly generatorURL?: string;
}

/** An alert as Alertmanager lists it (GET /api/v2/alerts). */
export interface GettableAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly updatedAt: string;
  readonly fingerprint: string;
  readonly generatorURL?: string;
  readonly receivers: readonly { readonly name: string }[];
  readonly status: {
    readonly state: 'unprocessed' | 'active' | 'suppressed';
    readonly silencedBy: readonly string[];
    readonly inhibitedBy: readonly string[];
  };
}

/** An Alertmanager started for a test; stop() it when done. */
export interface RunningAlertmanager {
  /** Base URL, e.g. http://127.0.0.1:41234 (no trailing slash). */
  readonly url: string;
  readonly port: number;
  /** Process id of the server. */
  readonly pid: number;
  /** Directory holding alertmanager.yml and `files` (what `{{DIR}}` became). */
  readonly dir: string;
  /** POST /api/v2/alerts; throws with Alertmanager's reason if it refuses them. */
  postAlerts(alerts: readonly PostableAlert[]): Promise<void>;
  /** GET /api/v2/alerts: the alerts Alertmanager holds. */
  alerts(): Promise<GettableAlert[]>;
  /** The server's last log lines, for assertion messages. */
  output(): string;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/** Placeholder in the config text for the directory holding it. */
export const DIR_PLACEHOLDER = '{{DIR}}';

/**
 * Starts the real Alertmanager (Debian package `prometheus-alertmanager`) on a free 127.0.0.1
 * port, with clustering off so it needs no gossip port and is ready at once.
 */
export function startAlertmanager(options: AlertmanagerOptions): Promise<RunningAlertmanager> {
  const command = requireBinary('prometheus-alertmanager', 'prometheus-alertmanager');
  return startOnFreePort(async (port) => {
    const dir = await createTempDir('alertmanager');
    const configFile = join(dir, 'alertmanager.yml');
    try {
      for (const [name, text] of Object.entries(options.files ?? {})) {
        const path = insideDir(dir, name);
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, text);
      }
      await writeFile(configFile, options.config.replaceAll(DIR_PLACEHOLDER, dir));
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }

    const url = `http://127.0.0.1:${port}`;
    const server = await startServerProcess({
      name: 'alertmanager',
      command,
      args: [
        `--config.file=${configFile}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
        ...(options.extraArgs ?? []),
      ],
      readyUrl: `${url}/-/ready`,
      tempDir: dir,
    });

    return {
      url,
      port,
      pid: server.pid,
      dir,
      postAlerts: async (alerts) => {
        const response = await fetch(`${url}/api/v2/alerts`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(alerts.map(serializeAlert)),
        });
        const body = await response.text();
        if (!response.ok) {
          throw new Error(`Alertmanager refused the alerts (HTTP ${response.status}): ${body.trim()}`);
        }
      },
      alerts: async () => {
        const response = await fetch(`${url}/api/v2/alerts`);
        if (!response.ok) {
          throw new Error(
            `Alertmanager GET /api/v2/alerts failed (HTTP ${response.status}): ${await response.text()}`,
          );
        }
        return (await response.json()) as GettableAlert[];
      },
      output: server.output,
      stop: server.stop,
    };
  });
}

/**
 * Starts an Alertmanager that delivers to the toilless webhook at `webhookUrl` as shipped, shortened:
 * one toilless receiver, resolved notifications on, a 1 s group interval, and the bearer token read
 * from a credentials file.
 */
export function startAlertmanagerDeliveringTo(
  webhookUrl: string,
  token: string,
): Promise<RunningAlertmanager> {
  return startAlertmanager({
    config: `
route:
  receiver: toilless
  group_by: [service, severity]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: toilless
    webhook_configs:
      - url: ${webhookUrl}
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials_file: ${DIR_PLACEHOLDER}/toilless-webhook-token
`,
    files: { 'toilless-webhook-token': token },
  });
}

function serializeAlert(alert: PostableAlert): Record<string, unknown> {
  const time = (value: Date | string | undefined): string | undefined =>
    value instanceof Date ? value.toISOString() : value;
  return {
    labels: alert.labels,
    annotations: alert.annotations,
    startsAt: time(alert.startsAt),
    endsAt: time(alert.endsAt),
    generatorURL: alert.generatorURL,
  };
}

function insideDir(dir: string, name: string): string {
  const path = resolve(dir, name);
  const rel = relative(dir, path);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || rel === 'alertmanager.yml') {
    throw new Error(`file name "${name}" must be a relative path inside the Alertmanager directory`);
  }
  return path;
}
