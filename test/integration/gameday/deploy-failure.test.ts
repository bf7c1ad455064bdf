import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARDS_PDF, renderDashboardsPdf } from '../../../bin/gameday/dashboards-pdf.js';
import type { GamedayEnvironment } from '../../../bin/gameday/environment.js';
import { type GamedayResult, MARKDOWN_REPORT, runGameday } from '../../../bin/gameday/run.js';
import { type LocalServer, startLocalServer } from '../../../functions/local/local-server.js';
import { silentLogger } from '../../../functions/shared/log.js';
import { type RunningAlertmanager, startAlertmanager } from '../../support/alertmanager.js';
import { freePort } from '../../support/ports.js';
import { createTempDir } from '../../support/process.js';
import { type RunningPrometheus, startPrometheus } from '../../support/prometheus.js';
import { STACK_CONFIG_DIR, shippedAlertmanager } from '../../support/stack-config-copy.js';

/**
 * The deploy-failure scenario through the real parts: the local server's GitHub intake and DORA
 * worker, Prometheus's remote-write receiver and rule evaluation, Alertmanager's shipped routing, the
 * incident timeline and its outbox. Only the rule's `for` is shortened (10m -> 2s), in a test-only
 * copy of dora.yml; the shipped group_wait of 30s stays, so the incident comes about 35 s in.
 */
const TEST_TIMEOUT_MS = 150_000;

describe('the deploy-failure game day against real Prometheus, Alertmanager and toilless', () => {
  let dir: string;
  let dataDir: string;
  let stackConfig: string;
  let prometheus: RunningPrometheus;
  let alertmanager: RunningAlertmanager;
  let server: LocalServer;
  let result: GamedayResult;
  let progress = '';

  beforeAll(async () => {
    dir = await createTempDir('gameday-deploy-failure');
    dataDir = join(dir, 'data');
    stackConfig = join(dir, 'stack-config');
    const shippedRule = await readFile(join(STACK_CONFIG_DIR, 'prometheus', 'rules', 'dora.yml'), 'utf8');
    const testRule = shippedRule.replace(/for: 10m/, 'for: 2s');
    expect(testRule).not.toBe(shippedRule);
    // What the engine reads its deadlines from: the test's timings, the shipped routing.
    await mkdir(join(stackConfig, 'prometheus', 'rules'), { recursive: true });
    await writeFile(join(stackConfig, 'prometheus', 'rules', 'dora.yml'), testRule);
    await writeFile(
      join(stackConfig, 'prometheus', 'prometheus.yml'),
      'global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n',
    );
    await cp(join(STACK_CONFIG_DIR, 'alertmanager'), join(stackConfig, 'alertmanager'), { recursive: true });

    prometheus = await startPrometheus({ ruleFiles: { 'dora.yml': testRule } });
    const [loki, tempo] = [await freePort(), await freePort()];
    server = await startLocalServer({
      port: 0,
      dataDir,
      logger: silentLogger,
      processMetrics: false,
      env: {
        PROMETHEUS_URL: prometheus.url,
        LOKI_URL: `http://127.0.0.1:${loki}`,
        TEMPO_URL: `http://127.0.0.1:${tempo}`,
      },
    });
    const token = await readFile(join(dataDir, 'secrets', 'alertmanager-webhook-token'), 'utf8');
    alertmanager = await startAlertmanager(
      shippedAlertmanager({
        webhookUrls: {
          toilless: `${server.url}/webhooks/alertmanager`,
          watchdog: `${server.url}/watchdog-not-used`,
        },
        secretFiles: {
          'toilless-webhook-token': token,
          'slack-webhook-url': `${server.url}/slack-not-used`,
        },
      }),
    );
    await prometheus.reload({
      config: [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'alerting:',
        '  alertmanagers:',
        `    - static_configs: [{ targets: ["${new URL(alertmanager.url).host}"] }]`,
        'rule_files: ["dora.yml"]',
        '',
      ].join('\n'),
    });

    const environment: GamedayEnvironment = {
      prometheusUrl: prometheus.url,
      alertmanagerUrl: alertmanager.url,
      sampleAppUrl: 'http://127.0.0.1:9',
      toillessUrl: server.url,
      githubWebhookSecret: (await readFile(join(dataDir, 'secrets', 'github-webhook-secret'), 'utf8')).trim(),
      slack: { kind: 'outbox', dir: join(dataDir, 'outbox', 'slack') },
      store: { kind: 'data-dir', dir: dataDir },
      cpuPressure: 'local-host',
      lokiConfigured: false,
      tempoConfigured: false,
    };
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => {
      progress += chunk.toString('utf8');
    });
    result = await runGameday(environment, ['deploy-failure'], {
      outDir: join(dir, 'report'),
      stackConfigDir: stackConfig,
      renderDashboards: false,
      pollIntervalMs: 500,
      progress: stream,
    });
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await prometheus?.stop();
    await alertmanager?.stop();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('holds every expectation, in the order the platform meets them', () => {
    const scenario = result.scenarios[0];
    const failures = scenario?.expectations.filter((e) => e.outcome.status !== 'held');
    expect(failures, progress).toEqual([]);
    expect(scenario?.expectations.map((e) => e.id)).toEqual([
      'deliveries-accepted',
      'dora-series',
      'alert-firing:HighChangeFailureRate',
      'alert-routed:HighChangeFailureRate',
      'incident-opened:HighChangeFailureRate',
      'slack-root:HighChangeFailureRate',
      'alert-resolved:HighChangeFailureRate',
    ]);
    expect(result.passed).toBe(true);
  });

  it('times each milestone from the trigger on', () => {
    const milestones = result.scenarios[0]?.milestones ?? {};
    const order = ['trigger', 'firing', 'routed', 'notified', 'slack', 'resolved'] as const;
    const times = order.map((name) => milestones[name]);
    expect(
      times.every((at) => at !== undefined),
      JSON.stringify(milestones),
    ).toBe(true);
    const ms = times.map((at) => Date.parse(at as string));
    expect([...ms].sort((a, b) => a - b)).toEqual(ms);
    expect(result.scenarios[0]?.incidentId).toMatch(/^\d{8}T\d{4}-dora-[0-9a-f]{8}$/);
  });

  it("writes the Markdown report with the scenario's table", async () => {
    const text = await readFile(join(dir, 'report', MARKDOWN_REPORT), 'utf8');
    expect(text).toContain('## deploy-failure: passed');
    expect(text).toMatch(/\| HighChangeFailureRate fires in Prometheus \| held \| \+\d+ s \|/);
  });

  it("draws the DORA dashboard over the game day with the weekly report's native renderer", async () => {
    const pdf = await renderDashboardsPdf({
      prometheusUrl: prometheus.url,
      grafanaUrl: 'http://localhost:3000',
      stackConfigDir: STACK_CONFIG_DIR,
      scenarios: ['deploy-failure'],
      from: new Date(Date.parse(result.startedAt) - 300_000),
      to: new Date(result.finishedAt),
      outDir: join(dir, 'report'),
    });
    expect(pdf).toEqual({
      status: 'written',
      file: join(dir, 'report', DASHBOARDS_PDF),
      dashboards: ['dora-metrics'],
    });
    const bytes = await readFile(join(dir, 'report', DASHBOARDS_PDF));
    expect(bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
  }, 60_000);

  it('says why there is no PDF when Prometheus cannot be reached', async () => {
    const pdf = await renderDashboardsPdf({
      prometheusUrl: `http://127.0.0.1:${await freePort()}`,
      grafanaUrl: 'http://localhost:3000',
      stackConfigDir: STACK_CONFIG_DIR,
      scenarios: ['latency'],
      from: new Date(Date.now() - 600_000),
      to: new Date(),
      outDir: join(dir, 'report'),
    });
    expect(pdf).toMatchObject({
      status: 'skipped',
      why: expect.stringMatching(/^Prometheus is not reachable at http:\/\/127\.0\.0\.1:\d+: /),
    });
  });
});
