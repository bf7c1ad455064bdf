import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalSecretSource, secretFileName } from '../../../functions/local/local-secrets.js';
import { ConfigurationError } from '../../../functions/shared/errors.js';

describe('Local secrets', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'toilless-secrets-'));
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('prefers the environment to the file, and takes an empty file as unset', async () => {
    // Prepare
    const secrets = new LocalSecretSource(dataDir, { SLACK_BOT_TOKEN: 'xoxb-from-env' });
    await mkdir(secrets.dir, { recursive: true });
    await writeFile(secrets.pathOf('SLACK_BOT_TOKEN'), 'xoxb-from-file\n');
    await writeFile(secrets.pathOf('GITHUB_TOKEN'), '  \n');
    await writeFile(secrets.pathOf('GRAFANA_TOKEN'), 'glsa_token\n');

    // Act & Assess
    expect(await secrets.get('SLACK_BOT_TOKEN')).toBe('xoxb-from-env');
    expect(await secrets.get('GITHUB_TOKEN')).toBeUndefined();
    expect(await secrets.get('GRAFANA_TOKEN')).toBe('glsa_token');
    expect(await secrets.get('ALERTMANAGER_WEBHOOK_TOKEN')).toBeUndefined();
  });

  it('names secret files in kebab case under <data-dir>/secrets', () => {
    // Act & Assess
    expect(secretFileName('GITHUB_WEBHOOK_SECRET')).toBe('github-webhook-secret');
    expect(new LocalSecretSource(dataDir, {}).pathOf('SLACK_BOT_TOKEN')).toBe(
      join(dataDir, 'secrets', 'slack-bot-token'),
    );
  });

  it('generates the two webhook credentials once, readable by the owner only', async () => {
    // Prepare
    const secrets = new LocalSecretSource(dataDir, {});

    // Act
    const written = await secrets.ensureGenerated();
    const again = await secrets.ensureGenerated();

    // Assess
    expect(written.sort()).toEqual([
      secrets.pathOf('ALERTMANAGER_WEBHOOK_TOKEN'),
      secrets.pathOf('GITHUB_WEBHOOK_SECRET'),
    ]);
    expect(again).toEqual([]);
    const token = await secrets.get('ALERTMANAGER_WEBHOOK_TOKEN');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await secrets.get('GITHUB_WEBHOOK_SECRET')).not.toBe(token);
    expect((await stat(secrets.pathOf('GITHUB_WEBHOOK_SECRET'))).mode & 0o777).toBe(0o600);
  });

  it('generates nothing for a credential the environment sets', async () => {
    // Prepare
    const secrets = new LocalSecretSource(dataDir, { GITHUB_WEBHOOK_SECRET: 'from-env' });

    // Act
    const written = await secrets.ensureGenerated();

    // Assess
    expect(written).toEqual([secrets.pathOf('ALERTMANAGER_WEBHOOK_TOKEN')]);
    await expect(readFile(secrets.pathOf('GITHUB_WEBHOOK_SECRET'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a secret file that is a directory, saying what to do and without its value', async () => {
    // Prepare
    const secrets = new LocalSecretSource(dataDir, {});
    await mkdir(secrets.pathOf('SLACK_BOT_TOKEN'), { recursive: true });

    // Act
    const reading = secrets.get('SLACK_BOT_TOKEN');

    // Assess
    await expect(reading).rejects.toBeInstanceOf(ConfigurationError);
    await expect(reading).rejects.toThrow(
      `the SLACK_BOT_TOKEN file ${secrets.pathOf('SLACK_BOT_TOKEN')} cannot be read: it is a directory: replace it with a file holding the secret, or remove it to have one generated, or set SLACK_BOT_TOKEN in the environment`,
    );
  });
});
