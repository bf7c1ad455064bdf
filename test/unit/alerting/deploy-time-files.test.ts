import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { withDeployTimeFiles } from '../../../functions/alerting/deploy-time-files.js';
import { requireBinary } from '../../support/binaries.js';

const tempDirs: string[] = [];

afterEach(async () => {
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

function promtoolCheckConfig(path: string): Promise<{ ok: boolean; output: string }> {
  const binary = requireBinary('promtool', 'prometheus');
  return new Promise((resolveRun) => {
    execFile(binary, ['check', 'config', path], (error, stdout, stderr) => {
      resolveRun({ ok: error === null, output: `${stdout}${stderr}` });
    });
  });
}

/** A prometheus.yml with relative rule_files and a token file that only exists where it is deployed. */
async function configWithDeployTimeSecret(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'toilless-deploy-files-'));
  tempDirs.push(dir);
  await mkdir(join(dir, 'rules'));
  await writeFile(
    join(dir, 'rules', 'up.yml'),
    'groups:\n  - name: up\n    rules:\n      - record: job:up:sum\n        expr: sum by (job) (up)\n',
  );
  const config = join(dir, 'prometheus.yml');
  await writeFile(
    config,
    [
      'rule_files: [rules/*.yml]',
      'scrape_configs:',
      '  - job_name: app',
      '    authorization:',
      '      credentials_file: /run/secrets/scrape-token-that-exists-only-when-deployed',
      '    static_configs:',
      '      - targets: [app:8000]',
      '',
    ].join('\n'),
  );
  return config;
}

describe('Checking configs that reference deploy-time files', () => {
  it('lets promtool check a config whose credentials file only exists when deployed', async () => {
    // Prepare
    const config = await configWithDeployTimeSecret();
    const original = await promtoolCheckConfig(config);

    // Act
    const checkable = await withDeployTimeFiles(config);
    const run = await promtoolCheckConfig(checkable.path);
    await checkable.cleanup();

    // Assess
    expect(original.ok, 'promtool refuses the config as written').toBe(false);
    expect(run.ok, run.output).toBe(true);
    expect(run.output).toContain('SUCCESS: 1 rule files found');
    expect(checkable.substituted).toEqual(['/run/secrets/scrape-token-that-exists-only-when-deployed']);
    expect(existsSync(checkable.path)).toBe(false);
  });

  it('checks the config itself when every file it references exists', async () => {
    // Prepare
    const config = await configWithDeployTimeSecret();
    await writeFile(config, 'rule_files: [rules/*.yml]\n');

    // Act
    const checkable = await withDeployTimeFiles(config);

    // Assess
    expect(checkable.path).toBe(config);
    expect(checkable.substituted).toEqual([]);
  });
});
