import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app.js';
import type { WorkersStack, WorkersStackProps } from '../../lib/workers-stack.js';
import { cdkContext } from './app-fixture.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is walked structurally
type Json = any;

let outdir: string;
let cdkValidation: string | undefined;
let stack: WorkersStack;
let resources: Record<string, Json>;

/** The workers stack built from an operator's stack-config, bundling skipped (the copy is tested elsewhere). */
function workersWith(
  toillessYaml: string,
  props: Omit<WorkersStackProps, 'stackConfigDir'> = {},
): WorkersStack {
  const stackConfig = mkdtempSync(join(outdir, 'stack-config-'));
  writeFileSync(join(stackConfig, 'toilless.yaml'), toillessYaml);
  writeFileSync(join(stackConfig, 'slos.yaml'), 'services: {}\n');
  mkdirSync(join(stackConfig, 'grafana', 'dashboards'), { recursive: true });
  return buildApp({
    outdir: mkdtempSync(join(outdir, 'cdk-out-')),
    context: { ...cdkContext(), 'aws:cdk:bundling-stacks': [] },
    workers: { ...props, stackConfigDir: stackConfig },
  }).workers;
}

function environmentOf(fn: IConstruct): Record<string, Json> {
  return resources[stack.getLogicalId(fn.node.defaultChild as CfnElement)].Properties.Environment.Variables;
}

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'toilless-cdk-config-'));
  // The template is what is under test here; CDK's own template validation costs ~10 s per synth.
  cdkValidation = process.env.CDK_VALIDATION;
  process.env.CDK_VALIDATION = 'false';
  // Prepare and Act: one build from an operator's toilless.yaml and the addresses of an LGTM stack.
  stack = workersWith(
    [
      'slack:\n  channel: "#ops-incidents"',
      'incidents:\n  sourceBudget: 50s\n  concurrency: { prometheus: 6, loki: 3, tempo: 5 }',
      'retention:\n  incidents: 400d\n  deployments: 36h\n  reports: 2y',
      'report:\n  schedule: "30 6 * * 1-5"\n  timeZone: Europe/Berlin',
      '',
    ].join('\n'),
    {
      observability: {
        prometheusUrl: 'https://prometheus.lgtm.example.com',
        remoteWriteUrl: 'https://prometheus.lgtm.example.com/api/v1/write',
        lokiUrl: 'https://loki.lgtm.example.com',
        tempoUrl: 'https://tempo.lgtm.example.com',
        grafanaUrl: 'https://grafana.lgtm.example.com',
      },
    },
  );
  resources = Template.fromStack(stack).toJSON().Resources;
});

afterAll(() => {
  if (cdkValidation === undefined) delete process.env.CDK_VALIDATION;
  else process.env.CDK_VALIDATION = cdkValidation;
  rmSync(outdir, { recursive: true, force: true });
});

describe("Workers stack with an operator's stack-config", () => {
  it("schedules the weekly report on toilless.yaml's cron in its time zone, weekdays as EventBridge names them", () => {
    // Prepare
    const schedule =
      resources[stack.getLogicalId(stack.weeklyReportSchedule.node.defaultChild as CfnElement)];

    // Assess: cron's 1-5 is Monday to Friday; EventBridge's 1 would be Sunday
    expect(schedule.Properties.ScheduleExpression).toBe('cron(30 6 ? * MON,TUE,WED,THU,FRI *)');
    expect(schedule.Properties.ScheduleExpressionTimezone).toBe('Europe/Berlin');
  });

  it("takes the Slack channel and the timeline's source budget from that toilless.yaml", () => {
    // Prepare
    const fn = stack.incidentTimeline.worker.function;

    // Assess
    expect(environmentOf(fn).SLACK_CHANNEL).toBe('#ops-incidents');
    expect(resources[stack.getLogicalId(fn.node.defaultChild as CfnElement)].Properties.Timeout).toBe(90);
  });

  it('reserves the smallest incidents.concurrency bound as the timeline function concurrency', () => {
    // Prepare
    const fn = stack.incidentTimeline.worker.function;

    // Assess
    expect(
      resources[stack.getLogicalId(fn.node.defaultChild as CfnElement)].Properties
        .ReservedConcurrentExecutions,
    ).toBe(3);
  });

  it("expires incidents, deployments and reports in the store after toilless.yaml's retention", () => {
    // Prepare
    const bucket = resources[stack.getLogicalId(stack.store.bucket.node.defaultChild as CfnElement)];

    // Act
    const rules = bucket.Properties.LifecycleConfiguration.Rules.filter((rule: Json) =>
      ['ExpireIncidents', 'ExpireDeployments', 'ExpireReports'].includes(rule.Id),
    );

    // Assess: 36h rounds up to 2 days, 2y is 730 days.
    expect(rules).toEqual([
      { Id: 'ExpireIncidents', Prefix: 'incidents/', ExpirationInDays: 400, Status: 'Enabled' },
      { Id: 'ExpireDeployments', Prefix: 'deployments/', ExpirationInDays: 2, Status: 'Enabled' },
      { Id: 'ExpireReports', Prefix: 'reports/', ExpirationInDays: 730, Status: 'Enabled' },
    ]);
  });

  it('hands each processor the addresses of the LGTM services it uses, and only those', () => {
    // Prepare
    const timeline = environmentOf(stack.incidentTimeline.worker.function);
    const dora = environmentOf(stack.doraMetrics.worker.function);

    // Assess
    expect(timeline).toMatchObject({
      PROMETHEUS_URL: 'https://prometheus.lgtm.example.com',
      LOKI_URL: 'https://loki.lgtm.example.com',
      TEMPO_URL: 'https://tempo.lgtm.example.com',
      GRAFANA_URL: 'https://grafana.lgtm.example.com',
    });
    // Its own metrics go to the remote-write receiver; dora-metrics writes there and queries nothing.
    expect(timeline.PROMETHEUS_REMOTE_WRITE_URL).toBe('https://prometheus.lgtm.example.com/api/v1/write');
    expect(dora).toMatchObject({
      PROMETHEUS_REMOTE_WRITE_URL: 'https://prometheus.lgtm.example.com/api/v1/write',
      GRAFANA_URL: 'https://grafana.lgtm.example.com',
    });
    expect(dora).not.toHaveProperty('PROMETHEUS_URL');
    expect(dora).not.toHaveProperty('LOKI_URL');
    expect(dora).not.toHaveProperty('TEMPO_URL');
  });

  it('refuses a toilless.yaml the workers would refuse, saying what is wrong', () => {
    // Act
    const act = () => workersWith('incidents:\n  sourceBudget: twenty seconds\n');

    // Assess
    expect(act).toThrow(/incidents\.sourceBudget.*expected a duration such as 30s/);
  });

  it('refuses an LGTM address that Lambda cannot reach', () => {
    // Act
    const act = () => workersWith('{}\n', { observability: { lokiUrl: 'http://localhost:3100' } });

    // Assess
    expect(act).toThrow(/observability\.lokiUrl "http:\/\/localhost:3100" points at the function itself/);
  });

  it("gives the processors the external services of toilless.yaml when the stack's own is off, outside any VPC", () => {
    // Prepare
    const stackConfig = mkdtempSync(join(outdir, 'external-'));
    writeFileSync(
      join(stackConfig, 'toilless.yaml'),
      [
        'observability:',
        '  enabled: false',
        '  external:',
        '    prometheusUrl: https://prometheus.example.net',
        '    lokiUrl: https://logs.example.net',
        '',
      ].join('\n'),
    );
    writeFileSync(join(stackConfig, 'slos.yaml'), 'services: {}\n');
    mkdirSync(join(stackConfig, 'grafana', 'dashboards'), { recursive: true });

    // Act
    const built = buildApp({
      outdir: mkdtempSync(join(outdir, 'cdk-out-')),
      context: { ...cdkContext(), 'aws:cdk:bundling-stacks': [] },
      workers: { stackConfigDir: stackConfig },
      observability: { stackConfigDir: stackConfig },
    });

    // Assess
    expect(built.observability).toBeUndefined();
    const template = Template.fromStack(built.workers).toJSON().Resources;
    const timeline =
      template[
        built.workers.getLogicalId(
          built.workers.incidentTimeline.worker.function.node.defaultChild as CfnElement,
        )
      ];
    expect(timeline.Properties.Environment.Variables).toMatchObject({
      PROMETHEUS_URL: 'https://prometheus.example.net',
      LOKI_URL: 'https://logs.example.net',
    });
    expect(timeline.Properties.Environment.Variables).not.toHaveProperty('TEMPO_URL');
    expect(timeline.Properties).not.toHaveProperty('VpcConfig');
    // The intakes push their metrics to the external receiver, with its credentials, outside any VPC.
    for (const intake of [built.workers.alertmanagerWebhook, built.workers.githubWebhook]) {
      const properties =
        template[built.workers.getLogicalId(intake.function.node.defaultChild as CfnElement)].Properties;
      expect(properties).not.toHaveProperty('VpcConfig');
      expect(properties.Environment.Variables).toMatchObject({
        PROMETHEUS_REMOTE_WRITE_URL: 'https://prometheus.example.net/api/v1/write',
        PROMETHEUS_AUTH_ARN: expect.anything(),
      });
    }
    expect(built.workers.alertmanagerReceiver).toBeUndefined();
  });

  it('refuses external services next to the stack this app deploys, saying which to choose', () => {
    // Prepare
    const stackConfig = mkdtempSync(join(outdir, 'both-'));
    writeFileSync(
      join(stackConfig, 'toilless.yaml'),
      'observability:\n  external:\n    lokiUrl: https://logs.example.net\n',
    );

    // Act and Assess
    expect(() => buildApp({ observability: { stackConfigDir: stackConfig } })).toThrow(
      /observability.external names your own services: set observability.enabled: false with it/,
    );
  });
});
