/**
 * GitHub webhooks -> local server -> DORA worker -> remote-write -> the real Prometheus: a scenario of
 * deployments and pushes of acme/shop to production over the last five hours, sent as signed deliveries of
 * GitHub's documented payloads, and the series read back from Prometheus' HTTP API.
 *
 * The scenario, in minutes before now (T), and what it gives by docs/dora.md:
 *   T-300 deployment 1001 of A, success at T-298 ......... first deployment: counts no commits
 *   T-270, T-240 commits c1 and B pushed onto A
 *   T-180 deployment 1002 of B, success at T-175 ......... lead times c1 95 min (5700 s), B 65 min (3900 s)
 *   T-150 commit C pushed onto B
 *   T-120 deployment 1003 of C, failure at T-110 ......... production is failing
 *   T-90  commit D (the fix) pushed onto C
 *   T-70  deployment 1004 of D, success at T-60 .......... lead times C 90 min (5400 s), D 30 min (1800 s);
 *                                                          restored after 50 min (3000 s)
 * 7d window: 3 successes, 1 failure; frequency 3/7 a day (high: > 4/30d, not > 1/1d); lead times 1800, 3900,
 * 5400, 5700 s: p50 rank 2 = 3900 s (high: not < 1h), p90 rank ceil(3.6) = 4 = 5700 s; change failure
 * rate 1/4 (high: > 15%, <= 45%); time to restore 3000 s (elite: < 1h). 30d: frequency 3/30 = 0.1 a day
 * (medium: not > 4/30d, >= 1/30d), the rest as in 7d.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentRecord } from '../../../functions/dora-metrics/model.js';
import { type LocalServer, startLocalServer } from '../../../functions/local/local-server.js';
import { silentLogger } from '../../../functions/shared/log.js';
import {
  type DeploymentFacts,
  deliver,
  deploymentDelivery,
  deploymentStatusDelivery,
  type GitHubDelivery,
  pushDelivery,
} from '../../support/github-deliveries.js';
import { createTempDir } from '../../support/process.js';
import { type RunningPrometheus, startPrometheus } from '../../support/prometheus.js';
import { waitFor } from '../../support/wait.js';
import { storeSnapshot } from './store-snapshot.js';

const SECRET = 'test-secret';
const REPOSITORY = 'acme/shop';
const ENVIRONMENT = 'production';
const MINUTE = 60_000;
const SELECTOR = `repository="${REPOSITORY}",environment="${ENVIRONMENT}"`;

/** A readable 40-hex sha: `sha('c1')` is "c1c1c1...". */
function sha(label: string): string {
  return label.repeat(Math.ceil(40 / label.length)).slice(0, 40);
}

/** The scenario of the file comment, T being `now` rounded down to the second. */
function scenario(now: number): GitHubDelivery[] {
  const at = (minutesBefore: number) => new Date(now - minutesBefore * MINUTE);
  const deployment = (id: number, commit: string, createdMinutesBefore: number): DeploymentFacts => ({
    repository: REPOSITORY,
    id,
    sha: sha(commit),
    environment: ENVIRONMENT,
    createdAt: at(createdMinutesBefore),
  });
  const first = deployment(1001, 'a', 300);
  const second = deployment(1002, 'b', 180);
  const failed = deployment(1003, 'c', 120);
  const fix = deployment(1004, 'd', 70);
  return [
    deploymentDelivery(first),
    deploymentStatusDelivery(first, { id: 2001, state: 'success', at: at(298) }),
    pushDelivery({
      repository: REPOSITORY,
      before: sha('a'),
      after: sha('b'),
      commits: [
        { sha: sha('c1'), authoredAt: at(270) },
        { sha: sha('b'), authoredAt: at(240) },
      ],
    }),
    deploymentDelivery(second),
    deploymentStatusDelivery(second, { id: 2002, state: 'in_progress', at: at(179) }),
    deploymentStatusDelivery(second, { id: 2003, state: 'success', at: at(175) }),
    pushDelivery({
      repository: REPOSITORY,
      before: sha('b'),
      after: sha('c'),
      commits: [{ sha: sha('c'), authoredAt: at(150) }],
    }),
    deploymentDelivery(failed),
    deploymentStatusDelivery(failed, { id: 2004, state: 'failure', at: at(110) }),
    pushDelivery({
      repository: REPOSITORY,
      before: sha('c'),
      after: sha('d'),
      commits: [{ sha: sha('d'), authoredAt: at(90) }],
    }),
    deploymentDelivery(fix),
    deploymentStatusDelivery(fix, { id: 2005, state: 'success', at: at(60) }),
    // GitHub marks the superseded deployment inactive: it stays a success.
    deploymentStatusDelivery(second, { id: 2006, state: 'inactive', at: at(60) }),
  ];
}

/** The DORA series of acme/shop in production for one window: `name{other labels}` -> value. */
async function doraSeries(
  prometheus: RunningPrometheus,
  window: '7d' | '30d',
): Promise<Record<string, number>> {
  const data = await prometheus.query(`{__name__=~"dora_.+",${SELECTOR},window="${window}"}`);
  if (data.resultType !== 'vector') throw new Error(`expected a vector, got ${data.resultType}`);
  const series: Record<string, number> = {};
  for (const { metric, value } of data.result) {
    const { __name__: name, repository, environment, window: _window, ...rest } = metric;
    const labels = Object.entries(rest)
      .map(([label, text]) => `${label}="${text}"`)
      .join(',');
    series[labels === '' ? `${name}` : `${name}{${labels}}`] = Number(value[1]);
  }
  return series;
}

/** The newest sample time of the successful-deployments series, in ms: it moves whenever the worker writes. */
async function lastWriteMs(prometheus: RunningPrometheus): Promise<number> {
  const data = await prometheus.query(
    `timestamp(dora_deployments{${SELECTOR},window="7d",status="success"})`,
  );
  if (data.resultType !== 'vector' || data.result[0] === undefined) throw new Error('no series yet');
  return Number(data.result[0].value[1]) * 1000;
}

describe('DORA metrics from GitHub webhooks to Prometheus', () => {
  let prometheus: RunningPrometheus;
  let server: LocalServer;
  let dataDir: string;
  let deliveries: GitHubDelivery[];
  /** T of the scenario. */
  let now: number;
  const minutesBefore = (minutes: number) => new Date(now - minutes * MINUTE).toISOString();

  beforeAll(async () => {
    prometheus = await startPrometheus();
    dataDir = await createTempDir('dora-webhooks');
    server = await startLocalServer({
      port: 0,
      dataDir,
      logger: silentLogger,
      processMetrics: false,
      env: { GITHUB_WEBHOOK_SECRET: SECRET, PROMETHEUS_URL: prometheus.url },
    });
    now = Math.floor(Date.now() / 1000) * 1000;
    deliveries = scenario(now);
  });

  afterAll(async () => {
    await server?.close();
    await prometheus?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('writes the hand-worked DORA metrics of deploy, push, deploy, failure and fix into Prometheus', async () => {
    // Prepare: GitHub sends each delivery when its event happens, minutes apart; here one after the other's work.
    const answers: number[] = [];

    // Act
    for (const delivery of deliveries) {
      answers.push((await deliver(server.url, SECRET, delivery)).status);
      await server.runtime.bus.idle();
    }
    const sevenDays = await waitFor(
      async () => {
        const series = await doraSeries(prometheus, '7d');
        return series['dora_deployments{status="success"}'] === 3 ? series : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 50, description: 'the DORA series of acme/shop in Prometheus' },
    );
    const thirtyDays = await doraSeries(prometheus, '30d');

    // Assess
    expect(answers).toEqual(deliveries.map(() => 200));
    expect(sevenDays).toEqual({
      'dora_deployments{status="success"}': 3,
      'dora_deployments{status="failure"}': 1,
      dora_deployment_frequency_per_day: 3 / 7,
      dora_change_failure_rate: 0.25,
      'dora_lead_time_for_changes_seconds{quantile="0.5"}': 3900,
      'dora_lead_time_for_changes_seconds{quantile="0.9"}': 5700,
      'dora_time_to_restore_seconds{quantile="0.5"}': 3000,
      'dora_time_to_restore_seconds{quantile="0.9"}': 3000,
      'dora_performance_level{metric="deployment_frequency"}': 3,
      'dora_performance_level{metric="lead_time"}': 3,
      'dora_performance_level{metric="change_failure_rate"}': 3,
      'dora_performance_level{metric="time_to_restore"}': 4,
    });
    expect(thirtyDays).toEqual({
      ...sevenDays,
      dora_deployment_frequency_per_day: 0.1,
      'dora_performance_level{metric="deployment_frequency"}': 2,
    });
  });

  it('keeps one record per deployment under deployments/acme/shop/production/', async () => {
    // Prepare
    const dir = join(dataDir, 'deployments', 'acme', 'shop', 'production');

    // Act
    const names = (await readdir(dir)).sort();
    const records = await Promise.all(
      names.map(async (name) => JSON.parse(await readFile(join(dir, name), 'utf8')) as DeploymentRecord),
    );

    // Assess
    expect(names).toEqual(['1001.json', '1002.json', '1003.json', '1004.json']);
    expect(records.map((record) => [record.deploymentId, record.outcome, record.finishedAt])).toEqual([
      ['1001', 'success', minutesBefore(298)],
      ['1002', 'success', minutesBefore(175)],
      ['1003', 'failure', minutesBefore(110)],
      ['1004', 'success', minutesBefore(60)],
    ]);
    expect(records[1]?.statuses.map((status) => status.state)).toEqual([
      'in_progress',
      'success',
      'inactive',
    ]);
    expect(records[0]?.leadTime).toEqual({ commits: [], firstDeployment: true });
    expect(records[3]?.leadTime?.previousSha).toBe(sha('b'));
    expect(records[3]?.leadTime?.commits.map((commit) => commit.sha)).toEqual([sha('c'), sha('d')]);
  });

  it('changes nothing when GitHub redelivers the deliveries', async () => {
    // Prepare
    const filesBefore = await storeSnapshot(dataDir);
    const writtenBefore = await lastWriteMs(prometheus);
    const seriesBefore = await doraSeries(prometheus, '7d');

    // Act: a redelivery carries the delivery's own GUID again.
    const answers = await Promise.all(deliveries.map((delivery) => deliver(server.url, SECRET, delivery)));
    await server.runtime.bus.idle();

    // Assess
    expect(answers.map((answer) => [answer.status, answer.body.duplicate])).toEqual(
      deliveries.map(() => [200, true]),
    );
    expect(await storeSnapshot(dataDir)).toEqual(filesBefore);
    expect(await doraSeries(prometheus, '7d')).toEqual(seriesBefore);
    expect(await lastWriteMs(prometheus)).toBe(writtenBefore);
  });

  it('counts a status once when a second hook delivers it again under its own GUID', async () => {
    // Prepare: the success of deployment 1004, as an organization webhook would deliver it too.
    const fixSuccess = deliveries.find(
      (delivery) => delivery.event === 'deployment_status' && delivery.body.includes('"id":2005'),
    );
    if (fixSuccess === undefined) throw new Error('the scenario has no success of deployment 1004');
    const seriesBefore = await doraSeries(prometheus, '7d');

    // Act
    const answer = await deliver(
      server.url,
      SECRET,
      { ...fixSuccess, id: 'ffffffff-0000-4000-8000-000000002005' },
      '982340983',
    );
    await server.runtime.bus.idle();

    // Assess
    const record = JSON.parse(
      await readFile(join(dataDir, 'deployments', 'acme', 'shop', 'production', '1004.json'), 'utf8'),
    ) as DeploymentRecord;
    // The same signed body under another hook and GUID is the same delivery: answered as a duplicate.
    expect(answer.status).toBe(200);
    expect(answer.body.duplicate).toBe(true);
    expect(record.statuses.map((status) => status.statusId)).toEqual([2005]);
    expect(await doraSeries(prometheus, '7d')).toEqual(seriesBefore);
  });
});
