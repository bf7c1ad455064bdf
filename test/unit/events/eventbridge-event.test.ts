import type { EventBridgeEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { fromEventBridgeEvent } from '../../../functions/shared/adapters/aws/eventbridge-event.js';
import { ValidationError } from '../../../functions/shared/errors.js';

/** An EventBridge rule's delivery to a Lambda target, as AWS documents it. */
function delivery(overrides: Record<string, unknown> = {}): EventBridgeEvent<string, unknown> {
  return {
    version: '0',
    id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
    'detail-type': 'DeploymentRecorded',
    source: 'toilless',
    account: '111122223333',
    time: '2026-11-26T09:05:01Z',
    region: 'eu-west-1',
    resources: [],
    detail: {
      id: 'deployment:acme/web:production:1234:success',
      time: '2026-11-26T09:05:00.000Z',
      detail: { repository: 'acme/web', status: 'success' },
    },
    ...overrides,
  } as EventBridgeEvent<string, unknown>;
}

describe('Toilless events delivered by EventBridge', () => {
  it('takes the type from detail-type and the id, time and detail from the Detail', () => {
    // Act
    const event = fromEventBridgeEvent(delivery());

    // Assess
    expect(event).toEqual({
      id: 'deployment:acme/web:production:1234:success',
      type: 'DeploymentRecorded',
      time: '2026-11-26T09:05:00.000Z',
      detail: { repository: 'acme/web', status: 'success' },
    });
  });

  it('refuses an event from another source, naming the source it takes', () => {
    // Act
    const reading = () => fromEventBridgeEvent(delivery({ source: 'aws.s3' }));

    // Assess
    expect(reading).toThrow(ValidationError);
    expect(reading).toThrow('source: only events with source "toilless" are toilless events');
  });

  it('refuses an unknown detail-type, listing the known ones', () => {
    // Act & Assess
    expect(() => fromEventBridgeEvent(delivery({ 'detail-type': 'Scheduled Event' }))).toThrow(
      /detail-type: detail-type must be one of AlertNotification, .*DeploymentRecorded/,
    );
  });

  it('refuses a Detail without an id or with a time that is not ISO 8601', () => {
    // Act & Assess
    expect(() =>
      fromEventBridgeEvent(delivery({ detail: { time: '2026-11-26T09:05:00Z', detail: {} } })),
    ).toThrow('detail.id');
    expect(() =>
      fromEventBridgeEvent(delivery({ detail: { id: 'x', time: 'yesterday', detail: {} } })),
    ).toThrow('detail.time');
  });
});
