import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stackConfigDir } from '../../../functions/shared/stack-config.js';
import { LokiSimpleScalable, type LokiSimpleScalableProps } from '../../../lib/lgtm/loki-simple-scalable.js';
import { TempoScalable } from '../../../lib/lgtm/tempo-scalable.js';
import { bucketServiceProps, containerNamed, containersOf, useLgtmTestStacks } from './lgtm-fixture.js';
import { freePort, type RunningBinary, startBinary, waitUntilReady } from './real-binary.js';

const stacks = useLgtmTestStacks();
let gateway: RunningBinary | undefined;
const upstreams: Server[] = [];

afterEach(async () => {
  await gateway?.stop();
  gateway = undefined;
  for (const server of upstreams.splice(0)) server.close();
});

/** A stand-in for one Loki path: answers every request with its name and the path it got. */
async function upstream(name: string): Promise<number> {
  const port = await freePort();
  const server = createServer((request, response) => response.end(`${name} ${request.url}`));
  upstreams.push(server);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return port;
}

/** Loki in simple scalable mode with 30 days of retention and `props` on top. */
function lokiStack(props: Partial<LokiSimpleScalableProps> = {}) {
  return stacks.build(
    (stack, base) =>
      new LokiSimpleScalable(stack, 'Loki', { ...bucketServiceProps(base, 'loki', 30), ...props }),
  );
}

describe('Loki in simple scalable mode', () => {
  it('refuses fewer than three write tasks, which replication factor 3 needs', () => {
    // Act
    const act = () => lokiStack({ sizes: { write: { desiredCount: 2, cpu: 1024, memoryLimitMiB: 4096 } } });

    // Assess
    expect(act).toThrow(/the write path needs at least 3 tasks: .* \(got 2\)/);
  });

  it('refuses a read scaling ceiling under the read tasks it starts with', () => {
    // Act
    const act = () => lokiStack({ maxReadTasks: 1 });

    // Assess
    expect(act).toThrow(
      /maxReadTasks \(1\) must be a whole number of at least the read path's desiredCount \(2\)/,
    );
  });
});

describe('The loki gateway', () => {
  it("runs the image versions.yaml names as loki-gateway, so that its version is pinned with the stack's", () => {
    // Prepare: a stack-config whose versions.yaml names another gateway tag.
    const configDir = join(stacks.scratch('toilless-loki-gateway-versions-'), 'stack-config');
    cpSync(stackConfigDir(), configDir, { recursive: true });
    const versionsPath = join(configDir, 'versions.yaml');
    const shipped = readFileSync(versionsPath, 'utf8');
    const changed = shipped.replace(
      /(loki-gateway:\n\s+image: nginxinc\/nginx-unprivileged\n\s+tag: )\S+/,
      '$11.27.4-alpine',
    );
    expect(changed).not.toBe(shipped);
    writeFileSync(versionsPath, changed);

    // Act
    const { fixture } = stacks.build(
      (stack, base) => new LokiSimpleScalable(stack, 'Loki', bucketServiceProps(base, 'loki', 30)),
      configDir,
    );

    // Assess
    expect(containerNamed(containersOf(fixture.stack, 'LokiGateway'), 'Main').Image).toBe(
      'nginxinc/nginx-unprivileged:1.27.4-alpine',
    );
  });

  it('runs for real with the arguments and file its task definition gives it, and sends pushes to write and queries to read', async () => {
    // Prepare: the synthesized command; the Service Connect names and the port mapped to loopback.
    const { fixture } = lokiStack();
    const command: string[] = containerNamed(containersOf(fixture.stack, 'LokiGateway'), 'Main').Command;
    const [binary, ...args] = command;
    const scratch = stacks.scratch('toilless-loki-gateway-');
    const [writePort, readPort, listenPort] = [
      await upstream('write'),
      await upstream('read'),
      await freePort(),
    ];
    const file = readFileSync(join(stackConfigDir(), 'loki', 'gateway-nginx.conf'), 'utf8')
      .replace('server loki-write:3100;', `server 127.0.0.1:${writePort};`)
      .replace('server loki-read:3100;', `server 127.0.0.1:${readPort};`)
      .replace('listen 3100;', `listen 127.0.0.1:${listenPort};`);
    writeFileSync(join(scratch, 'gateway-nginx.conf'), file);
    const mapped = args.map((arg) => arg.replace(/^\/etc\/loki(?=\/)/, scratch));

    // Act
    gateway = startBinary(String(binary), ['-e', 'stderr', '-p', scratch, ...mapped]);
    const url = `http://127.0.0.1:${listenPort}`;
    const ready = await waitUntilReady(`${url}/gateway/ready`, gateway);
    const routed = async (path: string) => (await fetch(`${url}${path}`, { method: 'POST' })).text();

    // Assess
    expect(binary).toBe('nginx');
    expect(ready, gateway.output()).toBe(true);
    expect(await routed('/loki/api/v1/push')).toBe('write /loki/api/v1/push');
    expect(await routed('/otlp/v1/logs')).toBe('write /otlp/v1/logs');
    expect(await routed('/loki/api/v1/query_range?query=%7Bjob%3D%22x%22%7D')).toBe(
      'read /loki/api/v1/query_range?query=%7Bjob%3D%22x%22%7D',
    );
    expect(await routed('/ready')).toBe('read /ready');
  });
});

describe('Tempo scaled out', () => {
  it('refuses a single task, which could not hold the second copy of each trace', () => {
    // Act
    const act = () =>
      stacks.build(
        (stack, base) =>
          new TempoScalable(stack, 'Tempo', { ...bucketServiceProps(base, 'tempo', 14), desiredCount: 1 }),
      );

    // Assess
    expect(act).toThrow(/desiredCount must be at least 2: .* \(got 1\)/);
  });
});
