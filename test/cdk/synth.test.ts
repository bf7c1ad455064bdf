import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROCESSOR_MANIFESTS, WEBHOOK_MANIFESTS } from '../../functions/manifests.js';

const REPOSITORY_ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface CommandResult {
  readonly code: number | null;
  readonly output: string;
}

function run(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  cwd = REPOSITORY_ROOT,
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** The environment of a machine with no AWS account: no credentials, no profile, nothing to look up. */
function accountlessEnvironment(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(AWS_|CDK_)/.test(name) || name === 'AWS_CA_BUNDLE'),
  );
  return {
    ...env,
    // Keeps the SDK's credential chain off the instance metadata endpoint and the CLI off the network.
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: join(outdir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(outdir, 'no-aws-credentials'),
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    CDK_DISABLE_VERSION_CHECK: 'true',
  };
}

let outdir: string;
let synth: CommandResult;

beforeAll(async () => {
  // Prepare and Act: the command an operator runs, from a clean output directory.
  outdir = mkdtempSync(join(tmpdir(), 'toilless-synth-'));
  synth = await run(
    'npx',
    ['--no-install', 'cdk', 'synth', '--quiet', '--no-notices', '--output', join(outdir, 'cdk.out')],
    accountlessEnvironment(),
  );
  // Bundling and template validation take about a minute on a busy two-core machine.
}, 300_000);

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
});

describe('cdk synth', () => {
  it('synthesizes the app without an AWS account', () => {
    // Assess
    expect(synth.output).not.toMatch(/Synthesis finished with errors/);
    expect(synth.code, synth.output).toBe(0);
    expect(existsSync(join(outdir, 'cdk.out', 'Toilless-Workers.template.json'))).toBe(true);
    expect(existsSync(join(outdir, 'cdk.out', 'Toilless-Observability.template.json'))).toBe(true);
  });

  it('deploys the observability stack before the workers that query it', () => {
    // Prepare
    const manifest = JSON.parse(readFileSync(join(outdir, 'cdk.out', 'manifest.json'), 'utf8'));

    // Assess
    expect(manifest.artifacts['Toilless-Workers'].dependencies).toContain('Toilless-Observability');
  });

  it('leaves the stack environment-agnostic when no account is known', () => {
    // Prepare
    const manifest = JSON.parse(readFileSync(join(outdir, 'cdk.out', 'manifest.json'), 'utf8'));

    // Assess
    expect(manifest.artifacts['Toilless-Workers'].environment).toBe('aws://unknown-account/unknown-region');
  });

  it('bundles each handler into an ES module that Node loads and that exports handler', async () => {
    // Prepare
    const template = JSON.parse(
      readFileSync(join(outdir, 'cdk.out', 'Toilless-Workers.template.json'), 'utf8'),
    );
    const functions = Object.values<{ Type: string; Metadata: Record<string, string> }>(
      template.Resources,
    ).filter(
      (resource) =>
        resource.Type === 'AWS::Lambda::Function' &&
        // The provider of the custom resources comes with aws-cdk-lib, not from functions/.
        !resource.Metadata['aws:cdk:path']?.includes('/AWS679f53fac002430cb0da5b7982bd2287/'),
    );
    // One per worker manifest: the intakes and the processors.
    expect(functions).toHaveLength(WEBHOOK_MANIFESTS.length + PROCESSOR_MANIFESTS.length);

    for (const fn of functions) {
      const bundle = join(outdir, 'cdk.out', fn.Metadata['aws:asset:path'] ?? '', 'index.mjs');

      // Act: plain Node, as on Lambda, so that nothing but the bundle resolves its imports.
      const load = await run(
        process.execPath,
        [
          '--input-type=module',
          '--eval',
          `const m = await import(${JSON.stringify(pathToFileURL(bundle).href)}); console.log('handler:' + typeof m.handler);`,
        ],
        { PATH: process.env.PATH, AWS_REGION: 'eu-west-1' },
        tmpdir(),
      );

      // Assess
      expect(load.output).toContain('handler:function');
      expect(load.code, load.output).toBe(0);
      expect(existsSync(`${bundle}.map`)).toBe(true);
    }
  });
});
