/**
 * The local server (`toilless serve`) as integration tests run it: on a free port over a fresh data
 * directory, with the credentials it generates there, no process metrics, and the processors in a process
 * of their own, as `toilless serve` runs them.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type LocalServer, startLocalServer } from '../../functions/local/local-server.js';
import { resolveClaimCheck } from '../../functions/shared/events/claim-check.js';
import type { EventType, ToillessEvent } from '../../functions/shared/events/types.js';
import { silentLogger } from '../../functions/shared/log.js';
import { createTempDir } from './process.js';

/** A local server started for a test; stop() it when done. */
export interface LocalServerUnderTest {
  readonly server: LocalServer;
  /** Its data directory; `secrets/` in it holds the generated credentials. */
  readonly dataDir: string;
  /** Closes the server (again, if a test closed it already) and removes the data directory. */
  stop(): Promise<void>;
}

/** The credentials a local server generates in `<data-dir>/secrets/`, by file name. */
export type GeneratedSecretFile = 'alertmanager-webhook-token' | 'github-webhook-secret';

/** Starts the local server; `env` is all the environment it sees. @default {} (only generated secrets) */
export async function startTestLocalServer(env: NodeJS.ProcessEnv = {}): Promise<LocalServerUnderTest> {
  const dataDir = await createTempDir('local-server');
  let server: LocalServer;
  try {
    server = await startLocalServer({
      port: 0,
      dataDir,
      logger: silentLogger,
      env,
      processMetrics: false,
      processors: 'process',
    });
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    server,
    dataDir,
    stop: async () => {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Subscribes to `types` on the server's bus; the array fills as the events are delivered. */
export function recordEvents<T extends EventType>(
  server: LocalServer,
  types: readonly T[],
): ToillessEvent<T>[] {
  const received: ToillessEvent<T>[] = [];
  server.runtime.bus.subscribe({
    name: 'test-recorder',
    types,
    // As every subscriber of the local runtime does, it reads a claim-checked event back from the store.
    handler: async (event) => {
      received.push((await resolveClaimCheck(server.runtime.store, event)) as ToillessEvent<T>);
    },
  });
  return received;
}

/** A credential the server generated, read from the file an operator would read it from. */
export async function generatedSecret(dataDir: string, file: GeneratedSecretFile): Promise<string> {
  return (await readFile(join(dataDir, 'secrets', file), 'utf8')).trim();
}
