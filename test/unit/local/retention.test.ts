import { mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { groupPointerKey, timelineKey } from '../../../functions/incident-timeline/incident-identity.js';
import { incidentExpired, LocalRetention } from '../../../functions/local/retention.js';
import { FsObjectStore } from '../../../functions/shared/adapters/local/fs-object-store.js';
import { silentLogger } from '../../../functions/shared/log.js';
import { parseToillessConfig } from '../../../functions/shared/stack-config.js';

const NOW = new Date('2026-12-01T12:00:00Z');
const DAY = 86_400_000;
const clock = { now: () => NOW, sleep: async () => {} };

describe('Local retention', () => {
  let dir: string;
  let store: FsObjectStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'toilless-retention-'));
    store = new FsObjectStore(dir);
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const retention = (yaml: string) =>
    new LocalRetention({ store, config: parseToillessConfig(yaml), logger: silentLogger, clock });

  async function incident(id: string, status: 'open' | 'resolved', resolvedDaysAgo?: number) {
    const timeline = {
      schemaVersion: 1,
      id,
      status,
      ...(resolvedDaysAgo === undefined
        ? {}
        : { resolvedAt: new Date(NOW.getTime() - resolvedDaysAgo * DAY).toISOString() }),
    };
    await store.put(timelineKey(id), JSON.stringify(timeline));
    await store.put(`incidents/${id}/timeline.md`, `# ${id}\n`);
    await store.put(
      groupPointerKey(`group-of-${id}`),
      JSON.stringify({ groupKey: `group-of-${id}`, incidentId: id }),
    );
  }

  async function age(key: string, days: number) {
    const at = new Date(NOW.getTime() - days * DAY);
    await utimes(join(dir, ...key.split('/')), at, at);
  }

  async function keys(prefix: string) {
    const found: string[] = [];
    for await (const key of store.list(prefix)) found.push(key);
    return found;
  }

  it('keeps everything when every period is forever (the default)', async () => {
    await incident('old-resolved', 'resolved', 900);
    await store.put('deployments/acme/app/production/1.json', '{}');
    await age('deployments/acme/app/production/1.json', 900);
    const pruner = retention('');

    const counts = await pruner.prune();

    expect(pruner.enabled).toBe(false);
    expect(counts).toEqual({ incidents: 0, deployments: 0, reports: 0, deadLetters: 0 });
    expect(await keys('')).toHaveLength(4);
  });

  it('deletes incidents resolved before the period, and never an open one however old', async () => {
    await incident('resolved-long-ago', 'resolved', 40);
    await incident('resolved-lately', 'resolved', 10);
    await incident('open-for-ages', 'open');
    await age(timelineKey('open-for-ages'), 400);
    await age(groupPointerKey('group-of-resolved-long-ago'), 40);

    const counts = await retention('retention:\n  incidents: 30d\n').prune();

    expect(await keys('incidents/resolved-long-ago/')).toEqual([]);
    expect(await keys('incidents/resolved-lately/')).toHaveLength(2);
    expect(await keys('incidents/open-for-ages/')).toHaveLength(2);
    expect(await store.get(groupPointerKey('group-of-resolved-long-ago'))).toBeUndefined();
    expect(await store.get(groupPointerKey('group-of-resolved-lately'))).toBeDefined();
    expect(counts.incidents).toBe(3);
  });

  it('keeps a group pointer written within the period even when its incident is gone', async () => {
    await incident('resolved-long-ago', 'resolved', 40);

    await retention('retention:\n  incidents: 30d\n').prune();

    expect(await keys('incidents/resolved-long-ago/')).toEqual([]);
    expect(await store.get(groupPointerKey('group-of-resolved-long-ago'))).toBeDefined();
  });

  it('prunes the deploy index by the finish time in its keys', async () => {
    await store.put('incidents/deploys/sample-app/2026-09-01T10-00-00Z-0123456789ab.json', '{}');
    await store.put('incidents/deploys/sample-app/2026-11-25T10-00-00Z-0123456789ab.json', '{}');

    await retention('retention:\n  incidents: 30d\n').prune();

    expect(await keys('incidents/deploys/')).toEqual([
      'incidents/deploys/sample-app/2026-11-25T10-00-00Z-0123456789ab.json',
    ]);
  });

  it('prunes deployments, reports and dead letters by their last write, each by its own period', async () => {
    for (const [key, days] of [
      ['deployments/acme/app/production/1.json', 100],
      ['deployments/acme/app/production/2.json', 20],
      ['reports/2026-W10/report.pdf', 100],
      ['dead-letter/incident-timeline/e1.json', 100],
      ['dead-letter/incident-timeline/e2.json', 3],
    ] as const) {
      await store.put(key, '{}');
      await age(key, days);
    }

    const counts = await retention(
      'retention:\n  deployments: 90d\n  deadLetters: 7d\n  incidents: 1y\n',
    ).prune();

    expect(await keys('')).toEqual([
      'dead-letter/incident-timeline/e2.json',
      'deployments/acme/app/production/2.json',
      'reports/2026-W10/report.pdf',
    ]);
    expect(counts).toEqual({ incidents: 0, deployments: 1, reports: 0, deadLetters: 1 });
  });

  it('keeps an incident whose timeline cannot be read', async () => {
    await store.put(timelineKey('broken'), '{ not json');

    await retention('retention:\n  incidents: 1d\n').prune();

    expect(await store.get(timelineKey('broken'))).toBeDefined();
  });

  it('prunes on start, and stop waits for the prune under way', async () => {
    await incident('resolved-long-ago', 'resolved', 40);
    const pruner = retention('retention:\n  incidents: 30d\n');

    pruner.start();
    await pruner.stop();

    expect(await keys('incidents/resolved-long-ago/')).toEqual([]);
  });
});

describe('incidentExpired', () => {
  const cutoff = Date.parse('2026-11-01T00:00:00Z');

  it('is true only for an incident resolved before the cutoff', () => {
    expect(incidentExpired({ status: 'resolved', resolvedAt: '2026-10-31T23:59:59Z' }, cutoff)).toBe(true);
    expect(incidentExpired({ status: 'resolved', resolvedAt: '2026-11-01T00:00:01Z' }, cutoff)).toBe(false);
    expect(incidentExpired({ status: 'open', resolvedAt: '2020-01-01T00:00:00Z' }, cutoff)).toBe(false);
    expect(incidentExpired({ status: 'resolved', resolvedAt: 'yesterday' }, cutoff)).toBe(false);
    expect(incidentExpired({ status: 'resolved' }, cutoff)).toBe(false);
  });
});

describe('retention in toilless.yaml', () => {
  it('refuses a period under a day, saying what it takes', () => {
    expect(() => parseToillessConfig('retention:\n  incidents: 12h\n')).toThrow(
      /retention\.incidents.*"forever" or a duration of at least 1d/,
    );
  });
});
