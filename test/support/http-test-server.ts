/**
 * What every local test server does the same way: listen on 127.0.0.1 on a port the OS picks, read a
 * request body (within the limit the real service enforces), and close without waiting for clients.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Listens on 127.0.0.1 on a free port; resolves with the origin, e.g. `http://127.0.0.1:41234`. */
export async function listenOnLoopback(server: Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return originOf(server);
}

/** The origin a listening server answers on, without a trailing slash. */
export function originOf(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Stops listening and drops open connections, so a kept-alive client cannot hold the server open. */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}

/** A request body over the limit of the service a test server stands in for. */
export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`the request body is over ${limit} bytes`);
    this.name = 'BodyTooLarge';
  }
}

/**
 * The whole request body. Past `limit` bytes the rest is drained, not kept, and the promise rejects
 * with BodyTooLarge once the request ends, so that the server can still answer it.
 */
export function readBody(request: IncomingMessage, limit = Number.POSITIVE_INFINITY): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    request.on('end', () =>
      size > limit ? reject(new BodyTooLarge(limit)) : resolve(Buffer.concat(chunks)),
    );
    request.on('error', reject);
  });
}
