import { describe, expect, it } from 'vitest';
import { REDACTED_KEYS } from '../../../functions/shared/log.js';
import { captureLog } from '../../support/captured-log.js';

const SECRET = 'very-secret-value';
/** Objects a secret may be logged under, one level down: the usual ones and names nobody planned for. */
const CONTAINERS = ['config', 'headers', 'env', 'err', 'client', 'slackOptions'];

describe('log redaction', () => {
  it.each(REDACTED_KEYS)('redacts %s at the top level', (key) => {
    // Prepare
    const log = captureLog('test');

    // Act
    log.logger.info({ [key]: SECRET, kept: 'visible' }, 'line');

    // Assess
    expect(log.text()).not.toContain(SECRET);
    expect(log.records()[0]).toMatchObject({ [key]: '[redacted]', kept: 'visible' });
  });

  it.each(CONTAINERS.flatMap((container) => REDACTED_KEYS.map((key) => [container, key])))(
    'redacts %s.%s',
    (container, key) => {
      // Prepare
      const log = captureLog('test');

      // Act
      log.logger.warn({ [container]: { [key]: SECRET, kept: 'visible' } }, 'line');

      // Assess
      expect(log.text()).not.toContain(SECRET);
      expect(log.records()[0]?.[container]).toEqual({ [key]: '[redacted]', kept: 'visible' });
    },
  );

  it("redacts a request's Authorization and signature headers and the secrets of a logged environment", () => {
    // Prepare
    const log = captureLog('test');
    const headers = {
      authorization: `Bearer ${SECRET}`,
      'x-hub-signature-256': `sha256=${SECRET}`,
      host: 'h',
    };
    const env = { ALERTMANAGER_WEBHOOK_TOKEN: SECRET, GITHUB_WEBHOOK_SECRET: SECRET, LOG_LEVEL: 'info' };

    // Act
    log.logger.info({ headers, env }, 'request');

    // Assess
    expect(log.text()).not.toContain(SECRET);
    expect(log.records()[0]).toMatchObject({ headers: { host: 'h' }, env: { LOG_LEVEL: 'info' } });
  });

  it("redacts a child logger's bindings", () => {
    // Prepare
    const log = captureLog('test');

    // Act
    log.logger.child({ config: { slackBotToken: SECRET, slackChannel: '#ops' } }).info('bound');

    // Assess
    expect(log.text()).not.toContain(SECRET);
    expect(log.records()[0]).toMatchObject({ config: { slackChannel: '#ops' } });
  });

  it('writes the fields of the per-request lines unchanged', () => {
    // Prepare
    const log = captureLog('test');
    const fields = {
      route: '/webhooks/alertmanager',
      status: 200,
      durationMs: 1.2,
      eventId: 'alertmanager:0123abcd',
      groupKey: '{}:{instance="soak-1", service="sample-app"}',
      alerts: 1,
      deliveryId: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
    };

    // Act
    log.logger.info(fields, 'webhook answered');

    // Assess
    expect(log.records()[0]).toMatchObject({ ...fields, msg: 'webhook answered' });
  });
});
