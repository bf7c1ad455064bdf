import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalServer, startLocalServer } from '../../../functions/local/local-server.js';
import type { ToillessEvent } from '../../../functions/shared/events/types.js';
import { silentLogger } from '../../../functions/shared/log.js';
import { type RunningAlertmanager, startAlertmanager } from '../../support/alertmanager.js';
import { waitFor } from '../../support/wait.js';

/** Alertmanager delivering to the local server with bearer credentials read from a file, as shipped. */
function alertmanagerConfig(webhookUrl: string): string {
  return `
route:
  receiver: toilless
  group_by: [service, severity]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: toilless
    webhook_configs:
      - url: ${webhookUrl}
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials_file: {{DIR}}/toilless-webhook-token
`;
}

describe('Alertmanager delivering to the local server', () => {
  let dataDir: string;
  let server: LocalServer;
  const received: ToillessEvent<'AlertNotification'>[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'toilless-am-'));
    server = await startLocalServer({
      port: 0,
      dataDir,
      logger: silentLogger,
      env: {},
      processMetrics: false,
    });
    server.runtime.bus.subscribe({
      name: 'test-recorder',
      types: ['AlertNotification'],
      handler: async (event) => {
        if (event.type === 'AlertNotification') received.push(event);
      },
    });
  });

  afterAll(async () => {
    await server?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function withAlertmanager(token: string, act: (alertmanager: RunningAlertmanager) => Promise<void>) {
    const alertmanager = await startAlertmanager({
      config: alertmanagerConfig(`${server.url}/webhooks/alertmanager`),
      files: { 'toilless-webhook-token': token },
    });
    try {
      await act(alertmanager);
    } finally {
      await alertmanager.stop();
    }
  }

  it('delivers a posted alert with its bearer token, and the AlertNotification is published', async () => {
    const token = (await readFile(join(dataDir, 'secrets', 'alertmanager-webhook-token'), 'utf8')).trim();

    await withAlertmanager(token, async (alertmanager) => {
      await alertmanager.postAlerts([
        {
          labels: {
            alertname: 'FastBurnRate',
            service: 'checkout',
            severity: 'critical',
            slo: 'availability',
          },
          annotations: {
            summary: 'checkout is burning its error budget',
            runbook_url: 'runbooks/fast-burn-rate.md',
          },
        },
      ]);

      const event = await waitFor(
        async () => received.find((e) => e.detail.payload.commonLabels.service === 'checkout'),
        {
          timeoutMs: 30_000,
          description: 'Alertmanager to deliver the alert to /webhooks/alertmanager',
        },
      );

      expect(event.detail.payload.version).toBe('4');
      expect(event.detail.payload.receiver).toBe('toilless');
      expect(event.detail.payload.groupKey).toContain('service="checkout"');
      expect(event.detail.payload.alerts).toHaveLength(1);
      expect(event.detail.payload.alerts[0]?.labels.alertname).toBe('FastBurnRate');
      expect(event.detail.payload.alerts[0]?.status).toBe('firing');
    });
  });

  it('refuses a delivery with the wrong token, and publishes nothing for it', async () => {
    await withAlertmanager('not-the-token', async (alertmanager) => {
      await alertmanager.postAlerts([
        { labels: { alertname: 'HighCPUWarning', service: 'billing', severity: 'warning' } },
      ]);

      await waitFor(
        async () => {
          const text = await (await fetch(`${server.url}/metrics`)).text();
          return /toilless_webhook_requests_total\{route="\/webhooks\/alertmanager",status="401"\} [1-9]/.test(
            text,
          )
            ? true
            : undefined;
        },
        { timeoutMs: 30_000, description: 'Alertmanager to attempt the delivery and be refused' },
      );
      await server.runtime.bus.idle();
      expect(received.some((e) => e.detail.payload.commonLabels.service === 'billing')).toBe(false);
    });
  });
});
