import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { afterEach, describe, expect, it } from 'vitest';
import { stackConfigDir } from '../../../functions/shared/stack-config.js';
import { asISecret } from '../../../lib/cdk-interfaces.js';
import { ALERTMANAGER_SECRET_FILES, Alertmanager } from '../../../lib/lgtm/alertmanager.js';
import { configSyncScript } from '../../../lib/lgtm/lgtm-service.js';
import { ConstructTestStack } from '../app-fixture.js';
import {
  containerNamed,
  containersOf,
  environmentOf,
  lgtmTestBase,
  resourcesOf,
  snapshotOf,
} from './lgtm-fixture.js';
import { freePort, mappedArguments, startBinary, waitUntilReady } from './real-binary.js';

let fixture: ConstructTestStack | undefined;
let scratch: string | undefined;

afterEach(() => {
  fixture?.dispose();
  fixture = undefined;
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
});

function alertmanagerStack(): { alertmanager: Alertmanager; fixture: ConstructTestStack } {
  fixture = new ConstructTestStack();
  const base = lgtmTestBase(fixture.stack);
  const alertmanager = new Alertmanager(fixture.stack, 'Alertmanager', {
    ...base,
    image: base.versions.alertmanager,
    webhookToken: asISecret(new secretsmanager.Secret(fixture.stack, 'Token')),
    slackWebhookUrl: asISecret(new secretsmanager.Secret(fixture.stack, 'Slack')),
  });
  return { alertmanager, fixture };
}

describe('Alertmanager', () => {
  it('matches the snapshot', () => {
    // Prepare and Act
    const { fixture } = alertmanagerStack();

    // Assess
    expect(snapshotOf(fixture.stack)).toMatchSnapshot();
  });

  it('gets the webhook token and the Slack URL as ECS secrets written to the files its config names, never as plain variables', () => {
    // Prepare and Act
    const { fixture } = alertmanagerStack();

    // Assess
    const containers = containersOf(fixture.stack, 'Alertmanager');
    const sync = containerNamed(containers, 'ConfigSync');
    const main = containerNamed(containers, 'Main');
    const resources = resourcesOf(fixture.stack);
    const secretIds = Object.keys(resources).filter(
      (id) => resources[id].Type === 'AWS::SecretsManager::Secret',
    );
    expect(sync.Secrets.map((s: { Name: string }) => s.Name)).toEqual(['SECRET_FILE_0', 'SECRET_FILE_1']);
    expect(JSON.stringify(sync.Secrets)).toContain(secretIds[0]);
    expect(sync.Command[0]).toBe(configSyncScript(Object.values(ALERTMANAGER_SECRET_FILES)));
    expect(sync.Command[0]).toContain(
      'printf \'%s\' "$SECRET_FILE_0" > /config/secrets/toilless-webhook-token',
    );
    for (const container of [sync, main]) {
      expect(JSON.stringify(environmentOf(container))).not.toMatch(/Secret|SECRET/);
    }
    expect(main.MountPoints).toContainEqual({
      ContainerPath: '/alertmanager',
      ReadOnly: false,
      SourceVolume: 'state',
    });
  });

  it('starts for real with the arguments, config and secret files the task gives it, and becomes ready', async () => {
    // Prepare: what the init container leaves in the config volume, and the EFS directory.
    const { fixture } = alertmanagerStack();
    const command: string[] = containerNamed(containersOf(fixture.stack, 'Alertmanager'), 'Main').Command;
    scratch = mkdtempSync(join(tmpdir(), 'toilless-alertmanager-'));
    const config = join(scratch, 'etc-alertmanager');
    cpSync(join(stackConfigDir(), 'alertmanager'), config, { recursive: true });
    for (const [file, value] of [
      [ALERTMANAGER_SECRET_FILES.webhookToken, 'token-from-secrets-manager'],
      [ALERTMANAGER_SECRET_FILES.slackWebhookUrl, 'https://hooks.slack.invalid/services/T/B/X'],
    ] as const) {
      mkdirSync(dirname(join(config, file)), { recursive: true });
      writeFileSync(join(config, file), value);
    }
    mkdirSync(join(scratch, 'data'));
    const port = await freePort();
    const args = mappedArguments(
      command,
      { '/etc/alertmanager': config, '/alertmanager': join(scratch, 'data') },
      { flag: '--web.listen-address', address: `127.0.0.1:${port}` },
    );
    execFileSync('amtool', ['check-config', join(config, 'alertmanager.yml')]);

    // Act
    const binary = startBinary('prometheus-alertmanager', args);
    try {
      // Assess
      expect(await waitUntilReady(`http://127.0.0.1:${port}/-/ready`, binary), binary.output()).toBe(true);
    } finally {
      await binary.stop();
    }
  }, 30_000);
});
