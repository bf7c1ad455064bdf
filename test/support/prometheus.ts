import { mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { requireBinary } from './binaries.js';
import { startOnFreePort } from './ports.js';
import { createTempDir, startServerProcess } from './process.js';
import { waitFor } from './wait.js';

/** How to start a Prometheus for a test. */
export interface PrometheusOptions {
  /**
   * prometheus.yml text. Relative paths in it resolve against its directory, where `ruleFiles` are.
   * @default no scrape jobs, rules evaluated every second, `rule_files` listing `ruleFiles`
   */
  readonly config?: string;
  /** Rule files by file name (no directories), written beside prometheus.yml. @default none */
  readonly ruleFiles?: Readonly<Record<string, string>>;
  /** More command-line flags, appended after the ones the harness sets. @default none */
  readonly extraArgs?: readonly string[];
}

/** New configuration for {@link RunningPrometheus.reload}: what is given is written, the rest kept. */
export interface PrometheusChanges {
  /** New prometheus.yml text. @default the current one (regenerated if it was the default) */
  readonly config?: string;
  /** Rule files to write or replace, by file name. @default none */
  readonly ruleFiles?: Readonly<Record<string, string>>;
}

/** One series of an instant query: labels and [unix seconds, value]. */
export interface InstantSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: readonly [number, string];
}

/** One series of a range query: labels and [unix seconds, value] pairs. */
export interface RangeSeries {
  readonly metric: Readonly<Record<string, string>>;
  readonly values: readonly (readonly [number, string])[];
}

/** The data of /api/v1/query, by result type. */
export type InstantQueryData =
  | { readonly resultType: 'vector'; readonly result: readonly InstantSample[] }
  | { readonly resultType: 'matrix'; readonly result: readonly RangeSeries[] }
  | { readonly resultType: 'scalar' | 'string'; readonly result: readonly [number, string] };

/** Bounds and resolution of a range query. */
export interface QueryRange {
  readonly start: Date;
  readonly end: Date;
  /** Resolution in seconds. */
  readonly stepSeconds: number;
}

/** A Prometheus server started for a test; stop() it when done. */
export interface RunningPrometheus {
  /** Base URL, e.g. http://127.0.0.1:41234 (no trailing slash). */
  readonly url: string;
  readonly port: number;
  /** Process id of the server. */
  readonly pid: number;
  /** Remote-write endpoint (the receiver is enabled). */
  readonly remoteWriteUrl: string;
  /** TSDB directory (--storage.tsdb.path). */
  readonly dataDir: string;
  /** Directory holding prometheus.yml and the rule files. */
  readonly configDir: string;
  /** Instant query (POST /api/v1/query), at `time` or now. */
  query(expr: string, time?: Date): Promise<InstantQueryData>;
  /** Range query (POST /api/v1/query_range). */
  queryRange(expr: string, range: QueryRange): Promise<readonly RangeSeries[]>;
  /** GET an API path such as /api/v1/rules and return its `data`; throws on an error status. */
  api<T>(path: string, params?: Readonly<Record<string, string>>): Promise<T>;
  /** Writes the changes, then POST /-/reload; throws with Prometheus's reason if it refuses them. */
  reload(changes?: PrometheusChanges): Promise<void>;
  /** The server's last log lines, for assertion messages. */
  output(): string;
  /** Stops the server and removes its directories. */
  stop(): Promise<void>;
}

/** Starts the real Prometheus (Debian package `prometheus`) on a free 127.0.0.1 port. */
export function startPrometheus(options: PrometheusOptions = {}): Promise<RunningPrometheus> {
  const command = requireBinary('prometheus', 'prometheus');
  return startOnFreePort(async (port) => {
    const dir = await createTempDir('prometheus');
    const configDir = join(dir, 'config');
    const dataDir = join(dir, 'data');
    const configFile = join(configDir, 'prometheus.yml');
    const ruleFileNames = new Set<string>();
    let customConfig = options.config;

    const write = async (changes: PrometheusChanges): Promise<void> => {
      for (const [name, text] of Object.entries(changes.ruleFiles ?? {})) {
        await writeFile(join(configDir, plainFileName(name)), text);
        ruleFileNames.add(name);
      }
      customConfig = changes.config ?? customConfig;
      await writeFile(configFile, customConfig ?? defaultConfig([...ruleFileNames]));
    };

    try {
      await mkdir(configDir);
      await write(options);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }

    const url = `http://127.0.0.1:${port}`;
    const server = await startServerProcess({
      name: 'prometheus',
      command,
      args: [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${dataDir}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--web.enable-remote-write-receiver',
        '--web.enable-lifecycle',
        ...(options.extraArgs ?? []),
      ],
      readyUrl: `${url}/-/ready`,
      tempDir: dir,
    });

    const api = async <T>(path: string, params?: Readonly<Record<string, string>>): Promise<T> => {
      const query = params === undefined ? '' : `?${new URLSearchParams(params)}`;
      return readData<T>(path, await fetch(`${url}${path}${query}`));
    };
    const postForm = async <T>(path: string, form: Record<string, string>): Promise<T> =>
      readData<T>(path, await fetch(`${url}${path}`, { method: 'POST', body: new URLSearchParams(form) }));

    return {
      url,
      port,
      pid: server.pid,
      remoteWriteUrl: `${url}/api/v1/write`,
      dataDir,
      configDir,
      query: (expr, time) =>
        postForm<InstantQueryData>('/api/v1/query', {
          query: expr,
          ...(time === undefined ? {} : { time: unixSeconds(time) }),
        }),
      queryRange: async (expr, range) => {
        const data = await postForm<{ result: RangeSeries[] }>('/api/v1/query_range', {
          query: expr,
          start: unixSeconds(range.start),
          end: unixSeconds(range.end),
          step: String(range.stepSeconds),
        });
        return data.result;
      },
      api,
      reload: async (changes = {}) => {
        await write(changes);
        const logBefore = server.output();
        const response = await fetch(`${url}/-/reload`, { method: 'POST' });
        const body = await response.text();
        if (response.ok) return;
        // The HTTP answer only says the reload failed; the reason (file, line) is in the log.
        const reason = await reloadErrorLog(logBefore, server.output);
        throw new Error(`Prometheus refused the reload (HTTP ${response.status}): ${body.trim()}\n${reason}`);
      },
      output: server.output,
      stop: server.stop,
    };
  });
}

/** Global settings only: no scrape jobs, and rules evaluated every second so tests see results fast. */
function defaultConfig(ruleFiles: readonly string[]): string {
  const lines = ['global:', '  scrape_interval: 15s', '  evaluation_interval: 1s'];
  if (ruleFiles.length > 0)
    lines.push('rule_files:', ...ruleFiles.map((name) => `  - ${JSON.stringify(name)}`));
  return `${lines.join('\n')}\n`;
}

/** The error lines Prometheus logged after `logBefore`, waiting briefly for them to arrive. */
async function reloadErrorLog(logBefore: string, output: () => string): Promise<string> {
  const errorLines = (): string | undefined => {
    const log = output();
    const fresh = log.startsWith(logBefore) ? log.slice(logBefore.length) : log;
    const lines = fresh.split('\n').filter((line) => line.includes('level=error'));
    return lines.length > 0 ? lines.join('\n') : undefined;
  };
  return waitFor(async () => errorLines(), {
    timeoutMs: 1_000,
    intervalMs: 20,
    description: 'Prometheus to log why the reload failed',
  }).catch(() => '(Prometheus logged no error line)');
}

function plainFileName(name: string): string {
  if (name !== basename(name) || name === '.' || name === '..' || name === 'prometheus.yml') {
    throw new Error(`rule file name "${name}" must be a plain file name other than prometheus.yml`);
  }
  return name;
}

function unixSeconds(time: Date): string {
  return String(time.getTime() / 1000);
}

interface ApiResponse<T> {
  readonly status: 'success' | 'error';
  readonly data?: T;
  readonly errorType?: string;
  readonly error?: string;
}

async function readData<T>(path: string, response: Response): Promise<T> {
  const text = await response.text();
  let body: ApiResponse<T>;
  try {
    body = JSON.parse(text) as ApiResponse<T>;
  } catch {
    throw new Error(
      `Prometheus ${path} answered HTTP ${response.status} with non-JSON: ${text.slice(0, 500)}`,
    );
  }
  if (body.status !== 'success' || !response.ok) {
    throw new Error(
      `Prometheus ${path} failed (HTTP ${response.status}): ${body.errorType ?? 'error'}: ${body.error ?? text}`,
    );
  }
  return body.data as T;
}
