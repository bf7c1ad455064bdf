import { createServer } from 'node:net';

/**
 * A TCP port on 127.0.0.1 that the OS reported free a moment ago. Another process can take it
 * before it is used: servers started on it should retry on "address already in use".
 */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`listening on 127.0.0.1:0 gave no TCP port (address: ${String(address)})`));
        return;
      }
      server.close((error) => (error ? reject(error) : resolvePort(address.port)));
    });
  });
}

/**
 * Runs `start` on a free port, and again on a new one if the port was taken in between
 * (the failure mentions "address already in use").
 */
export async function startOnFreePort<T>(start: (port: number) => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await start(port);
    } catch (error) {
      const clash = error instanceof Error && /address already in use/i.test(error.message);
      if (!clash || attempt >= attempts) throw error;
    }
  }
}
