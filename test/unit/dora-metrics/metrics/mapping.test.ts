import { describe, expect, it } from 'vitest';
import {
  productionTargetsOf,
  repositoriesOfServices,
  repositoriesSharingServices,
  workflowRunEnvironment,
} from '../../../../functions/dora-metrics/metrics/mapping.js';
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

describe('Repositories, services and production ledgers', () => {
  const config = parseToillessConfig(
    [
      'services:',
      '  checkout:',
      '    repositories: [acme/checkout-api, acme/Checkout-Web]',
      '  payments:',
      '    repositories: [acme/payments]',
    ].join('\n'),
  );
  const targets = [
    { repository: 'acme/checkout-api', environment: 'production' },
    { repository: 'acme/checkout-api', environment: 'staging' },
    { repository: 'acme/checkout-web', environment: 'Production' },
    { repository: 'acme/payments', environment: 'production' },
    { repository: 'acme/unmapped', environment: 'production' },
  ];

  it('finds the repositories that deploy a service the repository deploys, the repository included', () => {
    // Act & Assess
    expect(repositoriesSharingServices(config, 'acme/checkout-api')).toEqual([
      'acme/Checkout-Web',
      'acme/checkout-api',
    ]);
    expect(repositoriesSharingServices(config, 'ACME/CHECKOUT-API')).toEqual([
      'acme/Checkout-Web',
      'acme/checkout-api',
    ]);
    expect(repositoriesSharingServices(config, 'acme/unmapped')).toEqual(['acme/unmapped']);
  });

  it('takes the production targets of the repositories, whatever the case of their names', () => {
    // Act
    const moved = productionTargetsOf(
      config,
      targets,
      repositoriesSharingServices(config, 'acme/checkout-api'),
    );

    // Assess
    expect(moved).toEqual([
      { repository: 'acme/checkout-api', environment: 'production' },
      { repository: 'acme/checkout-web', environment: 'Production' },
    ]);
  });

  it('takes no target for services no repository maps to', () => {
    // Act
    const moved = productionTargetsOf(config, targets, repositoriesOfServices(config, ['search']));

    // Assess
    expect(moved).toEqual([]);
  });
});
