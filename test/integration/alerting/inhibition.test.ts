import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { AlertmanagerPayload } from '../../../functions/shared/events/alertmanager.js';
import {
  type GettableAlert,
  type PostableAlert,
  type RunningAlertmanager,
  startAlertmanager,
} from '../../support/alertmanager.js';
import { waitFor } from '../../support/wait.js';

const shippedConfigFile = join(
  import.meta.dirname,
  '..',
  '..',
  '..',
  'stack-config',
  'alertmanager',
  'alertmanager.yml',
);

interface AlertmanagerConfig {
  readonly route: unknown;
  readonly inhibit_rules: unknown;
  receivers: { readonly name: string }[];
  templates?: string[];
}

/** Webhook deliveries received per receiver name (the last path segment). */
interface WebhookRecorder {
  readonly url: string;
  readonly deliveries: Map<string, AlertmanagerPayload[]>;
  close(): Promise<void>;
}

async function startWebhookRecorder(): Promise<WebhookRecorder> {
  const deliveries = new Map<string, AlertmanagerPayload[]>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const receiver = (request.url ?? '/').split('/').pop() ?? '';
      const payload = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AlertmanagerPayload;
      deliveries.set(receiver, [...(deliveries.get(receiver) ?? []), payload]);
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    deliveries,
    close: () =>
      new Promise((resolveClose, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolveClose()));
      }),
  };
}

/**
 * The shipped alertmanager.yml with its routes and inhibit rules untouched, and every receiver
 * (Slack, the toilless webhook, the dead man's switch) replaced by a webhook to the recorder.
 */
function shippedConfigDeliveringTo(recorderUrl: string): string {
  const config = parseYaml(readFileSync(shippedConfigFile, 'utf8')) as AlertmanagerConfig;
  config.receivers = config.receivers.map(({ name }) => ({
    name,
    webhook_configs: [{ url: `${recorderUrl}/${name}`, send_resolved: true }],
  }));
  // No receiver renders the Slack templates any more.
  delete config.templates;
  return stringifyYaml(config);
}

const instanceDown = (instance: string, service: string): PostableAlert => ({
  labels: { alertname: 'InstanceDown', severity: 'critical', service, instance, job: service },
});

const nodeAlert = (
  alertname: string,
  severity: 'warning' | 'critical',
  family: string,
  instance: string,
  extra: Record<string, string> = {},
): PostableAlert => ({
  labels: { alertname, severity, service: 'node', family, instance, job: 'node', ...extra },
});

function find(alerts: readonly GettableAlert[], labels: Record<string, string>): GettableAlert {
  const match = alerts.find((alert) => Object.entries(labels).every(([k, v]) => alert.labels[k] === v));
  if (match === undefined) {
    throw new Error(`Alertmanager holds no alert with ${JSON.stringify(labels)}`);
  }
  return match;
}

describe('Alertmanager inhibition as shipped', () => {
  let recorder: WebhookRecorder;
  let alertmanager: RunningAlertmanager;

  beforeAll(async () => {
    recorder = await startWebhookRecorder();
  });

  afterAll(async () => {
    await recorder?.close();
  });

  beforeEach(async () => {
    recorder.deliveries.clear();
    alertmanager = await startAlertmanager({ config: shippedConfigDeliveringTo(recorder.url) });
  });

  afterEach(async () => {
    await alertmanager?.stop();
  });

  /** Waits until the inhibitor has seen the sources, which it processes asynchronously. */
  async function alertsOnceInhibited(expected: Record<string, string>): Promise<GettableAlert[]> {
    return waitFor(
      async () => {
        const alerts = await alertmanager.alerts();
        return find(alerts, expected).status.inhibitedBy.length > 0 ? alerts : undefined;
      },
      { timeoutMs: 10_000, description: `${JSON.stringify(expected)} to be inhibited` },
    );
  }

  it('mutes the warnings of a node that is down, and of no other instance', async () => {
    // Prepare
    await alertmanager.postAlerts([
      instanceDown('node-1:9100', 'node'),
      nodeAlert('HighCPUWarning', 'warning', 'cpu', 'node-1:9100'),
      nodeAlert('HighCPUWarning', 'warning', 'cpu', 'node-2:9100'),
    ]);

    // Act
    const alerts = await alertsOnceInhibited({ alertname: 'HighCPUWarning', instance: 'node-1:9100' });

    // Assess
    const source = find(alerts, { alertname: 'InstanceDown', instance: 'node-1:9100' });
    const muted = find(alerts, { alertname: 'HighCPUWarning', instance: 'node-1:9100' });
    const other = find(alerts, { alertname: 'HighCPUWarning', instance: 'node-2:9100' });
    expect(muted.status).toMatchObject({ state: 'suppressed', inhibitedBy: [source.fingerprint] });
    expect(other.status).toMatchObject({ state: 'active', inhibitedBy: [] });
    expect(source.status).toMatchObject({ state: 'active', inhibitedBy: [] });
  });

  it('delivers only the warning of the node that is up, after group_wait', async () => {
    // Prepare
    await alertmanager.postAlerts([
      instanceDown('node-1:9100', 'node'),
      nodeAlert('HighCPUWarning', 'warning', 'cpu', 'node-1:9100'),
      nodeAlert('HighCPUWarning', 'warning', 'cpu', 'node-2:9100'),
    ]);

    // Act: the shipped group_wait is 30s.
    const delivered = await waitFor(
      async () =>
        recorder.deliveries.get('toilless')?.find((payload) => payload.groupLabels['severity'] === 'warning'),
      { timeoutMs: 60_000, intervalMs: 500, description: 'the node warning group to reach toilless' },
    );

    // Assess
    expect(delivered.alerts.map((alert) => alert.labels)).toEqual([
      nodeAlert('HighCPUWarning', 'warning', 'cpu', 'node-2:9100').labels,
    ]);
  });

  it('leaves warnings alone when the target that is down is not a node', async () => {
    // Prepare: the node pair shows when the inhibitor has judged the batch.
    const appWarning: PostableAlert = {
      labels: {
        alertname: 'HighLatencyP95',
        severity: 'warning',
        service: 'sample-app',
        instance: 'sample-app:8000',
      },
    };
    await alertmanager.postAlerts([
      instanceDown('sample-app:8000', 'sample-app'),
      appWarning,
      nodeAlert('HighCPUCritical', 'critical', 'cpu', 'node-1:9100'),
      nodeAlert('HighCPUWarning', 'warning', 'cpu', 'node-1:9100'),
    ]);

    // Act
    const alerts = await alertsOnceInhibited({ alertname: 'HighCPUWarning', instance: 'node-1:9100' });

    // Assess
    expect(find(alerts, appWarning.labels).status).toMatchObject({ state: 'active', inhibitedBy: [] });
  });

  it('mutes a warning by the critical of its family on the same instance only', async () => {
    // Prepare
    await alertmanager.postAlerts([
      nodeAlert('HighCPUCritical', 'critical', 'cpu', 'node-1:9100'),
      nodeAlert('HighCPUWarning', 'warning', 'cpu', 'node-1:9100'),
      nodeAlert('HighCPUWarning', 'warning', 'cpu', 'node-2:9100'),
      nodeAlert('HighMemoryWarning', 'warning', 'memory', 'node-1:9100'),
    ]);

    // Act
    const alerts = await alertsOnceInhibited({ alertname: 'HighCPUWarning', instance: 'node-1:9100' });

    // Assess
    const critical = find(alerts, { alertname: 'HighCPUCritical', instance: 'node-1:9100' });
    expect(find(alerts, { alertname: 'HighCPUWarning', instance: 'node-1:9100' }).status).toMatchObject({
      state: 'suppressed',
      inhibitedBy: [critical.fingerprint],
    });
    expect(find(alerts, { alertname: 'HighCPUWarning', instance: 'node-2:9100' }).status.inhibitedBy).toEqual(
      [],
    );
    expect(
      find(alerts, { alertname: 'HighMemoryWarning', instance: 'node-1:9100' }).status.inhibitedBy,
    ).toEqual([]);
  });

  it('mutes a disk warning by the critical of the same mount only', async () => {
    // Prepare
    await alertmanager.postAlerts([
      nodeAlert('DiskSpaceCritical', 'critical', 'disk', 'node-1:9100', { mountpoint: '/data' }),
      nodeAlert('DiskSpaceWarning', 'warning', 'disk', 'node-1:9100', { mountpoint: '/data' }),
      nodeAlert('DiskSpaceWarning', 'warning', 'disk', 'node-1:9100', { mountpoint: '/' }),
    ]);

    // Act
    const alerts = await alertsOnceInhibited({ alertname: 'DiskSpaceWarning', mountpoint: '/data' });

    // Assess
    expect(find(alerts, { alertname: 'DiskSpaceWarning', mountpoint: '/' }).status.inhibitedBy).toEqual([]);
  });

  it('never lets a critical without a family mute a warning without one', async () => {
    // Prepare: neither carries instance nor family, which inhibition would otherwise count as equal.
    await alertmanager.postAlerts([
      {
        labels: {
          alertname: 'FastBurnRate',
          severity: 'critical',
          service: 'sample-app',
          slo: 'availability',
        },
      },
      { labels: { alertname: 'HighLatencyP95', severity: 'warning', service: 'sample-app' } },
      nodeAlert('HighCPUCritical', 'critical', 'cpu', 'node-1:9100'),
      nodeAlert('HighCPUWarning', 'warning', 'cpu', 'node-1:9100'),
    ]);

    // Act: once the node pair shows inhibition works, the SLO pair has been judged too.
    const alerts = await alertsOnceInhibited({ alertname: 'HighCPUWarning', instance: 'node-1:9100' });

    // Assess
    expect(find(alerts, { alertname: 'HighLatencyP95' }).status).toMatchObject({
      state: 'active',
      inhibitedBy: [],
    });
  });
});
