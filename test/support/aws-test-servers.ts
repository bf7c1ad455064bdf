/**
 * The local EventBridge (and, when asked, S3) that tests of the AWS adapters run against, started
 * around each test or once per file, with the bus and store wired to them and the event a Lambda
 * target receives for an accepted entry.
 */
import type { EventBridgeEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import {
  EventBridgeBus,
  type EventBridgeBusProps,
} from '../../functions/shared/adapters/aws/eventbridge-bus.js';
import { S3ObjectStore } from '../../functions/shared/adapters/aws/s3-object-store.js';
import { type AcceptedEntry, EventBridgeTestServer } from './eventbridge-server.js';
import { S3TestServer } from './s3-server.js';

/** The custom bus the EventBridge test server serves. */
export const TEST_BUS = 'toilless-test';
/** The bucket the S3 test server serves. */
export const TEST_BUCKET = 'toilless-test';

export interface AwsTestServersOptions {
  /** Also start an S3 test server. @default false */
  readonly s3?: boolean;
  /** Fresh servers for every test, or one pair for the whole suite. @default 'test' */
  readonly per?: 'test' | 'suite';
}

export interface AwsTestServers {
  /** The EventBridge test server of the running test. */
  readonly eventBridge: EventBridgeTestServer;
  /** The S3 test server of the running test; only with `s3: true`. */
  readonly s3: S3TestServer;
  /** An EventBridgeBus publishing to the test bus through the test server. */
  bus(props?: Partial<EventBridgeBusProps>): EventBridgeBus;
  /** An S3ObjectStore on the test bucket of the S3 test server. */
  objectStore(): S3ObjectStore;
}

/** Registers the hooks that start and close the servers; call it inside a `describe` or at file level. */
export function useAwsTestServers(options: AwsTestServersOptions = {}): AwsTestServers {
  let eventBridge: EventBridgeTestServer | undefined;
  let s3: S3TestServer | undefined;
  const [before, after] = options.per === 'suite' ? [beforeAll, afterAll] : [beforeEach, afterEach];

  before(async () => {
    eventBridge = await EventBridgeTestServer.start({ buses: [TEST_BUS] });
    if (options.s3 === true) s3 = await S3TestServer.start({ buckets: [TEST_BUCKET] });
  });
  after(async () => {
    await eventBridge?.close();
    await s3?.close();
    eventBridge = undefined;
    s3 = undefined;
  });

  const servers: AwsTestServers = {
    get eventBridge() {
      if (eventBridge === undefined) throw new Error('the EventBridge test server runs only inside a test');
      return eventBridge;
    },
    get s3() {
      if (s3 === undefined)
        throw new Error('the S3 test server runs only inside a test of a suite that asked for it (s3: true)');
      return s3;
    },
    bus: (props = {}) =>
      new EventBridgeBus({ eventBusName: TEST_BUS, client: servers.eventBridge.client(), ...props }),
    objectStore: () => new S3ObjectStore({ bucket: TEST_BUCKET, client: servers.s3.client() }),
  };
  return servers;
}

/** What a Lambda target receives from EventBridge for an accepted entry. */
export function deliveredToLambda(entry: AcceptedEntry): EventBridgeEvent<string, unknown> {
  return {
    version: '0',
    id: entry.EventId,
    'detail-type': entry.DetailType ?? '',
    source: entry.Source ?? '',
    account: '123456789012',
    time: new Date((entry.Time ?? 0) * 1000).toISOString(),
    region: 'us-east-1',
    resources: [],
    detail: JSON.parse(entry.Detail ?? 'null'),
  };
}
