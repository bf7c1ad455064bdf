import { describe, expect, it } from 'vitest';
import { workflowRunEnvironment } from '../../../../functions/dora-metrics/metrics/mapping.js';
import { parseToillessConfig } from '../../../../functions/shared/stack-config.js';

describe('Workflow runs as deployments', () => {
  const defaults = parseToillessConfig('');

  it("deploys production from the repository's default branch, whatever it is called", () => {
    // Act
    const onTrunk = workflowRunEnvironment(defaults, {
      name: 'Deploy',
      headBranch: 'trunk',
      defaultBranch: 'trunk',
    });
    const onMainOfATrunkRepository = workflowRunEnvironment(defaults, {
      name: 'Deploy',
      headBranch: 'main',
      defaultBranch: 'trunk',
    });

    // Assess
    expect(onTrunk).toBe('production');
    expect(onMainOfATrunkRepository).toBeUndefined();
  });

  it('takes main or master as the default branch when the payload does not name it', () => {
    // Act
    const onMain = workflowRunEnvironment(defaults, { name: 'deploy to prod', headBranch: 'main' });
    const onFeature = workflowRunEnvironment(defaults, { name: 'deploy to prod', headBranch: 'feature/x' });

    // Assess
    expect(onMain).toBe('production');
    expect(onFeature).toBeUndefined();
  });

  it('is no deployment when the workflow name does not match dora.deployWorkflows', () => {
    expect(
      workflowRunEnvironment(defaults, { name: 'CI', headBranch: 'main', defaultBranch: 'main' }),
    ).toBeUndefined();
  });

  it('lets branch rules map other branches to other environments, first match wins', () => {
    // Prepare
    const config = parseToillessConfig(
      [
        'dora:',
        '  workflowEnvironments:',
        '    - { branch: ^release/, environment: staging }',
        '    - { defaultBranch: true, environment: production }',
      ].join('\n'),
    );

    // Act
    const release = workflowRunEnvironment(config, {
      name: 'deploy',
      headBranch: 'release/1.2',
      defaultBranch: 'main',
    });
    const main = workflowRunEnvironment(config, {
      name: 'deploy',
      headBranch: 'main',
      defaultBranch: 'main',
    });

    // Assess
    expect(release).toBe('staging');
    expect(main).toBe('production');
  });
});
