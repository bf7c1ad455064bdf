import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  EventBridgeBus,
  fromEventBridgeEvent,
} from '../../../functions/shared/adapters/aws/eventbridge-bus.js';
import { EventPublishError, ValidationError } from '../../../functions/shared/errors.js';
import type { ToillessEvent } from '../../../functions/shared/events/types.js';
import { deliveredToLambda, TEST_BUS, useAwsTestServers } from '../../support/aws-test-servers.js';
import { EventBridgeTestServer, INTERNAL_FAILURE, THROTTLED } from '../../support/eventbridge-server.js';
import { RecordingClock } from '../../support/recording-clock.js';

function deploymentRecorded(id: string, padding = ''): ToillessEvent<'DeploymentRecorded'> {
  return {
    id,
    type: 'DeploymentRecorded',
    time: '2026-11-28T09:30:00.000Z',
    detail: {
      repository: 'acme/shop',
      environment: 'production',
      deploymentId: id,
      sha: `abc123${padding}`,
      status: 'success',
      production: true,
      finishedAt: '2026-11-28T09:29:00Z',
      services: ['checkout'],
    },
  };
}

describe('EventBridgeBus', () => {
  const aws = useAwsTestServers();
  let clock: RecordingClock;

  beforeEach(() => {
    clock = new RecordingClock();
  });

  function makeBus(overrides: { maxAttempts?: number; eventBusName?: string } = {}): EventBridgeBus {
    return aws.bus({ clock, ...overrides });
  }

  it('sends each event as a PutEvents entry with source toilless and the type as detail-type', async () => {
    // Prepare
    const bus = makeBus();
    const event = deploymentRecorded('dep-1');

    // Act
    await bus.publish([event]);

    // Assess
    expect(aws.eventBridge.accepted).toHaveLength(1);
    const entry = aws.eventBridge.accepted[0];
    expect(entry).toMatchObject({
      Source: 'toilless',
      DetailType: 'DeploymentRecorded',
      EventBusName: TEST_BUS,
    });
    expect(JSON.parse(entry?.Detail ?? '')).toEqual({ id: 'dep-1', time: event.time, detail: event.detail });
    expect(entry?.Time).toBe(Date.parse(event.time) / 1000);
    expect(aws.eventBridge.requestHeaders[0]).toMatchObject({
      'x-amz-target': 'AWSEvents.PutEvents',
      'content-type': 'application/x-amz-json-1.1',
    });
  });

  it('splits 23 events into requests of 10, 10 and 3, in order', async () => {
    // Prepare
    const bus = makeBus();
    const events = Array.from({ length: 23 }, (_, i) => deploymentRecorded(`dep-${i}`));

    // Act
    await bus.publish(events);

    // Assess
    expect(aws.eventBridge.calls.map((call) => call.length)).toEqual([10, 10, 3]);
    expect(aws.eventBridge.accepted.map((entry) => JSON.parse(entry.Detail ?? '').id)).toEqual(
      events.map((e) => e.id),
    );
  });

  it('splits further so that no request goes over 256 KB', async () => {
    // Prepare: five entries of about 100 KB fit two to a request.
    const bus = makeBus();
    const events = Array.from({ length: 5 }, (_, i) =>
      deploymentRecorded(`dep-${i}`, 'x'.repeat(100 * 1024)),
    );

    // Act
    await bus.publish(events);

    // Assess
    expect(aws.eventBridge.calls.map((call) => call.length)).toEqual([2, 2, 1]);
    expect(aws.eventBridge.accepted).toHaveLength(5);
  });

  it('refuses an event too large for one entry, naming it, and sends nothing', async () => {
    // Prepare
    const bus = makeBus();

    // Act
    const attempt = bus.publish([
      deploymentRecorded('dep-small'),
      deploymentRecorded('dep-huge', 'x'.repeat(256 * 1024)),
    ]);

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(EventPublishError);
    await expect(attempt).rejects.toMatchObject({ failedEventIds: ['dep-huge'] });
    await expect(attempt).rejects.toThrow(/dep-huge .* over the 256 KB limit/);
    expect(aws.eventBridge.calls).toHaveLength(0);
  });

  it('resends only the entries EventBridge refused, after a backoff', async () => {
    // Prepare
    const bus = makeBus();
    const events = Array.from({ length: 4 }, (_, i) => deploymentRecorded(`dep-${i}`));
    aws.eventBridge.failEntriesOfNextCall([1, 3], THROTTLED);

    // Act
    await bus.publish(events);

    // Assess
    const idsPerCall = aws.eventBridge.calls.map((call) =>
      call.map((entry) => JSON.parse(entry.Detail ?? '').id),
    );
    expect(idsPerCall).toEqual([
      ['dep-0', 'dep-1', 'dep-2', 'dep-3'],
      ['dep-1', 'dep-3'],
    ]);
    expect(aws.eventBridge.accepted.map((entry) => JSON.parse(entry.Detail ?? '').id).sort()).toEqual([
      'dep-0',
      'dep-1',
      'dep-2',
      'dep-3',
    ]);
    expect(clock.sleeps).toHaveLength(1);
    expect(clock.sleeps[0]).toBeLessThan(100);
  });

  it('gives up after maxAttempts and names the refused events with the error EventBridge gave', async () => {
    // Prepare
    const bus = makeBus({ maxAttempts: 3 });
    aws.eventBridge.failEntriesOfNextCall([1]);
    aws.eventBridge.failEntriesOfNextCall([0]);
    aws.eventBridge.failEntriesOfNextCall([0]);

    // Act
    const error = await bus
      .publish([deploymentRecorded('dep-0'), deploymentRecorded('dep-1'), deploymentRecorded('dep-2')])
      .catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(EventPublishError);
    expect((error as EventPublishError).failedEventIds).toEqual(['dep-1']);
    expect((error as Error).message).toContain(`dep-1 (InternalFailure: ${INTERNAL_FAILURE.errorMessage})`);
    expect(aws.eventBridge.calls.map((call) => call.length)).toEqual([3, 1, 1]);
    expect(aws.eventBridge.accepted).toHaveLength(2);
    expect(clock.sleeps).toHaveLength(2);
    expect(clock.sleeps[1]).toBeLessThan(200);
  });

  it('does not resend an entry refused for good', async () => {
    // Prepare
    const bus = makeBus();
    aws.eventBridge.failEntriesOfNextCall([0], {
      errorCode: 'MalformedDetail',
      errorMessage: 'Detail is malformed.',
    });

    // Act
    const attempt = bus.publish([deploymentRecorded('dep-0'), deploymentRecorded('dep-1')]);

    // Assess
    await expect(attempt).rejects.toMatchObject({ failedEventIds: ['dep-0'] });
    expect(aws.eventBridge.calls).toHaveLength(1);
    expect(aws.eventBridge.accepted).toHaveLength(1);
  });

  it('reports every event of a request EventBridge refused as a whole', async () => {
    // Prepare
    const bus = makeBus({ eventBusName: 'no-such-bus' });

    // Act
    const error = await bus
      .publish([deploymentRecorded('dep-0'), deploymentRecorded('dep-1')])
      .catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(EventPublishError);
    expect((error as EventPublishError).failedEventIds).toEqual(['dep-0', 'dep-1']);
    expect((error as Error).message).toMatch(
      /ResourceNotFoundException: Event bus no-such-bus does not exist/,
    );
    expect((error as Error).cause).toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('keeps accepted entries out of the failure when a resend request fails as a whole', async () => {
    // Prepare
    const bus = new EventBridgeBus({
      eventBusName: TEST_BUS,
      client: aws.eventBridge.client({ maxAttempts: 1 }),
      clock,
    });
    aws.eventBridge.failEntriesOfNextCall([1], THROTTLED);
    aws.eventBridge.failRequestsAfter(1, 1, {
      status: 500,
      type: 'InternalException',
      message: 'Internal service error.',
    });

    // Act
    const error = await bus
      .publish([deploymentRecorded('dep-0'), deploymentRecorded('dep-1')])
      .catch((caught: unknown) => caught);

    // Assess
    expect((error as EventPublishError).failedEventIds).toEqual(['dep-1']);
    expect((error as Error).message).toMatch(/dep-1 \(InternalException: Internal service error\.\)/);
    expect(aws.eventBridge.accepted).toHaveLength(1);
  });

  it('lets the SDK retry a request that failed with a 500', async () => {
    // Prepare
    const bus = makeBus();
    aws.eventBridge.failNextRequests(1, {
      status: 500,
      type: 'InternalException',
      message: 'Internal service error.',
    });

    // Act
    await bus.publish([deploymentRecorded('dep-0')]);

    // Assess
    expect(aws.eventBridge.requestHeaders).toHaveLength(2);
    expect(aws.eventBridge.accepted).toHaveLength(1);
  });

  it('refuses an event whose type is not a toilless event type', async () => {
    // Prepare
    const bus = makeBus();
    const bad = { ...deploymentRecorded('dep-0'), type: 'DeploymentForgotten' } as unknown as ToillessEvent;

    // Act
    const attempt = bus.publish([bad]);

    // Assess
    await expect(attempt).rejects.toThrow(/event 0 was refused: .*type/);
    expect(aws.eventBridge.calls).toHaveLength(0);
  });
});

describe('EventBridge test server', () => {
  it('refuses PutEvents with more than 10 entries, as EventBridge does', async () => {
    // Prepare
    const server = await EventBridgeTestServer.start();
    const client = server.client();
    const entries = Array.from({ length: 11 }, () => ({ Source: 'toilless', DetailType: 'X', Detail: '{}' }));

    // Act
    const error = await client
      .send(new PutEventsCommand({ Entries: entries }))
      .catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({ name: 'ValidationException' });
    expect(String(error)).toMatch(/less than or equal to 10/);
    client.destroy();
    await server.close();
  });
});

describe('fromEventBridgeEvent', () => {
  it('gives back the published event from what a Lambda target receives', async () => {
    // Prepare
    const server = await EventBridgeTestServer.start({ buses: [TEST_BUS] });
    const event = deploymentRecorded('dep-1');
    await new EventBridgeBus({ eventBusName: TEST_BUS, client: server.client() }).publish([event]);
    await server.close();

    // Act
    const received = fromEventBridgeEvent(deliveredToLambda(server.accepted[0]!));

    // Assess
    expect(received).toEqual(event);
  });

  it.each([
    ['an unknown detail-type', { 'detail-type': 'SomethingElse' }, /detail-type must be one of/],
    ['another source', { source: 'aws.s3' }, /source "toilless"/],
    [
      'a detail without the event id',
      { detail: { time: '2026-11-28T09:30:00.000Z', detail: {} } },
      /detail\.id/,
    ],
  ])('refuses an event with %s', (_what, change, message) => {
    // Prepare
    const delivered = {
      ...deliveredToLambda({
        EventId: 'eb-1',
        Source: 'toilless',
        DetailType: 'DeploymentRecorded',
        Detail: JSON.stringify({ id: 'dep-1', time: '2026-11-28T09:30:00.000Z', detail: {} }),
        Time: 1_795_858_200,
      }),
      ...change,
    };

    // Act
    const parse = () => fromEventBridgeEvent(delivered);

    // Assess
    expect(parse).toThrow(ValidationError);
    expect(parse).toThrow(message);
  });
});
