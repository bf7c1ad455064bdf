import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import { stackConfigDir } from '../../../functions/shared/stack-config.js';
import { asISecret } from '../../../lib/cdk-interfaces.js';
import {
  ALERTMANAGER_SECRET_FILES,
  Alertmanager,
  TOILLESS_RECEIVER_PLACEHOLDER,
} from '../../../lib/lgtm/alertmanager.js';
import { configSyncScript } from '../../../lib/lgtm/lgtm-service.js';
import {
  containerNamed,
  containersOf,
  environmentOf,
  itMatchesTheSnapshot,
  resourcesOf,
  useLgtmTestStacks,
} from './lgtm-fixture.js';
import { withRunningContainer } from './real-binary.js';

const stacks = useLgtmTestStacks();

function alertmanagerStack() {
  const { built: alertmanager, fixture } = stacks.build(
    (stack, base) =>
      new Alertmanager(stack, 'Alertmanager', {
        ...base,
        image: base.versions.alertmanager,
        webhookToken: asISecret(new secretsmanager.Secret(stack, 'Token')),
        slackWebhookUrl: asISecret(new secretsmanager.Secret(stack, 'Slack')),
        receiverUrl: asISecret(new secretsmanager.Secret(stack, 'ReceiverUrl')),
      }),
  );
  return { alertmanager, fixture };
}

describe('Alertmanager', () => {
  itMatchesTheSnapshot(alertmanagerStack);

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
    expect(sync.Secrets.map((s: { Name: string }) => s.Name)).toEqual([
      'SECRET_FILE_0',
      'SECRET_FILE_1',
      'SUBSTITUTE_URL_0',
    ]);
    expect(JSON.stringify(sync.Secrets)).toContain(secretIds[0]);
    expect(sync.Command[0]).toBe(
      configSyncScript(Object.values(ALERTMANAGER_SECRET_FILES), [
        { file: 'alertmanager.yml', placeholder: TOILLESS_RECEIVER_PLACEHOLDER },
      ]),
    );
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
    const scratch = stacks.scratch('toilless-alertmanager-');
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
    execFileSync('amtool', ['check-config', join(config, 'alertmanager.yml')]);

    // Act and Assess: it becomes ready
    await withRunningContainer({
      binary: 'prometheus-alertmanager',
      command,
      paths: { '/etc/alertmanager': config, '/alertmanager': join(scratch, 'data') },
      readyPath: '/-/ready',
    });
  }, 30_000);

  describe('toilless receiver URL', () => {
    const WEBHOOK_URL = 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod/webhooks/alertmanager';

    /** Runs the init container's script with /config mapped to a folder and a fake `aws` that copies stack-config. */
    function runConfigSync(receiverUrl: string): { status: number | null; stderr: string; config: string } {
      const { fixture } = alertmanagerStack();
      const script: string = containerNamed(containersOf(fixture.stack, 'Alertmanager'), 'ConfigSync')
        .Command[0];
      const scratch = stacks.scratch('toilless-config-sync-');
      const config = join(scratch, 'config');
      const bin = join(scratch, 'bin');
      mkdirSync(config);
      mkdirSync(bin);
      writeFileSync(
        join(bin, 'aws'),
        `#!/bin/sh\ncp -R ${JSON.stringify(join(stackConfigDir(), 'alertmanager'))}/. ${JSON.stringify(config)}/\n`,
      );
      chmodSync(join(bin, 'aws'), 0o755);
      const result = spawnSync('sh', ['-c', script.replaceAll('/config/', `${config}/`)], {
        env: {
          PATH: `${bin}:${process.env.PATH}`,
          CONFIG_BUCKET: 'bucket',
          CONFIG_PREFIX: 'alertmanager',
          SECRET_FILE_0: 'token-from-secrets-manager',
          SECRET_FILE_1: 'https://hooks.slack.invalid/services/T/B/X',
          SUBSTITUTE_URL_0: receiverUrl,
        },
        encoding: 'utf8',
      });
      return { status: result.status, stderr: result.stderr, config };
    }

    it("is replaced by the workers' webhook URL from its secret, and the real amtool accepts the result", () => {
      // Prepare and Act
      const { status, stderr, config } = runConfigSync(WEBHOOK_URL);

      // Assess
      expect(status, stderr).toBe(0);
      const file = readFileSync(join(config, 'alertmanager.yml'), 'utf8');
      expect(file).toContain(`- url: ${WEBHOOK_URL}\n`);
      expect(file).not.toContain(TOILLESS_RECEIVER_PLACEHOLDER);
      execFileSync('amtool', ['check-config', join(config, 'alertmanager.yml')]);
    });

    it.each([
      ['a sed metacharacter', 'https://x.example/a|b&c'],
      ['a quote that would end the YAML value', "https://x.example/a'b"],
      ['another scheme', 'file:///etc/passwd'],
      ['nothing', ''],
    ])('stops the task on a value with %s, leaving the file unchanged', (_what, value) => {
      // Prepare and Act
      const { status, stderr, config } = runConfigSync(value);

      // Assess
      expect(status).not.toBe(0);
      expect(stderr).toContain('SUBSTITUTE_URL_0 (for alertmanager.yml) is not an http(s) URL');
      expect(readFileSync(join(config, 'alertmanager.yml'), 'utf8')).toContain(TOILLESS_RECEIVER_PLACEHOLDER);
    });
  });
});
