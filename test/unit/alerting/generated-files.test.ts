import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  existingSloRuleFiles,
  linksTemplateFile,
  sloRuleFiles,
} from '../../../functions/alerting/generated-files.js';
import { renderLinksTemplate } from '../../../functions/alerting/links-template.js';
import { loadSloDefinitions } from '../../../functions/shared/slo-definitions.js';
import { loadToillessConfig, parseToillessConfig } from '../../../functions/shared/stack-config.js';

const stackConfig = join(import.meta.dirname, '..', '..', '..', 'stack-config');
const regenerate = 'out of date: run `npm run generate` (or `toilless check --fix`) and commit the result';

describe('Generated stack-config files', () => {
  it('has committed SLO rule files up to date with slos.yaml', () => {
    // Prepare
    const expected = sloRuleFiles(loadSloDefinitions(stackConfig));

    // Act
    const committed = existingSloRuleFiles(stackConfig);

    // Assess
    expect(committed, 'SLO rule files present vs generated').toEqual(
      expected.map((file) => file.path).sort(),
    );
    for (const file of expected) {
      expect(
        readFileSync(join(stackConfig, file.path), 'utf8'),
        `stack-config/${file.path} ${regenerate}`,
      ).toBe(file.content);
    }
  });

  it('has a committed links.tmpl up to date with toilless.yaml', () => {
    // Prepare
    const expected = linksTemplateFile(loadToillessConfig(stackConfig));

    // Act
    const committed = readFileSync(join(stackConfig, expected.path), 'utf8');

    // Assess
    expect(committed, `stack-config/${expected.path} ${regenerate}`).toBe(expected.content);
  });

  it('defines the link bases without trailing slashes, as the Slack template adds the separator', () => {
    // Prepare
    const config = parseToillessConfig(
      'links:\n  grafanaUrl: https://grafana.example.com/\n  runbooksUrl: https://github.com/acme/ops/blob/main/stack-config/\n',
    );

    // Act
    const template = renderLinksTemplate(config.links);

    // Assess
    expect(template).toContain('{{ define "toilless.grafanaUrl" }}https://grafana.example.com{{ end }}');
    expect(template).toContain(
      '{{ define "toilless.runbooksUrl" }}https://github.com/acme/ops/blob/main/stack-config{{ end }}',
    );
  });
});
