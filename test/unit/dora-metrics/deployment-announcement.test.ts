import { describe, expect, it } from 'vitest';
import {
  deploymentRecordedEvent,
  isAnnotatedDeployment,
} from '../../../functions/dora-metrics/deployment-announcement.js';
import type { DeploymentRecord } from '../../../functions/dora-metrics/model.js';
import { parseToillessConfig } from '../../../functions/shared/stack-config.js';

const config = parseToillessConfig(
  [
    'services:',
    '  checkout:',
    '    repositories: [acme/checkout-api]',
    '  cart:',
    '    repositories: [ACME/Checkout-API]',
  ].join('\n'),
);

function record(overrides: Partial<DeploymentRecord> = {}): DeploymentRecord {
  return {
    schemaVersion: 1,
    repository: 'acme/checkout-api',
    environment: 'production',
    deploymentId: '1234',
    source: 'deployment',
    sha: 'a'.repeat(40),
    ref: 'main',
    createdAt: '2026-11-26T09:00:00.000Z',
    production: true,
    statuses: [],
    outcome: 'success',
    finishedAt: '2026-11-26T09:05:00.000Z',
    attributedIncidents: [],
    announced: [],
    ...overrides,
  };
}

describe('DeploymentRecorded announcements', () => {
  it('announces a finished deployment with an id naming its outcome, and the services it deploys', () => {
    // Act
    const event = deploymentRecordedEvent(config, record());

    // Assess
    expect(event).toEqual({
      id: 'deployment:acme/checkout-api:production:1234:success',
      type: 'DeploymentRecorded',
      time: '2026-11-26T09:05:00.000Z',
      detail: {
        repository: 'acme/checkout-api',
        environment: 'production',
        deploymentId: '1234',
        sha: 'a'.repeat(40),
        status: 'success',
        production: true,
        finishedAt: '2026-11-26T09:05:00.000Z',
        services: ['cart', 'checkout'],
      },
    });
  });

  it('announces nothing while the deployment is pending', () => {
    // Prepare
    const { finishedAt: _unset, ...unfinished } = record();

    // Act
    const pending = deploymentRecordedEvent(config, record({ outcome: 'pending' }));
    const notFinished = deploymentRecordedEvent(config, unfinished);

    // Assess
    expect(pending).toBeUndefined();
    expect(notFinished).toBeUndefined();
  });

  it('announces an outcome once, and a later different outcome again under its own id', () => {
    // Act
    const again = deploymentRecordedEvent(config, record({ announced: ['success'] }));
    const recovered = deploymentRecordedEvent(config, record({ announced: ['failure'] }));
    const failed = deploymentRecordedEvent(config, record({ outcome: 'failure', announced: ['success'] }));

    // Assess
    expect(again).toBeUndefined();
    expect(recovered?.id).toBe('deployment:acme/checkout-api:production:1234:success');
    expect(failed?.id).toBe('deployment:acme/checkout-api:production:1234:failure');
    expect(failed?.detail.status).toBe('failure');
  });

  it('announces a deployment of a repository no service maps with no services', () => {
    // Act
    const event = deploymentRecordedEvent(config, record({ repository: 'acme/tools' }));

    // Assess
    expect(event?.detail.services).toEqual([]);
  });

  it('annotates successful production deployments only', () => {
    // Act & Assess
    expect(isAnnotatedDeployment(record())).toBe(true);
    expect(isAnnotatedDeployment(record({ outcome: 'failure' }))).toBe(false);
    expect(isAnnotatedDeployment(record({ production: false, environment: 'staging' }))).toBe(false);
  });
});
