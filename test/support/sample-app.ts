/**
 * The sample app (examples/sample-app) as tests run it: a child process started the way
 * `npm run sample-app` starts it, on a free port, with only the environment the test gives.
 */
import { join } from 'node:path';
import { startOnFreePort } from './ports.js';
import { startServerProcess } from './process.js';

const REPO = join(import.meta.dirname, '..', '..');

/** A running sample app; stop() sends SIGTERM and waits for it to exit. */
export interface RunningSampleApp {
  /** Base URL, e.g. http://127.0.0.1:41234. */
  readonly url: string;
  readonly port: number;
  /** Its JSON log lines so far (stdout), parsed; lines that are not JSON are left out. */
  logLines(): Record<string, unknown>[];
  output(): string;
  stop(): Promise<void>;
}

/** Starts the app; `env` is added to PATH and HOME, nothing else of this process's environment. */
export function startSampleApp(env: Readonly<Record<string, string>> = {}): Promise<RunningSampleApp> {
  return startOnFreePort(async (port) => {
    const server = await startServerProcess({
      name: 'sample-app',
      command: process.execPath,
      args: ['--import', 'tsx', join(REPO, 'examples', 'sample-app', 'main.ts')],
      cwd: REPO,
      env: {
        PATH: process.env['PATH'],
        HOME: process.env['HOME'],
        ...env,
        PORT: String(port),
        HOST: '127.0.0.1',
      },
      readyUrl: `http://127.0.0.1:${port}/healthz`,
      // tsx compiles the app on start; on a busy machine that takes seconds.
      readyTimeoutMs: 60_000,
      stopGraceMs: 15_000,
    });
    return {
      url: `http://127.0.0.1:${port}`,
      port,
      logLines: () =>
        server
          .output()
          .split('\n')
          .flatMap((line) => {
            if (!line.startsWith('{')) return [];
            try {
              return [JSON.parse(line) as Record<string, unknown>];
            } catch {
              return [];
            }
          }),
      output: server.output,
      stop: server.stop,
    };
  });
}

/** GET `path` and return the status and parsed JSON body. */
export async function getJson(app: RunningSampleApp, path: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${app.url}${path}`, { headers, signal: AbortSignal.timeout(60_000) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
