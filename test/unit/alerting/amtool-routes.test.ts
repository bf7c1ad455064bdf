import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadToillessConfig } from '../../../functions/shared/stack-config.js';
import { requireBinary } from '../../support/binaries.js';
import { createTempDir } from '../../support/process.js';

const stackConfigDir = join(import.meta.dirname, '..', '..', '..', 'stack-config');
const alertmanagerDir = join(stackConfigDir, 'alertmanager');
const configFile = join(alertmanagerDir, 'alertmanager.yml');
const templateGlob = join(alertmanagerDir, 'templates', '*.tmpl');

interface ToolRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly output: string;
}

/** Runs amtool and returns its exit code and output, never throwing on a failed check. */
function amtool(args: readonly string[]): Promise<ToolRun> {
  const binary = requireBinary('amtool', 'prometheus-alertmanager');
  return new Promise((resolveRun, reject) => {
    execFile(binary, args, { cwd: alertmanagerDir }, (error, stdout, stderr) => {
      const exitCode = error === null ? 0 : error.code;
      if (typeof exitCode !== 'number') {
        reject(error ?? new Error(`amtool ${args.join(' ')} did not exit`));
        return;
      }
      resolveRun({ exitCode, stdout, output: `${stdout}${stderr}` });
    });
  });
}

describe('Alertmanager configuration', () => {
  it('passes amtool check-config with its templates', async () => {
    // Act
    const run = await amtool(['check-config', configFile]);

    // Assess
    expect(run.exitCode, run.output).toBe(0);
    expect(run.output).toContain('SUCCESS');
  });
});

describe('Alertmanager routing', () => {
  it.each([
    {
      alert: 'a sample-app critical',
      labels: ['alertname=FastBurnRate', 'service=sample-app', 'severity=critical', 'slo=availability'],
      receivers: 'toilless,slack-app,slack',
    },
    {
      alert: 'a node warning',
      labels: ['alertname=HighCPUWarning', 'service=node', 'severity=warning', 'instance=node-exporter:9100'],
      receivers: 'toilless,slack',
    },
    {
      alert: 'a DORA warning',
      labels: ['alertname=HighChangeFailureRate', 'service=dora', 'severity=warning', 'repository=acme/shop'],
      receivers: 'toilless,slack',
    },
    {
      // toilless' own alerts reach Slack even when toilless is the part that is broken.
      alert: 'a toilless critical',
      labels: ['alertname=WebhookErrors', 'service=toilless', 'severity=critical', 'route=/webhooks/github'],
      receivers: 'toilless,slack',
    },
    {
      alert: 'a toilless warning',
      labels: [
        'alertname=DeadLettersAppeared',
        'service=toilless',
        'severity=warning',
        'subscriber=dora-metrics',
      ],
      receivers: 'toilless,slack',
    },
    {
      alert: 'the Watchdog',
      labels: ['alertname=Watchdog', 'service=prometheus', 'severity=none'],
      receivers: 'watchdog',
    },
  ])('sends $alert to $receivers', async ({ labels, receivers }) => {
    // Act
    const run = await amtool([
      'config',
      'routes',
      'test',
      `--config.file=${configFile}`,
      `--verify.receivers=${receivers}`,
      ...labels,
    ]);

    // Assess
    expect(run.exitCode, run.output).toBe(0);
    expect(run.stdout.trim()).toBe(receivers);
  });

  it('fails verification when an alert would reach other receivers', async () => {
    // Act
    const run = await amtool([
      'config',
      'routes',
      'test',
      `--config.file=${configFile}`,
      '--verify.receivers=slack',
      'alertname=HighCPUWarning',
      'service=node',
      'severity=warning',
    ]);

    // Assess
    expect(run.exitCode).toBe(1);
    expect(run.stdout.split('\n')[0]).toBe('toilless,slack');
    expect(run.stdout).toContain('Expected receivers did not match resolved receivers');
  });
});

describe('Slack notification template', () => {
  const links = loadToillessConfig(stackConfigDir).links;
  let dir: string;

  beforeAll(async () => {
    dir = await createTempDir('slack-template');
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Renders a template of slack.tmpl with amtool for a notification (template.Data). */
  async function render(name: string, data: object): Promise<string> {
    const dataFile = join(dir, `${name}-${Date.now()}.json`);
    await writeFile(dataFile, JSON.stringify(data));
    const run = await amtool([
      'template',
      'render',
      `--template.glob=${templateGlob}`,
      `--template.text={{ template "${name}" . }}`,
      `--template.data=${dataFile}`,
    ]);
    expect(run.exitCode, run.output).toBe(0);
    return run.stdout;
  }

  const nodeWarnings = {
    receiver: 'slack',
    status: 'firing',
    alerts: [
      {
        status: 'firing',
        labels: {
          alertname: 'HighCPUWarning',
          service: 'node',
          severity: 'warning',
          instance: 'node-1:9100',
        },
        annotations: {
          summary: 'CPU usage on node-1:9100 is 94.2%',
          dashboard_url: '/d/node-exporter/node-exporter?var-instance=node-1:9100',
          runbook_url: 'runbooks/high-cpu-warning.md',
        },
        startsAt: '2026-11-28T08:42:57Z',
        endsAt: '0001-01-01T00:00:00Z',
      },
      {
        status: 'firing',
        labels: {
          alertname: 'HighMemoryWarning',
          service: 'node',
          severity: 'warning',
          instance: 'node-1:9100',
        },
        annotations: {
          summary: 'Memory used on node-1:9100 is 83%',
          dashboard_url: 'https://grafana.example.com/d/node-exporter/node-exporter',
          runbook_url: 'runbooks/high-memory-warning.md',
        },
        startsAt: '2026-11-28T08:42:57Z',
        endsAt: '0001-01-01T00:00:00Z',
      },
      {
        status: 'resolved',
        labels: {
          alertname: 'DiskSpaceWarning',
          service: 'node',
          severity: 'warning',
          instance: 'node-2:9100',
        },
        annotations: { summary: 'Disk / on node-2:9100 is 76% full' },
        startsAt: '2026-11-28T08:12:57Z',
        endsAt: '2026-11-28T08:40:57Z',
      },
    ],
    groupLabels: { service: 'node', severity: 'warning' },
    commonLabels: { service: 'node', severity: 'warning' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
  };

  it('titles a group with its service, severity and how many alerts it holds', async () => {
    // Act
    const title = await render('toilless.slack.title', nodeWarnings);

    // Assess
    expect(title).toBe('[FIRING] node · warning · 3 alerts (1 resolved)');
  });

  it('names the alert in the title when the group holds one alert name', async () => {
    // Prepare
    const [first] = nodeWarnings.alerts;
    const single = {
      ...nodeWarnings,
      alerts: [first],
      commonLabels: { ...nodeWarnings.commonLabels, alertname: 'HighCPUWarning' },
    };

    // Act
    const title = await render('toilless.slack.title', single);

    // Assess
    expect(title).toBe('[FIRING] HighCPUWarning · node · warning · 1 alert');
  });

  it('shows each alert with its value, instance, dashboard and runbook links', async () => {
    // Act
    const text = await render('toilless.slack.text', nodeWarnings);

    // Assess
    expect(text.split('\n')).toEqual([
      ':warning: *HighCPUWarning* · warning · node · `node-1:9100`',
      'CPU usage on node-1:9100 is 94.2%',
      `<${links.grafanaUrl}/d/node-exporter/node-exporter?var-instance=node-1:9100|Dashboard> · ` +
        `<${links.runbooksUrl}/runbooks/high-cpu-warning.md|Runbook>`,
      '',
      ':warning: *HighMemoryWarning* · warning · node · `node-1:9100`',
      'Memory used on node-1:9100 is 83%',
      // An absolute URL from another source is kept as it is.
      '<https://grafana.example.com/d/node-exporter/node-exporter|Dashboard> · ' +
        `<${links.runbooksUrl}/runbooks/high-memory-warning.md|Runbook>`,
      '',
      ':white_check_mark: *DiskSpaceWarning* · warning · node · `node-2:9100`',
      'Disk / on node-2:9100 is 76% full',
    ]);
  });
});
