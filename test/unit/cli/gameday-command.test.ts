import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gamedayCommand } from '../../../bin/commands/gameday.js';
import { gamedayEnvironmentFrom } from '../../../bin/gameday/cli-environment.js';
import type { GamedayEnvironment, ScenarioName } from '../../../bin/gameday/environment.js';
import type { GamedayResult, GamedayRunOptions } from '../../../bin/gameday/run.js';
import { ConfigurationError } from '../../../functions/shared/errors.js';
import { runCli, STACK_LINE } from '../../support/cli.js';
import { createTempDir } from '../../support/process.js';

let dir: string;

beforeEach(async () => {
  dir = await createTempDir('gameday-cli');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the game day environment from environment variables', () => {
  it('defaults to docker compose on this machine, the outbox and the data directory', async () => {
    const environment = await gamedayEnvironmentFrom({
      GITHUB_WEBHOOK_SECRET: 's3cret',
      TOILLESS_DATA_DIR: dir,
    });
    expect(environment).toEqual({
      prometheusUrl: 'http://localhost:9090',
      alertmanagerUrl: 'http://localhost:9093',
      sampleAppUrl: 'http://localhost:8000',
      toillessUrl: 'http://localhost:8080',
      grafanaUrl: 'http://localhost:3000',
      githubWebhookSecret: 's3cret',
      slack: { kind: 'outbox', dir: join(dir, 'outbox', 'slack') },
      store: { kind: 'data-dir', dir },
      cpuPressure: 'local-host',
      lokiConfigured: false,
      tempoConfigured: false,
    });
  });

  it('reads the webhook secret toilless serve generated in the data directory', async () => {
    await mkdir(join(dir, 'secrets'));
    await writeFile(join(dir, 'secrets', 'github-webhook-secret'), 'generated-value\n');
    const environment = await gamedayEnvironmentFrom({ TOILLESS_DATA_DIR: dir });
    expect(environment.githubWebhookSecret).toBe('generated-value');
  });

  it('uses the Slack Web API, the S3 store, Loki and Tempo when they are configured', async () => {
    const environment = await gamedayEnvironmentFrom(
      {
        GITHUB_WEBHOOK_SECRET: 's',
        SLACK_BOT_TOKEN: 'xoxb-1',
        SLACK_CHANNEL: 'C0123',
        SLACK_API_URL: 'http://127.0.0.1:9999/api/',
        TOILLESS_BUCKET: 'toilless-store-1',
        AWS_REGION: 'eu-west-1',
        LOKI_URL: 'http://loki:3100',
        TEMPO_URL: 'http://tempo:3200',
        PROMETHEUS_URL: 'http://prometheus:9090/',
      },
      { cpuPressure: 'sample-app' },
    );
    expect(environment).toMatchObject({
      prometheusUrl: 'http://prometheus:9090',
      slack: { kind: 'slack-api', apiUrl: 'http://127.0.0.1:9999/api/', token: 'xoxb-1', channel: 'C0123' },
      store: { kind: 's3', bucket: 'toilless-store-1', region: 'eu-west-1' },
      cpuPressure: 'sample-app',
      lokiConfigured: true,
      tempoConfigured: true,
    });
  });

  it.each([
    [
      { TOILLESS_DATA_DIR: 'DIR' },
      /GITHUB_WEBHOOK_SECRET is not set and .*github-webhook-secret does not exist/,
    ],
    [
      { GITHUB_WEBHOOK_SECRET: 's', ALERTMANAGER_URL: 'not a url' },
      /ALERTMANAGER_URL: must be an http\(s\) URL/,
    ],
    [{ GITHUB_WEBHOOK_SECRET: 's', SLACK_BOT_TOKEN: 'xoxb-1' }, /SLACK_CHANNEL is not/],
    [
      { GITHUB_WEBHOOK_SECRET: 's', TOILLESS_BUCKET: 'Not_A_Bucket' },
      /TOILLESS_BUCKET: must be an S3 bucket name/,
    ],
  ])('refuses %j with a ConfigurationError that names the variable', async (env, message) => {
    const withDir = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === 'DIR' ? dir : v]));
    const refusal = gamedayEnvironmentFrom(withDir);
    await expect(refusal).rejects.toThrow(ConfigurationError);
    await expect(refusal).rejects.toThrow(message);
  });
});

function passedResult(passed: boolean): GamedayResult {
  return {
    passed,
    startedAt: '2026-12-06T10:00:00.000Z',
    finishedAt: '2026-12-06T10:10:00.000Z',
    aborted: false,
    scenarios: [
      {
        name: 'latency',
        passed,
        startedAt: '2026-12-06T10:00:00.000Z',
        finishedAt: '2026-12-06T10:10:00.000Z',
        milestones: {},
        expectations: [
          {
            id: 'x',
            description: 'x',
            outcome: passed ? { status: 'held' } : { status: 'failed', seen: 'nothing' },
          },
        ],
      },
    ],
    report: { markdownFile: 'out/gameday-report.md', pdf: { status: 'skipped', why: 'not asked for' } },
  };
}

async function runCommand(args: string[], passed: boolean) {
  const calls: {
    environment: GamedayEnvironment;
    scenarios: readonly ScenarioName[];
    options: GamedayRunOptions;
  }[] = [];
  const codes: number[] = [];
  const output = new PassThrough();
  let text = '';
  output.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  await gamedayCommand({
    env: { GITHUB_WEBHOOK_SECRET: 's', TOILLESS_DATA_DIR: dir },
    output,
    setExitCode: (code) => codes.push(code),
    run: async (environment, scenarios, options) => {
      calls.push({ environment, scenarios, options });
      return passedResult(passed);
    },
  }).parseAsync(args, { from: 'user' });
  return { calls, codes, text: () => text };
}

describe('toilless gameday', () => {
  it('runs every scenario by default and exits 0 when every expectation held', async () => {
    const { calls, codes, text } = await runCommand([], true);
    expect(calls[0]?.scenarios).toEqual(['deploy-failure', 'latency', 'resource-pressure']);
    expect(calls[0]?.options).toMatchObject({ outDir: 'gameday-report', renderDashboards: true });
    expect(codes).toEqual([0]);
    expect(text()).toContain('latency: passed');
  });

  it('exits 1 when an expectation failed, and passes --out, --timeout-scale and the scenario on', async () => {
    const { calls, codes, text } = await runCommand(
      [
        'latency',
        '--out',
        join(dir, 'r'),
        '--timeout-scale',
        '2.5',
        '--no-dashboards',
        '--slow-delay',
        '2000',
      ],
      false,
    );
    expect(calls[0]?.scenarios).toEqual(['latency']);
    expect(calls[0]?.options).toMatchObject({
      outDir: join(dir, 'r'),
      timeoutScale: 2.5,
      renderDashboards: false,
      latency: { delayMs: 2000 },
    });
    expect(codes).toEqual([1]);
    expect(text()).toContain('latency: FAILED (1 expectation failed)');
  });

  it('exits 2 when commander refuses the usage (an invalid --timeout-scale)', async () => {
    const errors: string[] = [];
    const command = gamedayCommand({
      env: { GITHUB_WEBHOOK_SECRET: 's', TOILLESS_DATA_DIR: dir },
      exit: (code) => {
        throw new Error(`exit ${code}`);
      },
    }).configureOutput({ writeErr: (text) => errors.push(text), writeOut: () => {} });
    await expect(command.parseAsync(['--timeout-scale', '-1'], { from: 'user' })).rejects.toThrow('exit 2');
    expect(errors.join('')).toMatch(/expected a number above 0 and at most 100/);
  });

  it('exits 2 from the real CLI for an unknown scenario, without a stack trace', async () => {
    const result = await runCli(['gameday', 'bogus'], { TOILLESS_DATA_DIR: dir });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/invalid for argument 'scenario'/);
    expect(result.stderr).not.toMatch(STACK_LINE);
  });
});
