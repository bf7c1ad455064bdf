import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../../functions/local/local-server.js';
import type { ToillessEvent } from '../../../functions/shared/events/types.js';
import { type RunningAlertmanager, startAlertmanagerDeliveringTo } from '../../support/alertmanager.js';
import {
  generatedSecret,
  type LocalServerUnderTest,
  recordEvents,
  startTestLocalServer,
} from '../../support/local-server.js';
import { waitFor } from '../../support/wait.js';

describe('Alertmanager delivering to the local server', () => {
  let local: LocalServerUnderTest;
  let server: LocalServer;
  let received: ToillessEvent<'AlertNotification'>[];

  beforeAll(async () => {
    local = await startTestLocalServer();
    server = local.server;
    received = recordEvents(server, ['AlertNotification']);
  });

  afterAll(async () => {
    await local?.stop();
  });

  async function withAlertmanager(token: string, act: (alertmanager: RunningAlertmanager) => Promise<void>) {
    const alertmanager = await startAlertmanagerDeliveringTo(`${server.url}/webhooks/alertmanager`, token);
    try {
      await act(alertmanager);
    } finally {
      await alertmanager.stop();
    }
  }

  it('delivers a posted alert with its bearer token, and the AlertNotification is published', async () => {
    const token = await generatedSecret(local.dataDir, 'alertmanager-webhook-token');

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
