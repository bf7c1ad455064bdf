import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkStackConfig, type Defect } from '../../../functions/alerting/check.js';
import { STACK_CONFIG } from '../../support/dashboards.js';
import { useStackConfigCopies } from '../../support/stack-config-copy.js';

const stackConfigCopies = useStackConfigCopies('toilless-dashboards-check-');

/** Only the dashboard defects: without promtool and amtool on the path the check is fast. */
async function dashboardDefects(dir: string, fix = false): Promise<Defect[]> {
  const defects = await checkStackConfig(dir, { searchPath: '', fix });
  return defects.filter(
    (defect) => defect.file.startsWith('stack-config/grafana/') || defect.message.includes('dashboard_url'),
  );
}

describe('toilless check on the dashboards', () => {
  it('accepts the shipped dashboards', async () => {
    // Prepare
    const copy = await stackConfigCopies.copy();

    // Act
    const defects = await dashboardDefects(copy);

    // Assess
    expect(defects).toEqual([]);
  });

  it('reports a dashboard edited by hand, one that is missing, and one whose SLOs changed', async () => {
    // Prepare
    const copy = await stackConfigCopies.copy();
    const node = join(copy, 'grafana', 'dashboards', 'node-exporter.json');
    await writeFile(node, (await readFile(node, 'utf8')).replace('"CPU busy (total)"', '"CPU"'));
    await rm(join(copy, 'grafana', 'dashboards', 'toilless.json'));
    const slos = join(copy, 'slos.yaml');
    await writeFile(slos, (await readFile(slos, 'utf8')).replace('objective: 99\n', 'objective: 99.5\n'));

    // Act
    const all = await dashboardDefects(copy);

    // Assess: the alerts linking to the removed dashboard are reported too.
    const defects = all.filter((defect) => !defect.file.startsWith('stack-config/prometheus/'));
    expect([...new Set(all.filter((defect) => !defects.includes(defect)).map((d) => d.file))]).toEqual([
      'stack-config/prometheus/rules/toilless.yml',
    ]);
    expect(defects).toEqual([
      {
        file: 'stack-config/grafana/dashboards/node-exporter.json',
        message: expect.stringMatching(/^out of date with toilless\.yaml .*npm run generate/),
      },
      {
        file: 'stack-config/grafana/dashboards/slo-error-budget.json',
        message: expect.stringMatching(/^out of date with slos\.yaml and toilless\.yaml .*npm run generate/),
      },
      {
        file: 'stack-config/grafana/dashboards/toilless.json',
        message: expect.stringMatching(/^missing: it is generated from toilless\.yaml/),
      },
    ]);
  });

  it('reports a dashboard_url that names no shipped dashboard, or a variable or panel it lacks', async () => {
    // Prepare
    const copy = await stackConfigCopies.copy();
    const rules = join(copy, 'prometheus', 'rules');
    const dora = join(rules, 'dora.yml');
    await writeFile(
      dora,
      (await readFile(dora, 'utf8')).replace('"/d/dora-metrics/dora-metrics"', '"/d/dora/dora"'),
    );
    const latency = join(rules, 'latency.yml');
    await writeFile(
      latency,
      (await readFile(latency, 'utf8')).replace('?var-service=', '?viewPanel=999&var-service='),
    );
    const blackbox = join(rules, 'blackbox.yml');
    await writeFile(
      blackbox,
      (await readFile(blackbox, 'utf8')).replaceAll('?var-instance=', '?var-target='),
    );

    // Act
    const defects = await dashboardDefects(copy);

    // Assess
    expect(defects.map((defect) => `${defect.file}: ${defect.message}`)).toEqual([
      expect.stringMatching(
        /^stack-config\/prometheus\/rules\/blackbox\.yml: alert ProbeFailed .* sets var-target, but dashboard blackbox-exporter has no variable target$/,
      ),
      expect.stringMatching(
        /^stack-config\/prometheus\/rules\/blackbox\.yml: alert SSLCertExpiringSoon .* var-target/,
      ),
      expect.stringMatching(
        /^stack-config\/prometheus\/rules\/dora\.yml: alert HighChangeFailureRate .* names dashboard uid dora, which no file in stack-config\/grafana\/dashboards has: use one of blackbox-exporter, dora-metrics, /,
      ),
      expect.stringMatching(
        /^stack-config\/prometheus\/rules\/latency\.yml: alert HighLatencyP95 .* shows panel 999, which dashboard unified-observability does not have$/,
      ),
    ]);
  });

  it('rewrites stale dashboards with --fix', async () => {
    // Prepare
    const copy = await stackConfigCopies.copy();
    await rm(join(copy, 'grafana', 'dashboards'), { recursive: true });

    // Act
    const fixing = await dashboardDefects(copy, true);
    const after = await dashboardDefects(copy);

    // Assess
    expect(fixing).toEqual([]);
    expect(after).toEqual([]);
    expect(await readFile(join(copy, 'grafana', 'dashboards', 'dora-metrics.json'), 'utf8')).toBe(
      await readFile(join(STACK_CONFIG, 'grafana', 'dashboards', 'dora-metrics.json'), 'utf8'),
    );
  });
});
