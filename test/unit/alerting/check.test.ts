import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkStackConfig, type Defect, formatDefects } from '../../../functions/alerting/check.js';
import { editCopiedFile, useStackConfigCopies } from '../../support/stack-config-copy.js';

/** A full check runs every promtool unit test (hours of simulated traffic): tens of seconds when busy. */
const FULL_CHECK_TIMEOUT_MS = 300_000;

const stackConfigCopies = useStackConfigCopies('toilless-check-test-');

function linesFor(defects: readonly Defect[], file: string): string[] {
  return formatDefects(defects.filter((defect) => defect.file === file)).split('\n');
}

describe('toilless check on the shipped stack-config', () => {
  it(
    'finds nothing wrong',
    async () => {
      // Prepare
      const copy = await stackConfigCopies.copy();

      // Act
      const defects = await checkStackConfig(copy);

      // Assess
      expect(formatDefects(defects)).toBe('');
    },
    FULL_CHECK_TIMEOUT_MS,
  );
});

describe('toilless check on a broken stack-config', () => {
  let defects: Defect[] = [];

  beforeAll(async () => {
    // Prepare: one copy with one mistake per file, then a single check.
    const copy = await stackConfigCopies.copy();
    await writeFile(
      join(copy, 'prometheus/rules/broken.yml'),
      'groups:\n  - name: broken\n    rules:\n      - record: job:requests:rate5m\n        expr: sum(rate(http_requests_total[5m])\n',
    );
    await writeFile(
      join(copy, 'prometheus/rules/canary.yml'),
      [
        'groups:',
        '  - name: canary',
        '    rules:',
        '      - alert: CanaryFailing',
        '        expr: probe_success{job="canary"} == 0',
        '        labels: {severity: warning, service: canary}',
        '        annotations:',
        '          summary: The canary fails',
        '          description: The synthetic canary request has failed.',
        '          dashboard_url: /d/canary/canary',
        '          runbook_url: runbooks/canary-failing.md',
        '      - alert: CanaryUnowned',
        '        expr: probe_success{job="canary"} == 0',
        '        labels: {severity: warning}',
        '        annotations:',
        '          summary: The canary fails',
        '          dashboard_url: http://localhost:3000/d/canary/canary',
        '          runbook_url: runbooks/fast-burn-rate.md',
        '',
      ].join('\n'),
    );
    await editCopiedFile(join(copy, 'runbooks/fast-burn-rate.md'), (text) =>
      text
        .replace('## When do I roll back?', '## Rolling back')
        .replaceAll('(error-budget-policy.md)', '(#policy)'),
    );
    await editCopiedFile(join(copy, 'slos.yaml'), (text) => text.replace('objective: 95', 'objective: 150'));
    await editCopiedFile(join(copy, 'alertmanager/templates/links.tmpl'), (text) =>
      text.replace('localhost:3000', 'grafana:3000'),
    );

    // Act
    defects = await checkStackConfig(copy);
  }, FULL_CHECK_TIMEOUT_MS);

  it('reports a rule with invalid PromQL under its file', () => {
    // Assess
    expect(linesFor(defects, 'stack-config/prometheus/rules/broken.yml')).toEqual([
      expect.stringMatching(
        /^stack-config\/prometheus\/rules\/broken\.yml: promtool check rules failed: .*parse error/,
      ),
    ]);
  });

  it('reports an alert whose runbook does not exist', () => {
    // Assess
    expect(linesFor(defects, 'stack-config/prometheus/rules/canary.yml')).toContain(
      'stack-config/prometheus/rules/canary.yml: alert CanaryFailing (group canary): runbook_url runbooks/canary-failing.md does not exist: write stack-config/runbooks/canary-failing.md',
    );
  });

  it('reports an alert without the labels and annotations every alert carries', () => {
    // Assess
    expect(linesFor(defects, 'stack-config/prometheus/rules/canary.yml')).toEqual(
      expect.arrayContaining([
        'stack-config/prometheus/rules/canary.yml: alert CanaryUnowned (group canary): missing label service',
        'stack-config/prometheus/rules/canary.yml: alert CanaryUnowned (group canary): missing annotation description',
        expect.stringMatching(
          /^stack-config\/prometheus\/rules\/canary\.yml: alert CanaryUnowned \(group canary\): dashboard_url "http:\/\/localhost:3000\/d\/canary\/canary" must be a Grafana path starting with \/d\//,
        ),
      ]),
    );
  });

  it('reports a runbook missing a section, and a burn-rate runbook not linking the budget policy', () => {
    // Assess
    expect(linesFor(defects, 'stack-config/runbooks/fast-burn-rate.md')).toEqual([
      expect.stringMatching(
        /^stack-config\/runbooks\/fast-burn-rate\.md: missing section "## When do I roll back\?"/,
      ),
      'stack-config/runbooks/fast-burn-rate.md: runbook of FastBurnRate does not link to the error budget policy: add a link to error-budget-policy.md',
    ]);
  });

  it('reports an invalid slos.yaml field with its service and SLO', () => {
    // Assess
    expect(linesFor(defects, 'stack-config/slos.yaml')).toEqual([
      'stack-config/slos.yaml: sample-app/latency: objective: must be between 0 and 100 (exclusive)',
    ]);
  });

  it('reports a generated file edited by hand', () => {
    // Assess
    expect(linesFor(defects, 'stack-config/alertmanager/templates/links.tmpl')).toEqual([
      'stack-config/alertmanager/templates/links.tmpl: out of date with toilless.yaml (edited by hand, or toilless.yaml changed since it was generated): run `toilless check --fix` (or `npm run generate`) and commit the result',
    ]);
  });
});

describe('toilless check --fix', () => {
  // Without promtool and amtool on the search path the check is quick, and says what it skipped.
  const noTools = { searchPath: '' };

  it('reports an SLO rule file older than slos.yaml, and rewrites it with fix', async () => {
    // Prepare
    const copy = await stackConfigCopies.copy();
    const rules = join(copy, 'prometheus/rules/slo-sample-app.yml');
    const generated = await readFile(rules, 'utf8');
    await editCopiedFile(join(copy, 'slos.yaml'), (text) =>
      text.replace('objective: 99\n', 'objective: 99.5\n'),
    );

    // Act
    const stale = await checkStackConfig(copy, noTools);
    const fixed = await checkStackConfig(copy, { ...noTools, fix: true });
    const after = await checkStackConfig(copy, noTools);

    // Assess
    expect(linesFor(stale, 'stack-config/prometheus/rules/slo-sample-app.yml')).toEqual([
      'stack-config/prometheus/rules/slo-sample-app.yml: out of date with slos.yaml (edited by hand, or slos.yaml changed since it was generated): run `toilless check --fix` (or `npm run generate`) and commit the result',
    ]);
    expect(
      fixed.filter((defect) => defect.file === 'stack-config/prometheus/rules/slo-sample-app.yml'),
    ).toEqual([]);
    expect(
      after.filter((defect) => defect.file === 'stack-config/prometheus/rules/slo-sample-app.yml'),
    ).toEqual([]);
    const rewritten = await readFile(rules, 'utf8');
    expect(rewritten).not.toBe(generated);
    expect(rewritten).toContain('vector(0.995)');
  });

  it('names the Debian packages when promtool and amtool are missing', async () => {
    // Prepare
    const copy = await stackConfigCopies.copy();

    // Act
    const defects = await checkStackConfig(copy, noTools);

    // Assess
    expect(formatDefects(defects).split('\n')).toEqual([
      expect.stringMatching(
        /^stack-config\/alertmanager: amtool was not found on PATH, .* Debian package prometheus-alertmanager; install it with `npm run test:deps`/,
      ),
      expect.stringMatching(
        /^stack-config\/prometheus: promtool was not found on PATH, .* Debian package prometheus; install it with `npm run test:deps`/,
      ),
    ]);
  });

  it('removes the generated rule file of a service that no longer has SLOs', async () => {
    // Prepare
    const copy = await stackConfigCopies.copy();
    const orphan = join(copy, 'prometheus/rules/slo-retired.yml');
    await writeFile(orphan, await readFile(join(copy, 'prometheus/rules/slo-sample-app.yml'), 'utf8'));

    // Act
    const before = await checkStackConfig(copy, noTools);
    await checkStackConfig(copy, { ...noTools, fix: true });
    const after = await checkStackConfig(copy, noTools);

    // Assess
    expect(linesFor(before, 'stack-config/prometheus/rules/slo-retired.yml')).toEqual([
      'stack-config/prometheus/rules/slo-retired.yml: generated for a service that no longer has SLOs in slos.yaml: delete it, or run `toilless check --fix` (or `npm run generate`) and commit the result',
    ]);
    expect(after.filter((defect) => defect.file.endsWith('slo-retired.yml'))).toEqual([]);
  });
});
