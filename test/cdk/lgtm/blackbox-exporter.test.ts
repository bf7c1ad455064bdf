import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stackConfigDir } from '../../../functions/shared/stack-config.js';
import { BlackboxExporter } from '../../../lib/lgtm/blackbox-exporter.js';
import { ConstructTestStack } from '../app-fixture.js';
import { containerNamed, containersOf, lgtmTestBase, snapshotOf } from './lgtm-fixture.js';
import { freePort, mappedArguments, startBinary, waitUntilReady } from './real-binary.js';

let fixture: ConstructTestStack | undefined;
let scratch: string | undefined;

afterEach(() => {
  fixture?.dispose();
  fixture = undefined;
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
});

function blackboxStack(memoryLimitMiB?: number) {
  fixture = new ConstructTestStack();
  const base = lgtmTestBase(fixture.stack);
  const blackbox = new BlackboxExporter(fixture.stack, 'Blackbox', {
    ...base,
    image: base.versions['blackbox-exporter'],
    ...(memoryLimitMiB ? { memoryLimitMiB } : {}),
  });
  return { blackbox, fixture };
}

describe('Blackbox exporter', () => {
  it('matches the snapshot', () => {
    // Prepare and Act
    const { fixture } = blackboxStack();

    // Assess
    expect(snapshotOf(fixture.stack)).toMatchSnapshot();
  });

  it('refuses a memory size Fargate does not pair with its CPU', () => {
    // Act and Assess
    expect(() => blackboxStack(4096)).toThrow(
      /4096 MiB does not fit 256 CPU units on Fargate: use 512 to 2048 MiB/,
    );
  });

  it('starts for real with the arguments and file the task definition gives it, and becomes healthy', async () => {
    // Prepare
    const { fixture } = blackboxStack();
    const command: string[] = containerNamed(containersOf(fixture.stack, 'Blackbox'), 'Main').Command;
    scratch = mkdtempSync(join(tmpdir(), 'toilless-blackbox-'));
    const config = join(scratch, 'etc-blackbox');
    cpSync(join(stackConfigDir(), 'blackbox'), config, { recursive: true });
    const port = await freePort();
    const args = mappedArguments(
      command,
      { '/etc/blackbox_exporter': config },
      { flag: '--web.listen-address', address: `127.0.0.1:${port}` },
    );
    execFileSync('prometheus-blackbox-exporter', [
      `--config.file=${join(config, 'blackbox.yml')}`,
      '--config.check',
    ]);

    // Act
    const binary = startBinary('prometheus-blackbox-exporter', args);
    try {
      // Assess
      expect(await waitUntilReady(`http://127.0.0.1:${port}/-/healthy`, binary), binary.output()).toBe(true);
    } finally {
      await binary.stop();
    }
  }, 30_000);
});
