import { describe, expect, it } from 'vitest';
import { kebabCase, runbookPath } from '../../../functions/alerting/rule-conventions.js';
import {
  levelTwoHeadings,
  linkedPaths,
  missingRunbookSections,
} from '../../../functions/alerting/runbooks.js';

const complete = `# FastBurnRate
## What is this alert?
## Why did it fire?
## First 3 investigation steps
## How do I resolve it?
## When do I roll back?
## When do I escalate?
`;

describe('Runbook structure', () => {
  it('accepts a runbook with the six sections', () => {
    // Assess
    expect(missingRunbookSections(complete)).toEqual([]);
  });

  it('does not count headings inside code blocks or of another level', () => {
    // Prepare
    const markdown = complete
      .replace('## When do I roll back?', '```sh\n## When do I roll back?\n```')
      .replace('## When do I escalate?', '### When do I escalate?');

    // Act
    const missing = missingRunbookSections(markdown);

    // Assess
    expect(missing).toEqual(['When do I roll back?', 'When do I escalate?']);
  });

  it('reads closing hashes as heading decoration', () => {
    // Assess
    expect(levelTwoHeadings('## Why did it fire? ##\n')).toEqual(['Why did it fire?']);
  });

  it('resolves relative links against the runbook and drops anchors and web links', () => {
    // Prepare
    const markdown =
      'See the [policy](error-budget-policy.md#freeze), [rules](../prometheus/rules/slo-sample-app.yml) ' +
      'and [SRE book](https://sre.google/workbook/alerting-on-slos/).\n\n[ref]: ./other.md\n';

    // Act
    const links = linkedPaths(markdown, 'runbooks/fast-burn-rate.md');

    // Assess
    expect(links).toEqual([
      'runbooks/error-budget-policy.md',
      'prometheus/rules/slo-sample-app.yml',
      'runbooks/other.md',
    ]);
  });
});

describe('Alert runbook_url', () => {
  it('names runbooks after the alert in kebab case', () => {
    // Assess
    expect(kebabCase('FastBurnRate')).toBe('fast-burn-rate');
    expect(kebabCase('HighCPUWarning')).toBe('high-cpu-warning');
    expect(kebabCase('SSLCertExpiringSoon')).toBe('ssl-cert-expiring-soon');
  });

  it('must stay inside stack-config', () => {
    // Assess
    expect(runbookPath('runbooks/fast-burn-rate.md')).toBe('runbooks/fast-burn-rate.md');
    expect(runbookPath('../README.md')).toBeUndefined();
    expect(runbookPath('https://wiki.example.com/runbook')).toBeUndefined();
    expect(runbookPath('/runbooks/fast-burn-rate.md')).toBeUndefined();
  });
});
