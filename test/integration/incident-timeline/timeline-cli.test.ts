/**
 * `toilless timeline <payload.json>` as an operator runs it: the real CLI in a child process, a saved
 * Alertmanager delivery re-timed to a few minutes ago, the real Prometheus and the Loki and Tempo test
 * servers given through PROMETHEUS_URL, LOKI_URL and TEMPO_URL.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordDeployment } from '../../../functions/incident-timeline/deploy-index.js';
import {
  type IncidentTimeline,
  TIMELINE_SCHEMA_VERSION,
} from '../../../functions/incident-timeline/model.js';
import { FsObjectStore } from '../../../functions/shared/adapters/local/fs-object-store.js';
import { RemoteWriteClient, type TimeSeries } from '../../../functions/shared/prometheus/remote-write.js';
import { runCli, STACK_LINE } from '../../support/cli.js';
import { closeServer, listenOnLoopback, readBody } from '../../support/http-test-server.js';
import { type LokiEntryInput, type LokiServer, startLokiServer } from '../../support/loki-server.js';
import { freePort } from '../../support/ports.js';
import { type RunningPrometheus, startPrometheus } from '../../support/prometheus.js';
import { type SlackApiServer, startSlackApiServer } from '../../support/slack-api-server.js';
import { startTempoServer, type TempoServer, type TempoTraceInput } from '../../support/tempo-server.js';
import { sampleAppDeployment } from '../../unit/incident-timeline/evidence/incident-data.js';

const DELIVERY = join(
  import.meta.dirname,
  '..',
  '..',
  'fixtures',
  'alertmanager',
  'firing-fastburnrate.json',
);
const SERVICE = 'sample-app';
const MINUTE = 60_000;

/** A source behind a gate that wants a credential. */
interface GuardedSource {
  readonly url: string;
  /** The Authorization header of each request, as it arrived. */
  readonly seen: (string | undefined)[];
  close(): Promise<void>;
}

/** 32 hex digits per index: the error traces' ids, in the logs and in Tempo. */
function traceIdOf(index: number): string {
  return createHash('sha256').update(`checkout-failure-${index}`).digest('hex').slice(0, 32);
}

/** The incident as the sources saw it: checkout failing from `errorsFrom`, one error line every 2 s. */
interface IncidentClock {
  readonly windowStart: number;
  readonly errorsFrom: number;
  readonly startsAt: number;
  readonly onset: number;
  readonly now: number;
}

function incidentClock(): IncidentClock {
  const now = Math.floor(Date.now() / 1000) * 1000;
  const startsAt = now - 5 * MINUTE;
  return {
    windowStart: now - 40 * MINUTE,
    errorsFrom: now - 6 * MINUTE,
    startsAt,
    onset: startsAt - 15_000,
    now,
  };
}

/** Info lines every 10 s over the window, error lines every 2 s since the failures began, each with its trace id. */
function sampleAppLogs(clock: IncidentClock): LokiEntryInput[] {
  const entries: LokiEntryInput[] = [];
  for (let ms = clock.windowStart; ms < clock.now - 5_000; ms += 10_000) {
    entries.push({ ts: new Date(ms), line: JSON.stringify({ level: 'info', msg: 'GET /products 200' }) });
  }
  for (let ms = clock.errorsFrom, i = 0; ms < clock.now - 5_000; ms += 2_000, i++) {
    entries.push({
      ts: new Date(ms),
      line: JSON.stringify({
        level: 'error',
        msg: `POST /checkout 500 upstream payment-gateway timeout after ${2200 + (i % 7)}ms`,
        trace_id: traceIdOf(Math.floor((ms - clock.errorsFrom) / MINUTE)),
      }),
    });
  }
  return entries;
}

/** One failing checkout per minute of the failures: sample-app's POST /checkout, failing in payment-gateway. */
function checkoutTraces(clock: IncidentClock): TempoTraceInput[] {
  const traces: TempoTraceInput[] = [];
  for (let i = 0; clock.errorsFrom + i * MINUTE < clock.now - 5_000; i++) {
    const start = new Date(clock.errorsFrom + i * MINUTE + 1_000);
    const rootId = traceIdOf(i).slice(0, 16);
    traces.push({
      traceId: traceIdOf(i),
      spans: [
        {
          spanId: rootId,
          name: 'POST /checkout',
          service: SERVICE,
          kind: 'server',
          start,
          durationMs: 2300,
          status: { code: 'error', message: 'upstream payment-gateway timeout' },
          attributes: {
            'http.request.method': 'POST',
            'http.route': '/checkout',
            'http.response.status_code': 500,
          },
        },
        {
          spanId: traceIdOf(i).slice(16),
          parentSpanId: rootId,
          name: 'charge',
          service: 'payment-gateway',
          kind: 'server',
          start: new Date(start.getTime() + 50),
          durationMs: 2200,
          status: { code: 'error', message: 'deadline exceeded' },
        },
      ],
    });
  }
  return traces;
}

/** sample-app's request counters (10/s fine, 5/s failing since the failures began) and HighLatency firing. */
function requestSeries(clock: IncidentClock): TimeSeries[] {
  const samples = (value: (ms: number) => number) => {
    const points: { value: number; timestampMs: number }[] = [];
    for (let ms = clock.windowStart; ms <= clock.now; ms += 15_000)
      points.push({ value: value(ms), timestampMs: ms });
    return points;
  };
  return [
    {
      labels: { __name__: 'http_requests_total', service: SERVICE, status_code: '200' },
      samples: samples((ms) => (10 * (ms - clock.windowStart)) / 1000),
    },
    {
      labels: { __name__: 'http_requests_total', service: SERVICE, status_code: '500' },
      samples: samples((ms) => (ms < clock.errorsFrom ? 0 : (5 * (ms - clock.errorsFrom)) / 1000)),
    },
    {
      labels: {
        __name__: 'ALERTS',
        alertname: 'HighLatency',
        alertstate: 'firing',
        service: SERVICE,
        severity: 'warning',
      },
      samples: samples(() => 1).filter(({ timestampMs }) => timestampMs >= clock.now - 20 * MINUTE),
    },
  ];
}

/** The captured FastBurnRate delivery's body, its alert started at `startsAt`. */
async function payloadStartingAt(startsAt: number): Promise<Record<string, unknown>> {
  const { body } = JSON.parse(await readFile(DELIVERY, 'utf8')) as {
    body: { alerts: Record<string, unknown>[] } & Record<string, unknown>;
  };
  return {
    ...body,
    alerts: body.alerts.map((alert) => ({ ...alert, startsAt: new Date(startsAt).toISOString() })),
  };
}

/** Every file under `dir`, as paths relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

describe('toilless timeline <payload.json>', () => {
  const clock = incidentClock();
  let workDir: string;
  let dataDir: string;
  let payloadFile: string;
  let loki: LokiServer;
  let tempo: TempoServer;
  let prometheus: RunningPrometheus;
  let slack: SlackApiServer;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'toilless-timeline-cli-'));
    dataDir = await mkdtemp(join(tmpdir(), 'toilless-timeline-cli-data-'));
    payloadFile = join(workDir, 'payload.json');
    await writeFile(payloadFile, JSON.stringify(await payloadStartingAt(clock.startsAt)));
    [loki, tempo, prometheus, slack] = await Promise.all([
      startLokiServer({ streams: [{ labels: { service_name: SERVICE }, entries: sampleAppLogs(clock) }] }),
      startTempoServer({ traces: checkoutTraces(clock) }),
      startPrometheus(),
      startSlackApiServer(),
    ]);
    await new RemoteWriteClient({ url: prometheus.remoteWriteUrl }).write(requestSeries(clock));
  });

  afterAll(async () => {
    await Promise.all([loki?.close(), tempo?.close(), prometheus?.stop(), slack?.close()]);
    await Promise.all(
      [workDir, dataDir].map((dir) => (dir ? rm(dir, { recursive: true, force: true }) : undefined)),
    );
  });

  /** The environment of a run against the test sources; Slack is configured so that a post would show. */
  const sourcesEnv = (data = dataDir) => ({
    PROMETHEUS_URL: prometheus.url,
    LOKI_URL: loki.url,
    TEMPO_URL: tempo.url,
    TOILLESS_DATA_DIR: data,
    SLACK_BOT_TOKEN: slack.token,
    SLACK_API_URL: slack.url,
  });

  describe('with Prometheus, Loki and Tempo answering', () => {
    it('prints the postmortem draft with the evidence of Loki, Tempo and Prometheus', async () => {
      // Act
      const result = await runCli(['timeline', payloadFile], sourcesEnv());

      // Assess
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      const markdown = result.stdout;
      expect(markdown).toMatch(/^# FastBurnRate on sample-app\n/);
      for (const section of ['Summary', 'Root causes', 'Detection', 'Action items', 'Timeline (UTC)']) {
        expect(markdown).toContain(`\n## ${section}\n`);
      }
      const timeline = markdown.slice(markdown.indexOf('## Timeline (UTC)'), markdown.indexOf('## Appendix'));
      expect(timeline).toMatch(/\[alert\.firing\] FastBurnRate firing: .* \(alertmanager\)/);
      expect(timeline).toMatch(
        /\[log\.spike\] Error logs spiked to \d+\/min \(baseline 0\/min\): .* \(loki\)/,
      );
      expect(timeline).toMatch(
        /\[log\.error\] Error log "POST \/checkout \\<n\\> upstream payment-gateway timeout after \\<n\\>ms": \d+ of \d+ error lines \(loki\)/,
      );
      expect(timeline).toMatch(
        /\[trace\.error\] POST \/checkout failed in payment-gateway \(span charge, 2\.2 s: deadline exceeded\), 6 traces \(tempo\)/,
      );
      expect(timeline).toMatch(
        /\[metric\] FastBurnRate condition first true: [\d.]+ \\> 0\.144 \(prometheus\)/,
      );
      expect(timeline).toContain('[alert.firing] Also firing for sample-app: HighLatency (warning)');
      expect(timeline).not.toContain('source.unavailable');
    });

    it('prints timeline.json with --json', async () => {
      // Act
      const result = await runCli(['timeline', payloadFile, '--json'], sourcesEnv());

      // Assess
      expect(result.status).toBe(0);
      const timeline = JSON.parse(result.stdout) as IncidentTimeline;
      expect(timeline).toMatchObject({
        schemaVersion: TIMELINE_SCHEMA_VERSION,
        status: 'open',
        service: SERVICE,
        severity: 'critical',
        startedAt: new Date(clock.startsAt).toISOString(),
        onset: new Date(clock.onset).toISOString(),
      });
      expect(timeline.id).toMatch(/^\d{8}T\d{4}-sample-app-[0-9a-f]{8}$/);
      expect(new Set(timeline.events.map((event) => event.source))).toEqual(
        new Set(['alertmanager', 'prometheus', 'loki', 'tempo']),
      );
      expect(
        timeline.events.filter((event) => event.relevance === 'high').map((event) => event.kind),
      ).toEqual(expect.arrayContaining(['alert.firing', 'log.spike', 'log.error', 'trace.error', 'metric']));
    });

    it('stores nothing in the data directory and posts nothing to Slack', async () => {
      // Act
      const markdown = await runCli(['timeline', payloadFile], sourcesEnv());
      const json = await runCli(['timeline', payloadFile, '--json'], sourcesEnv());

      // Assess
      expect([markdown.status, json.status]).toEqual([0, 0]);
      expect(await readdir(dataDir)).toEqual([]);
      expect(slack.calls).toEqual([]);
    });

    it('names the deployment before onset from the deploy index in the data directory, and leaves it as it was', async () => {
      // Prepare
      const deployDir = await mkdtemp(join(tmpdir(), 'toilless-timeline-cli-deploys-'));
      try {
        await recordDeployment(
          new FsObjectStore(deployDir),
          sampleAppDeployment(
            'deployment:acme/sample-app:production:42:success',
            new Date(clock.onset - 12 * MINUTE).toISOString(),
            [SERVICE],
          ),
        );
        const before = await filesUnder(deployDir);

        // Act
        const result = await runCli(['timeline', payloadFile], sourcesEnv(deployDir));

        // Assess
        expect(result.status).toBe(0);
        expect(result.stdout).toContain(
          '[deployment] acme/sample-app c0ffee0 deployed to production 12 minutes before onset (deployments) · [Commit c0ffee0](https://github.com/acme/sample-app/commit/c0ffee00112233445566778899aabbccddeeff00)',
        );
        expect(before).toHaveLength(1);
        expect(await filesUnder(deployDir)).toEqual(before);
      } finally {
        await rm(deployDir, { recursive: true, force: true });
      }
    });
  });

  describe('with bad input', () => {
    it('refuses a payload without a required field, naming the field, without a stack trace', async () => {
      // Prepare
      const payload = await payloadStartingAt(clock.startsAt);
      const { groupKey: _dropped, ...withoutGroupKey } = payload;
      const file = join(workDir, 'without-group-key.json');
      await writeFile(file, JSON.stringify(withoutGroupKey));

      // Act
      const result = await runCli(['timeline', file], sourcesEnv());

      // Assess
      expect(result.status).not.toBe(0);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^toilless: invalid Alertmanager payload: groupKey: /);
      expect(result.stderr).not.toMatch(STACK_LINE);
    });

    it('says it cannot read a payload file that does not exist', async () => {
      // Prepare
      const missing = join(workDir, 'no-such-payload.json');

      // Act
      const result = await runCli(['timeline', missing], sourcesEnv());

      // Assess
      expect(result.status).not.toBe(0);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain(`cannot read ${missing}`);
      expect(result.stderr).not.toMatch(STACK_LINE);
    });
  });

  describe('with hosted Prometheus, Loki and Tempo that require credentials', () => {
    /** Lets a request through to `target` only with `authorization`; records what each request carried. */
    async function guarded(target: string, authorization: string): Promise<GuardedSource> {
      const seen: (string | undefined)[] = [];
      const server = createServer(async (request, response) => {
        seen.push(request.headers.authorization);
        if (request.headers.authorization !== authorization) {
          response.writeHead(401, { 'content-type': 'text/plain' }).end('authentication required');
          return;
        }
        const body = await readBody(request);
        const upstream = await fetch(`${target}${request.url}`, {
          method: request.method ?? 'GET',
          headers: { 'content-type': request.headers['content-type'] ?? 'application/json' },
          ...(body.length > 0 ? { body } : {}),
        });
        response
          .writeHead(upstream.status, {
            'content-type': upstream.headers.get('content-type') ?? 'text/plain',
          })
          .end(Buffer.from(await upstream.arrayBuffer()));
      });
      const url = await listenOnLoopback(server);
      return { url, seen, close: () => closeServer(server) };
    }

    const credentials = {
      PROMETHEUS_AUTH: '901234:prometheus-token',
      LOKI_AUTH: 'loki-token',
      TEMPO_AUTH: 'Bearer tempo-token',
    };
    const expected = {
      prometheus: `Basic ${Buffer.from(credentials.PROMETHEUS_AUTH).toString('base64')}`,
      loki: 'Bearer loki-token',
      tempo: 'Bearer tempo-token',
    };
    let sources: Record<'prometheus' | 'loki' | 'tempo', GuardedSource>;

    beforeAll(async () => {
      sources = {
        prometheus: await guarded(prometheus.url, expected.prometheus),
        loki: await guarded(loki.url, expected.loki),
        tempo: await guarded(tempo.url, expected.tempo),
      };
    });

    afterAll(async () => {
      await Promise.all(Object.values(sources ?? {}).map((source) => source.close()));
    });

    const guardedEnv = () => ({
      ...sourcesEnv(),
      PROMETHEUS_URL: sources.prometheus.url,
      LOKI_URL: sources.loki.url,
      TEMPO_URL: sources.tempo.url,
    });

    it('sends each source its own credential, and gets their evidence', async () => {
      // Act
      const result = await runCli(['timeline', payloadFile], { ...guardedEnv(), ...credentials });

      // Assess
      expect(result.status).toBe(0);
      expect(result.stdout).not.toContain('source.unavailable');
      expect(result.stdout).toMatch(/\[log\.spike\] .* \(loki\)/);
      expect(result.stdout).toMatch(/\[trace\.error\] .* \(tempo\)/);
      expect(result.stdout).toMatch(/\[metric\] .* \(prometheus\)/);
      for (const [name, source] of Object.entries(sources)) {
        expect(source.seen.length, name).toBeGreaterThan(0);
        expect(new Set(source.seen), name).toEqual(new Set([expected[name as keyof typeof expected]]));
      }
    });

    it('reads the credentials from the data directory as `toilless serve` does', async () => {
      // Prepare
      const data = await mkdtemp(join(tmpdir(), 'toilless-timeline-cli-secrets-'));
      try {
        await mkdir(join(data, 'secrets'));
        await writeFile(join(data, 'secrets', 'loki-auth'), `${credentials.LOKI_AUTH}\n`);
        const { LOKI_AUTH: _fromFile, ...others } = credentials;

        // Act
        const result = await runCli(['timeline', payloadFile], {
          ...guardedEnv(),
          ...others,
          TOILLESS_DATA_DIR: data,
        });

        // Assess
        expect(result.status).toBe(0);
        expect(result.stdout).toMatch(/\[log\.spike\] .* \(loki\)/);
        expect(result.stdout).not.toContain('source.unavailable');
      } finally {
        await rm(data, { recursive: true, force: true });
      }
    });

    it('lists a source whose credential is not set as unavailable', async () => {
      // Prepare
      const { TEMPO_AUTH: _unset, ...others } = credentials;

      // Act
      const result = await runCli(['timeline', payloadFile], { ...guardedEnv(), ...others });

      // Assess
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(
        /\[source\.unavailable\] Tempo unavailable: authentication required \(tempo\)/,
      );
      expect(result.stdout).toMatch(/\[log\.spike\] .* \(loki\)/);
    });
  });

  describe('with Prometheus, Loki and Tempo down', () => {
    it('still prints the draft, listing each source as unavailable', async () => {
      // Prepare: ports the OS just reported free, so nothing listens on them
      const [prometheusPort, lokiPort, tempoPort] = await Promise.all([freePort(), freePort(), freePort()]);
      const emptyDir = await mkdtemp(join(tmpdir(), 'toilless-timeline-cli-down-'));
      try {
        // Act
        const result = await runCli(['timeline', payloadFile], {
          PROMETHEUS_URL: `http://127.0.0.1:${prometheusPort}`,
          LOKI_URL: `http://127.0.0.1:${lokiPort}`,
          TEMPO_URL: `http://127.0.0.1:${tempoPort}`,
          TOILLESS_DATA_DIR: emptyDir,
        });

        // Assess
        expect(result.status).toBe(0);
        expect(result.stdout.startsWith('# ')).toBe(true);
        expect(result.stdout).not.toMatch(/"level":/);
        expect(result.stdout).toContain('\n## Timeline (UTC)\n');
        expect(result.stdout).toMatch(/\[alert\.firing\] FastBurnRate firing: .* \(alertmanager\)/);
        for (const [name, source] of [
          ['Prometheus', 'prometheus'],
          ['Loki', 'loki'],
          ['Tempo', 'tempo'],
        ]) {
          expect(result.stdout).toMatch(
            new RegExp(`\\[source\\.unavailable\\] ${name} unavailable: .*ECONNREFUSED.* \\(${source}\\)`),
          );
        }
        expect(await readdir(emptyDir)).toEqual([]);
      } finally {
        await rm(emptyDir, { recursive: true, force: true });
      }
    });
  });
});
