import { rm } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { daysBetween, IncidentWatch, MAX_TIMELINE_BYTES } from '../../../bin/gameday/incident-watch.js';
import { FsObjectStore } from '../../../functions/shared/adapters/local/fs-object-store.js';
import { createTempDir } from '../../support/process.js';

let dir: string;
let store: FsObjectStore;

beforeEach(async () => {
  dir = await createTempDir('gameday-incidents');
  store = new FsObjectStore(dir);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function timeline(id: string, alertname: string, extra: Record<string, unknown> = {}) {
  return JSON.stringify({
    schemaVersion: 1,
    id,
    status: 'open',
    title: `${alertname} on sample-app`,
    service: 'sample-app',
    severity: 'warning',
    startedAt: '2026-12-06T10:06:00.000Z',
    alerts: [{ alertname, status: 'firing', labels: { alertname, service: 'sample-app' }, fingerprint: 'f' }],
    events: [],
    slack: { thread: { channel: 'C1', ts: '1796556360.000100' }, pending: [] },
    ...extra,
  });
}

describe('incidents as the game day reads them', () => {
  const since = new Date('2026-12-06T10:00:00Z');
  const now = new Date('2026-12-06T10:30:00Z');

  it('finds the incident holding the alert, and reports documents it could not use instead of failing', async () => {
    // Prepare
    await store.put(
      'incidents/20261206T1006-sample-app-0a1b2c3d/timeline.json',
      timeline('20261206T1006-sample-app-0a1b2c3d', 'HighLatencyP95'),
    );
    await store.put(
      'incidents/20261206T1001-node-11112222/timeline.json',
      timeline('20261206T1001-node-11112222', 'HighCPUWarning'),
    );
    await store.put('incidents/20261206T1002-node-33334444/timeline.json', '{ not json');
    await store.put('incidents/20261206T1003-node-55556666/timeline.json', JSON.stringify({ id: 3 }));
    await store.put(
      'incidents/20261206T1004-node-77778888/timeline.json',
      ' '.repeat(MAX_TIMELINE_BYTES + 1),
    );
    await store.put('incidents/groups/abc.json', '{}');

    // Act
    const problems: string[] = [];
    const found = await new IncidentWatch(store).find(
      since,
      now,
      (incident) => incident.alerts.some((alert) => alert.alertname === 'HighLatencyP95'),
      problems,
    );

    // Assess
    expect(found.map((incident) => incident.id)).toEqual(['20261206T1006-sample-app-0a1b2c3d']);
    expect(found[0]?.slack.thread).toEqual({ channel: 'C1', ts: '1796556360.000100' });
    expect(problems).toEqual([
      `incidents/20261206T1004-node-77778888/timeline.json is larger than ${MAX_TIMELINE_BYTES} bytes: not read`,
      expect.stringMatching(
        /^incidents\/20261206T1003-node-55556666\/timeline\.json is not an incident timeline: /,
      ),
      'incidents/20261206T1002-node-33334444/timeline.json is not JSON',
    ]);
  });

  it('reads an incident by id, and nothing for an id that is not one', async () => {
    await store.put(
      'incidents/20261206T1006-sample-app-0a1b2c3d/timeline.json',
      timeline('20261206T1006-sample-app-0a1b2c3d', 'HighLatencyP95'),
    );
    const watch = new IncidentWatch(store);
    expect((await watch.get('20261206T1006-sample-app-0a1b2c3d'))?.service).toBe('sample-app');
    expect(await watch.get('../../etc/passwd')).toBeUndefined();
  });

  it('looks at the days incident ids can start with, from two days before the trigger', () => {
    expect(daysBetween(new Date('2026-12-04T10:00:00Z'), new Date('2026-12-06T00:30:00Z'))).toEqual([
      '20261204',
      '20261205',
      '20261206',
    ]);
  });
});
