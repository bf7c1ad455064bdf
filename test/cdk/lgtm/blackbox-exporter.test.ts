import { execFileSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stackConfigDir } from '../../../functions/shared/stack-config.js';
import { BlackboxExporter } from '../../../lib/lgtm/blackbox-exporter.js';
import { containerNamed, containersOf, itMatchesTheSnapshot, useLgtmTestStacks } from './lgtm-fixture.js';
import { withRunningContainer } from './real-binary.js';

const stacks = useLgtmTestStacks();

function blackboxStack(memoryLimitMiB?: number) {
  const { built: blackbox, fixture } = stacks.build(
    (stack, base) =>
      new BlackboxExporter(stack, 'Blackbox', {
        ...base,
        image: base.versions['blackbox-exporter'],
        ...(memoryLimitMiB ? { memoryLimitMiB } : {}),
      }),
  );
  return { blackbox, fixture };
}

describe('Blackbox exporter', () => {
  itMatchesTheSnapshot(() => blackboxStack());

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
    const config = join(stacks.scratch('toilless-blackbox-'), 'etc-blackbox');
    cpSync(join(stackConfigDir(), 'blackbox'), config, { recursive: true });
    execFileSync('prometheus-blackbox-exporter', [
      `--config.file=${join(config, 'blackbox.yml')}`,
      '--config.check',
    ]);

    // Act and Assess: it becomes healthy
    await withRunningContainer({
      binary: 'prometheus-blackbox-exporter',
      command,
      paths: { '/etc/blackbox_exporter': config },
      readyPath: '/-/healthy',
    });
  }, 30_000);
});
