import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  deployIndexKey,
  finishedAtOfKey,
  recordDeployment,
} from '../../../../functions/incident-timeline/deploy-index.js';
import { gatherDeploymentEvidence } from '../../../../functions/incident-timeline/sources/deployments.js';
import { SourceFindings } from '../../../../functions/incident-timeline/sources/findings.js';
import { FsObjectStore } from '../../../../functions/shared/adapters/local/fs-object-store.js';
import type { DeploymentRecordedDetail, ToillessEvent } from '../../../../functions/shared/events/types.js';
import { evidenceRequest } from './incident-data.js';

const ONSET = new Date('2026-11-28T08:38:53Z');
const TWO_HOURS = 2 * 3_600_000;

function deployment(overrides: Partial<DeploymentRecordedDetail>): ToillessEvent<'DeploymentRecorded'> {
  const detail: DeploymentRecordedDetail = {
    repository: 'acme/shop',
    environment: 'production',
    deploymentId: '1001',
    sha: '1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b',
    status: 'success',
    production: true,
    finishedAt: '2026-11-28T08:20:00Z',
    services: ['sample-app'],
    ...overrides,
  };
  return {
    id: `deploy:${detail.deploymentId}:${detail.status}`,
    type: 'DeploymentRecorded',
    time: detail.finishedAt,
    detail,
  };
}

describe('Deployment index', () => {
  let dir: string;
  let store: FsObjectStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'toilless-deploy-index-'));
    store = new FsObjectStore(dir);
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function keys(): Promise<string[]> {
    const found: string[] = [];
    for await (const key of store.list('incidents/deploys/')) found.push(key);
    return found;
  }

  it('writes one entry per service, named by finish time and a hash of the deployment', async () => {
    const event = deployment({
      services: ['sample-app', 'checkout'],
      finishedAt: '2026-11-28T08:20:07.512Z',
    });

    const recorded = await recordDeployment(store, event);

    expect(recorded.written).toEqual([
      expect.stringMatching(/^incidents\/deploys\/sample-app\/2026-11-28T08-20-07Z-[0-9a-f]{12}\.json$/),
      expect.stringMatching(/^incidents\/deploys\/checkout\/2026-11-28T08-20-07Z-[0-9a-f]{12}\.json$/),
    ]);
    expect(finishedAtOfKey(recorded.written[0] ?? '')).toEqual(new Date('2026-11-28T08:20:07Z'));
    const stored = await store.get(recorded.written[0] ?? '');
    expect(JSON.parse(stored?.body.toString() ?? '')).toEqual(event.detail);
  });

  it('is idempotent: a redelivered event writes nothing new', async () => {
    const event = deployment({});

    const first = await recordDeployment(store, event);
    const again = await recordDeployment(store, { ...event, id: 'another-delivery' });

    expect(again).toEqual({ written: [], existing: first.written, skipped: [] });
    expect(await keys()).toEqual(first.written);
  });

  it('keeps a failure and a success of the same deployment apart', () => {
    const success = deployIndexKey('sample-app', deployment({}).detail);
    const failure = deployIndexKey('sample-app', deployment({ status: 'failure' }).detail);

    expect(success).not.toBe(failure);
  });

  it('skips a service name that cannot be a key segment', async () => {
    const recorded = await recordDeployment(store, deployment({ services: ['../etc', 'sample-app'] }));

    expect(recorded.skipped).toEqual(['../etc']);
    expect(recorded.written).toHaveLength(1);
  });
});

describe('Deployment evidence', () => {
  let dir: string;
  let store: FsObjectStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'toilless-deploy-evidence-'));
    store = new FsObjectStore(dir);
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function gather(lookbackMs = TWO_HOURS) {
    const findings = new SourceFindings();
    await gatherDeploymentEvidence(
      evidenceRequest({
        onset: ONSET,
        from: new Date('2026-11-28T08:08:53Z'),
        to: new Date('2026-11-28T09:10:00Z'),
      }),
      new AbortController().signal,
      findings,
      { store, lookbackMs },
    );
    return { events: findings.events(), problems: findings.problems };
  }

  it('says how many minutes before onset each deployment finished, the latest one the first suspect', async () => {
    // Prepare, onset 08:38:53:
    //   08:20:00 -> 18 min 53 s before -> 19 minutes (the latest before onset)
    //   06:50:00 -> 108 min 53 s before -> 109 minutes (within 2 h)
    //   06:30:00 -> 128 min 53 s before: outside the 2 h lookback
    //   08:45:10 -> 6 min 17 s after -> 6 minutes after onset
    //   previous day 23:50 -> outside
    await recordDeployment(store, deployment({ deploymentId: '1', finishedAt: '2026-11-28T08:20:00Z' }));
    await recordDeployment(
      store,
      deployment({
        deploymentId: '2',
        finishedAt: '2026-11-28T06:50:00Z',
        sha: 'abcdef0123456789abcdef0123456789abcdef01',
      }),
    );
    await recordDeployment(store, deployment({ deploymentId: '3', finishedAt: '2026-11-28T06:30:00Z' }));
    await recordDeployment(
      store,
      deployment({ deploymentId: '4', finishedAt: '2026-11-28T08:45:10Z', sha: '9999999aaaaaaa' }),
    );
    await recordDeployment(store, deployment({ deploymentId: '5', finishedAt: '2026-11-27T23:50:00Z' }));

    // Act
    const { events, problems } = await gather();

    // Assess
    expect(problems).toEqual([]);
    expect(events.map((event) => [event.at, event.relevance, event.summary])).toEqual([
      [
        '2026-11-28T06:50:00.000Z',
        'normal',
        'acme/shop abcdef0 deployed to production 109 minutes before onset',
      ],
      [
        '2026-11-28T08:20:00.000Z',
        'high',
        'acme/shop 1a2b3c4 deployed to production 19 minutes before onset',
      ],
      ['2026-11-28T08:45:10.000Z', 'low', 'acme/shop 9999999 deployed to production 6 minutes after onset'],
    ]);
    expect(events[1]?.links).toEqual([
      {
        title: 'Commit 1a2b3c4',
        url: 'https://github.com/acme/shop/commit/1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b',
      },
    ]);
    expect(events[1]?.details).toMatchObject({ minutesBeforeOnset: 19, suspect: true });
  });

  it('flags a failed deployment', async () => {
    await recordDeployment(store, deployment({ status: 'failure', finishedAt: '2026-11-28T08:37:53Z' }));

    const { events } = await gather();

    expect(events.map((event) => event.summary)).toEqual([
      'acme/shop 1a2b3c4 failed to deploy to production 1 minute before onset',
    ]);
    expect(events[0]?.relevance).toBe('high');
  });

  it('suspects the latest production deployment before a later staging one', async () => {
    await recordDeployment(store, deployment({ deploymentId: '7', finishedAt: '2026-11-28T08:10:00Z' }));
    await recordDeployment(
      store,
      deployment({
        deploymentId: '8',
        environment: 'staging',
        production: false,
        finishedAt: '2026-11-28T08:38:40Z',
      }),
    );

    const { events } = await gather();

    expect(events.map((event) => [event.summary, event.relevance])).toEqual([
      ['acme/shop 1a2b3c4 deployed to production 29 minutes before onset', 'high'],
      ['acme/shop 1a2b3c4 deployed to staging less than a minute before onset', 'normal'],
    ]);
  });

  it('finds deployments of the day before when the lookback crosses midnight', async () => {
    await recordDeployment(store, deployment({ finishedAt: '2026-11-27T23:30:00Z' }));
    const findings = new SourceFindings();

    await gatherDeploymentEvidence(
      evidenceRequest({ onset: new Date('2026-11-28T00:15:00Z'), to: new Date('2026-11-28T00:30:00Z') }),
      new AbortController().signal,
      findings,
      { store, lookbackMs: TWO_HOURS },
    );

    expect(findings.events().map((event) => event.summary)).toEqual([
      'acme/shop 1a2b3c4 deployed to production 45 minutes before onset',
    ]);
  });

  it('reports an index entry that is not a deployment record, and keeps the others', async () => {
    await recordDeployment(store, deployment({}));
    await store.put(
      'incidents/deploys/sample-app/2026-11-28T08-30-00Z-0123456789ab.json',
      '{"repository":"acme/shop"}',
    );

    const { events, problems } = await gather();

    expect(events).toHaveLength(1);
    expect(problems.map((problem) => (problem as Error).message)).toEqual([
      'deployments: incidents/deploys/sample-app/2026-11-28T08-30-00Z-0123456789ab.json is not a deployment record (environment: Invalid input: expected string, received undefined)',
    ]);
  });
});
