import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stackConfigDir } from '../../../functions/shared/stack-config.js';
import { Prometheus } from '../../../lib/lgtm/prometheus.js';
import { ConstructTestStack } from '../app-fixture.js';
import { containerNamed, containersOf, lgtmTestBase, resourcesOf, snapshotOf } from './lgtm-fixture.js';
import { freePort, mappedArguments, startBinary, waitUntilReady } from './real-binary.js';

let fixture: ConstructTestStack | undefined;
let scratch: string | undefined;

afterEach(() => {
  fixture?.dispose();
  fixture = undefined;
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
});

function prometheusStack(retention?: string): { prometheus: Prometheus; fixture: ConstructTestStack } {
  fixture = new ConstructTestStack();
  const base = lgtmTestBase(fixture.stack);
  const prometheus = new Prometheus(fixture.stack, 'Prometheus', {
    ...base,
    image: base.versions.prometheus,
    ...(retention ? { retention } : {}),
  });
  return { prometheus, fixture };
}

describe('Prometheus', () => {
  it('matches the snapshot', () => {
    // Prepare and Act
    const { fixture } = prometheusStack();

    // Assess
    expect(snapshotOf(fixture.stack)).toMatchSnapshot();
  });

  it('keeps its TSDB on EFS as the image user, with one task that stops before the next starts', () => {
    // Prepare and Act
    const { fixture } = prometheusStack('30d');

    // Assess
    const resources = Object.values(resourcesOf(fixture.stack));
    const accessPoint = resources.find((r) => r.Type === 'AWS::EFS::AccessPoint');
    expect(accessPoint.Properties).toMatchObject({
      PosixUser: { Uid: '65534', Gid: '65534' },
      RootDirectory: { Path: '/prometheus', CreationInfo: { OwnerUid: '65534', OwnerGid: '65534' } },
    });
    const service = resources.find((r) => r.Type === 'AWS::ECS::Service');
    expect(service.Properties.DesiredCount).toBe(1);
    expect(service.Properties.DeploymentConfiguration).toMatchObject({
      MinimumHealthyPercent: 0,
      MaximumPercent: 100,
    });
    const main = containerNamed(containersOf(fixture.stack, 'Prometheus'), 'Main');
    expect(main.MountPoints).toContainEqual({
      ContainerPath: '/prometheus',
      ReadOnly: false,
      SourceVolume: 'state',
    });
    expect(main.Command).toContain('--storage.tsdb.retention.time=30d');
    expect(main.Command).toContain('--web.enable-remote-write-receiver');
  });

  it('refuses a retention that is not a duration, or under an hour', () => {
    // Act and Assess
    expect(() => prometheusStack('two weeks')).toThrow(/retention "two weeks" is not a duration/);
    expect(() => prometheusStack('30m')).toThrow(/retention "30m" is under an hour/);
  });

  it('starts for real with the arguments and files the task definition gives it, and becomes ready', async () => {
    // Prepare: the delivered folder and the EFS directory, mapped to local folders.
    const { fixture } = prometheusStack();
    const command: string[] = containerNamed(containersOf(fixture.stack, 'Prometheus'), 'Main').Command;
    scratch = mkdtempSync(join(tmpdir(), 'toilless-prometheus-'));
    const config = join(scratch, 'etc-prometheus');
    cpSync(join(stackConfigDir(), 'prometheus'), config, { recursive: true });
    mkdirSync(join(scratch, 'data'));
    const port = await freePort();
    const args = mappedArguments(
      command,
      { '/etc/prometheus': config, '/prometheus': join(scratch, 'data') },
      { flag: '--web.listen-address', address: `127.0.0.1:${port}` },
    );
    execFileSync('promtool', ['check', 'config', join(config, 'prometheus.yml')]);

    // Act
    const binary = startBinary('prometheus', args);
    try {
      const ready = await waitUntilReady(`http://127.0.0.1:${port}/-/ready`, binary);

      // Assess: ready, with the shipped rules loaded.
      expect(ready, binary.output()).toBe(true);
      const rules = (await (await fetch(`http://127.0.0.1:${port}/api/v1/rules`)).json()) as {
        data: { groups: unknown[] };
      };
      expect(rules.data.groups.length).toBeGreaterThan(0);
    } finally {
      await binary.stop();
    }
  }, 30_000);
});
