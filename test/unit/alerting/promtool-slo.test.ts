import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { renderSloRuleFile } from '../../../functions/alerting/slo-rules.js';
import { parseSloDefinitions } from '../../../functions/shared/slo-definitions.js';
import { requireBinary } from '../../support/binaries.js';

const stackConfig = join(import.meta.dirname, '..', '..', '..', 'stack-config');
const testsDir = join(stackConfig, 'prometheus', 'tests');
const sloTestFiles = (await readdir(testsDir)).filter((name) => /^slo-.+\.test\.yml$/.test(name)).sort();

/** Hours of simulated traffic at one-minute steps take promtool tens of seconds on a busy machine. */
const PROMTOOL_TIMEOUT_MS = 180_000;

interface ToolRun {
  readonly exitCode: number;
  readonly output: string;
}

function promtool(args: readonly string[], cwd: string): Promise<ToolRun> {
  const binary = requireBinary('promtool', 'prometheus');
  return new Promise((resolveRun, reject) => {
    execFile(binary, args, { cwd, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const exitCode = error === null ? 0 : error.code;
      if (typeof exitCode !== 'number') {
        reject(error ?? new Error(`promtool ${args.join(' ')} did not exit`));
        return;
      }
      resolveRun({ exitCode, output: `${stdout}${stderr}` });
    });
  });
}

const tempDirs: string[] = [];

afterEach(async () => {
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'toilless-promtool-slo-'));
  tempDirs.push(dir);
  return dir;
}

const quietService = (minEvents: number) => `
services:
  quiet:
    availability:
      objective: 99
      minEvents: ${minEvents}
      sli:
        type: availability
        metric: http_requests_total
        selector: 'service="quiet"'
        badSelector: 'status_code=~"5.."'
`;

// One request a minute; from 1h on every one fails. The 1h window holds 60 requests.
const quietOutageTest = `
rule_files: [slo-quiet.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'http_requests_total{service="quiet",status_code="200"}'
        values: '0+1x60 60x60'
      - series: 'http_requests_total{service="quiet",status_code="500"}'
        values: '0x60 1+1x59'
    alert_rule_test:
      - eval_time: 90m
        alertname: FastBurnRate
        exp_alerts: EXPECTED
`;

async function quietOutage(minEvents: number, expected: string): Promise<ToolRun> {
  const dir = await tempDir();
  await writeFile(
    join(dir, 'slo-quiet.yml'),
    renderSloRuleFile('quiet', parseSloDefinitions(quietService(minEvents))),
  );
  await writeFile(join(dir, 'quiet.test.yml'), quietOutageTest.replace('EXPECTED', expected));
  return promtool(['test', 'rules', 'quiet.test.yml'], dir);
}

describe('SLO rules under promtool', () => {
  it('has promtool tests for the generated SLO rules', () => {
    // Assess
    expect(sloTestFiles).toContain('slo-sample-app.test.yml');
  });

  it.each(sloTestFiles)(
    '%s passes promtool test rules',
    async (name) => {
      // Act
      const run = await promtool(['test', 'rules', name], testsDir);

      // Assess
      expect(run.exitCode, run.output).toBe(0);
      expect(run.output).toContain('SUCCESS');
    },
    PROMTOOL_TIMEOUT_MS,
  );

  it('generates valid rules for raw SLIs with a minimum of events', async () => {
    // Prepare
    const dir = await tempDir();
    const slos = parseSloDefinitions(`
services:
  mailer:
    delivery:
      objective: 99.5
      period: 28d
      minEvents: 50
      sli:
        type: raw
        errorQuery: sum by (queue) (rate(mail_failed_total[{{window}}]))
        totalQuery: sum(rate(mail_sent_total[{{window}}])) + sum(rate(mail_failed_total[{{window}}]))
`);
    await writeFile(join(dir, 'slo-mailer.yml'), renderSloRuleFile('mailer', slos));

    // Act
    const run = await promtool(['check', 'rules', 'slo-mailer.yml'], dir);

    // Assess
    expect(run.exitCode, run.output).toBe(0);
    expect(run.output).toContain('SUCCESS: 18 rules found');
  });

  it('pages for a total outage of a low-traffic service without minEvents', async () => {
    // Act
    const run = await quietOutage(
      0,
      `
          - exp_labels: {severity: critical, service: quiet, slo: availability}
            exp_annotations:
              summary: 'quiet availability: burning the error budget 50.0x too fast (1h error ratio 50%)'
              description: 'The error ratio of quiet availability (objective 99% over 30d) is above 14.4% (14.4x the 1% budget) over both 1h and 5m, or above 6% (6x) over both 6h and 30m. At 14.4x the whole 30d budget lasts 2.1 days. Follow the error budget policy.'
              dashboard_url: '/d/slo-error-budget/slo-error-budget?var-service=quiet&var-slo=availability'
              runbook_url: runbooks/fast-burn-rate.md`,
    );

    // Assess
    expect(run.exitCode, run.output).toBe(0);
  });

  it('stays silent while the long window has fewer than minEvents events', async () => {
    // Act: 60 requests in the 1h window and 90 in the 6h one, against a minimum of 400.
    const run = await quietOutage(400, '[]');

    // Assess
    expect(run.exitCode, run.output).toBe(0);
  });
});
