/**
 * A local EventBridge for tests: PutEvents over the JSON 1.1 protocol, with the request limits
 * (1 to 10 entries, 256 KB), request-level errors and per-entry failures EventBridge answers with.
 * Tests can make chosen entries of the next call fail, to prove that only those are sent again.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { EventBridgeClient, type EventBridgeClientConfig } from '@aws-sdk/client-eventbridge';
import { closeServer, listenOnLoopback, originOf, readBody } from './http-test-server.js';

export interface EventBridgeTestServerOptions {
  /** Buses that exist besides `default`. @default ['toilless-test'] */
  readonly buses?: readonly string[];
}

/** An entry as it arrived in a PutEvents request body. */
export interface ReceivedEntry {
  readonly Source?: string;
  readonly DetailType?: string;
  readonly Detail?: string;
  /** Epoch seconds, as the JSON 1.1 protocol sends timestamps. */
  readonly Time?: number;
  readonly EventBusName?: string;
  readonly Resources?: readonly string[];
}

export interface AcceptedEntry extends ReceivedEntry {
  readonly EventId: string;
}

export interface EntryFailure {
  readonly errorCode: string;
  readonly errorMessage: string;
}

export const THROTTLED: EntryFailure = { errorCode: 'ThrottlingException', errorMessage: 'Rate exceeded.' };
export const INTERNAL_FAILURE: EntryFailure = {
  errorCode: 'InternalFailure',
  errorMessage: 'The request processing has failed because of an unknown error, exception or failure.',
};

export interface RequestFailure {
  readonly status: number;
  readonly type: string;
  readonly message: string;
}

const MAX_ENTRIES = 10;
const MAX_REQUEST_BYTES = 256 * 1024;

export class EventBridgeTestServer {
  /** Entries EventBridge accepted, in order. */
  readonly accepted: AcceptedEntry[] = [];
  /** The entries of every PutEvents call that reached validation, in order. */
  readonly calls: (readonly ReceivedEntry[])[] = [];
  /** Headers of every request, for assertions on the protocol. */
  readonly requestHeaders: Readonly<Record<string, string | string[] | undefined>>[] = [];
  private readonly buses: Set<string>;
  private readonly entryFailurePlans: Map<number, EntryFailure>[] = [];
  /** Whole-request failures by request number (0 = the first request this server receives). */
  private readonly requestFailures = new Map<number, RequestFailure>();
  private requestsSeen = 0;

  private constructor(
    private readonly server: Server,
    options: EventBridgeTestServerOptions,
  ) {
    this.buses = new Set(['default', ...(options.buses ?? ['toilless-test'])]);
  }

  static async start(options: EventBridgeTestServerOptions = {}): Promise<EventBridgeTestServer> {
    let instance: EventBridgeTestServer | undefined;
    const server = createServer((request, response) => {
      instance?.handle(request, response).catch((error: unknown) => {
        sendError(response, 500, 'InternalException', `test server failed: ${String(error)}`);
      });
    });
    instance = new EventBridgeTestServer(server, options);
    await listenOnLoopback(server);
    return instance;
  }

  get endpoint(): string {
    return originOf(this.server);
  }

  /** An SDK client for this server, with static fake credentials in us-east-1. */
  client(overrides: EventBridgeClientConfig = {}): EventBridgeClient {
    return new EventBridgeClient({
      ...overrides,
      endpoint: this.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIATOILLESSTEST0000', secretAccessKey: 'toilless-test-secret-key' },
    });
  }

  /** In the next PutEvents call that passes validation, the entries at these 0-based positions fail. */
  failEntriesOfNextCall(positions: readonly number[], failure: EntryFailure = INTERNAL_FAILURE): void {
    this.entryFailurePlans.push(new Map(positions.map((position) => [position, failure])));
  }

  /** The next `count` requests fail as a whole, before validation. */
  failNextRequests(count: number, failure: RequestFailure): void {
    this.failRequestsAfter(0, count, failure);
  }

  /** Lets `skip` requests through, then fails the `count` after them as a whole. */
  failRequestsAfter(skip: number, count: number, failure: RequestFailure): void {
    for (let i = 0; i < count; i++) this.requestFailures.set(this.requestsSeen + skip + i, failure);
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const raw = await readBody(request);
    this.requestHeaders.push({ ...request.headers });
    const requestNumber = this.requestsSeen++;
    const failure = this.requestFailures.get(requestNumber);
    if (failure !== undefined) return sendError(response, failure.status, failure.type, failure.message);
    if (!String(request.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 Credential=')) {
      return sendError(response, 400, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    }
    if (request.method !== 'POST' || request.headers['x-amz-target'] !== 'AWSEvents.PutEvents') {
      return sendError(response, 400, 'UnknownOperationException', '');
    }
    if (!String(request.headers['content-type'] ?? '').startsWith('application/x-amz-json-1.1')) {
      return sendError(response, 400, 'SerializationException', 'Unexpected content type');
    }
    let body: { Entries?: unknown };
    try {
      body = JSON.parse(raw.toString('utf8')) as { Entries?: unknown };
    } catch {
      return sendError(
        response,
        400,
        'SerializationException',
        'Start of structure or map found where not expected.',
      );
    }
    if (!Array.isArray(body.Entries)) {
      return sendError(
        response,
        400,
        'ValidationException',
        "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null",
      );
    }
    const entries = body.Entries as ReceivedEntry[];
    if (entries.length < 1 || entries.length > MAX_ENTRIES) {
      const bound =
        entries.length < 1 ? 'greater than or equal to 1' : `less than or equal to ${MAX_ENTRIES}`;
      return sendError(
        response,
        400,
        'ValidationException',
        `1 validation error detected: Value '[...]' at 'entries' failed to satisfy constraint: Member must have length ${bound}`,
      );
    }
    const total = entries.reduce((sum, entry) => sum + entrySize(entry), 0);
    if (total > MAX_REQUEST_BYTES) {
      return sendError(
        response,
        400,
        'ValidationException',
        'Total size of the entries in the request is over the limit.',
      );
    }
    for (const entry of entries) {
      const bus = entry.EventBusName ?? 'default';
      const name = bus.startsWith('arn:') ? bus.slice(bus.lastIndexOf('/') + 1) : bus;
      if (!this.buses.has(name)) {
        return sendError(response, 400, 'ResourceNotFoundException', `Event bus ${name} does not exist.`);
      }
    }

    this.calls.push(entries);
    const plan = this.entryFailurePlans.shift() ?? new Map<number, EntryFailure>();
    const results = entries.map((entry, position) => {
      const planned = plan.get(position);
      if (planned !== undefined) return { ErrorCode: planned.errorCode, ErrorMessage: planned.errorMessage };
      const problem = entryProblem(entry);
      if (problem !== undefined) return problem;
      const EventId = randomUUID();
      this.accepted.push({ ...entry, EventId });
      return { EventId };
    });
    const failed = results.filter((result) => 'ErrorCode' in result).length;
    sendJson(response, 200, { Entries: results, FailedEntryCount: failed });
  }
}

/** Per-entry refusals EventBridge answers inside a 200 response. */
function entryProblem(entry: ReceivedEntry): { ErrorCode: string; ErrorMessage: string } | undefined {
  for (const field of ['Source', 'DetailType', 'Detail'] as const) {
    if (typeof entry[field] !== 'string' || entry[field] === '') {
      return {
        ErrorCode: 'InvalidArgument',
        ErrorMessage: `Parameter ${field} is not valid. Reason: ${field} is a required argument.`,
      };
    }
  }
  try {
    const detail: unknown = JSON.parse(entry.Detail ?? '');
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail))
      throw new Error('not an object');
  } catch {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  }
  if (entrySize(entry) > MAX_REQUEST_BYTES) {
    return {
      ErrorCode: 'InvalidArgument',
      ErrorMessage: 'Parameter Entries is not valid. Reason: entry size exceeds 256KB.',
    };
  }
  return undefined;
}

function entrySize(entry: ReceivedEntry): number {
  const utf8 = (value: string | undefined) => (value === undefined ? 0 : Buffer.byteLength(value, 'utf8'));
  return (
    (entry.Time === undefined ? 0 : 14) +
    utf8(entry.Source) +
    utf8(entry.DetailType) +
    utf8(entry.Detail) +
    (entry.Resources ?? []).reduce((sum, resource) => sum + utf8(resource), 0)
  );
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': 'application/x-amz-json-1.1',
    'Content-Length': String(Buffer.byteLength(text)),
    'x-amzn-RequestId': randomUUID(),
  });
  response.end(text);
}

function sendError(response: ServerResponse, status: number, type: string, message: string): void {
  const text = JSON.stringify({ __type: type, message });
  response.writeHead(status, {
    'Content-Type': 'application/x-amz-json-1.1',
    'Content-Length': String(Buffer.byteLength(text)),
    'x-amzn-RequestId': randomUUID(),
    'x-amzn-ErrorType': `${type}:`,
  });
  response.end(text);
}
