/**
 * A local Prometheus remote-write 1.0 receiver for tests.
 *
 *   const receiver = await startRemoteWriteServer();
 *   new RemoteWriteClient({ url: receiver.url })               // url ends in /api/v1/write
 *   receiver.answerNext({ status: 503, body: 'overloaded' })   // scripted answers, in order
 *   receiver.requests                                          // headers, body, decoded series, answer
 *   await receiver.close();
 *
 * What it enforces, answering like Prometheus:
 * - `POST /api/v1/write` only: other paths answer 404, other methods 405.
 * - Headers: a missing `Content-Encoding`, `Content-Type`, `X-Prometheus-Remote-Write-Version` or
 *   `User-Agent` answers 400 (the 1.0 spec requires all four; Prometheus itself tolerates their absence).
 *   A Content-Type other than `application/x-protobuf` or an encoding other than `snappy` answers 415 with
 *   the text of Prometheus >= 2.54; a version other than 0.1.x answers 400.
 * - Body: Snappy block format (`snappy: corrupt input` on failure, 400), then a protobuf
 *   `prometheus.WriteRequest` decoded by reflection from the .proto definition below (400 when it does
 *   not decode).
 * - The sender rules the remote-write compliance suite checks (400 with the reason): every series has a
 *   non-empty `__name__`, labels sorted by name with no repeated or empty names and no empty values,
 *   samples in strictly increasing timestamp order.
 * Anything else is written: 204, like Prometheus.
 *
 * Scripted answers (`answerNext`) replace the verdict for the next requests, one each, after the
 * request was read and recorded: a status with body and headers (500, 503, 429 + Retry-After, 400...),
 * optionally after a delay (to make a client time out), or a dropped connection (no answer at all).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import protobuf from 'protobufjs';
import { uncompress } from 'snappyjs';

/** The messages of prompb/types.proto and prompb/remote.proto that remote-write 1.0 uses. */
const REMOTE_WRITE_PROTO = `
syntax = "proto3";
package prometheus;
message WriteRequest {
  repeated TimeSeries timeseries = 1;
  reserved 2;
}
message TimeSeries {
  repeated Label labels = 1;
  repeated Sample samples = 2;
}
message Label {
  string name = 1;
  string value = 2;
}
message Sample {
  double value = 1;
  int64 timestamp = 2;
}
`;

const WriteRequest = protobuf
  .parse(REMOTE_WRITE_PROTO, { keepCase: true })
  .root.lookupType('prometheus.WriteRequest');

/** The largest decompressed body accepted, so a broken length prefix cannot exhaust memory. */
const MAX_DECODED_BYTES = 64 * 1024 * 1024;

export interface DecodedLabel {
  readonly name: string;
  readonly value: string;
}

export interface DecodedSample {
  readonly value: number;
  readonly timestampMs: number;
  /** The value had exactly the staleness marker's bits, 0x7ff0000000000002. */
  readonly stale: boolean;
}

/** One series as it was on the wire: labels in the order sent. */
export interface DecodedSeries {
  readonly labels: readonly DecodedLabel[];
  readonly samples: readonly DecodedSample[];
}

/** One request the receiver got. */
export interface ReceivedWrite {
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body as received (compressed). */
  readonly body: Uint8Array;
  /** The decoded WriteRequest, or undefined when the body did not decode. */
  readonly series?: readonly DecodedSeries[];
  /** The status answered, or 0 for a dropped connection. */
  readonly status: number;
}

/** How the receiver answers one request instead of judging it. */
export type ScriptedAnswer =
  | {
      readonly status: number;
      readonly body?: string;
      readonly headers?: Readonly<Record<string, string>>;
      /** Wait this long before answering. @default 0 */
      readonly delayMs?: number;
    }
  | { readonly drop: true };

export interface RemoteWriteServer {
  /** The write endpoint, http://127.0.0.1:<port>/api/v1/write. */
  readonly url: string;
  /** Every request received, in order. */
  readonly requests: readonly ReceivedWrite[];
  /** Queues answers for the next requests, one each, in order. */
  answerNext(...answers: ScriptedAnswer[]): void;
  /** Every sample written (status 204), by series, as `name{label="value",...}`. */
  written(): ReadonlyMap<string, readonly DecodedSample[]>;
  close(): Promise<void>;
}

/** Decodes an uncompressed WriteRequest with protobufjs reflection. */
export function decodeWriteRequest(bytes: Uint8Array): DecodedSeries[] {
  const message = WriteRequest.decode(bytes) as unknown as {
    timeseries: {
      labels: { name: string; value: string }[];
      samples: { value: number; timestamp: unknown }[];
    }[];
  };
  return message.timeseries.map((series) => ({
    labels: series.labels.map(({ name, value }) => ({ name, value })),
    samples: series.samples.map(({ value, timestamp }) => ({
      value,
      timestampMs: toNumber(timestamp),
      stale: hasStaleBits(value),
    })),
  }));
}

/** Starts the receiver on a free 127.0.0.1 port. */
export async function startRemoteWriteServer(): Promise<RemoteWriteServer> {
  const requests: ReceivedWrite[] = [];
  const scripted: ScriptedAnswer[] = [];
  const written = new Map<string, DecodedSample[]>();
  const sockets = new Set<Socket>();

  const server = createServer((request, response) => {
    void handle(request, response).catch((error: unknown) => {
      response.destroy(error instanceof Error ? error : new Error(String(error)));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    if (path !== '/api/v1/write') return answer(response, 404, '404 page not found');
    if (request.method !== 'POST') return answer(response, 405, 'Method Not Allowed');

    const headers = lowerCaseHeaders(request);
    const verdict = judge(headers, body);
    const script = scripted.shift();
    const record = (status: number) =>
      requests.push({ headers, body, ...(verdict.series ? { series: verdict.series } : {}), status });

    if (script !== undefined && 'drop' in script) {
      record(0);
      request.socket.destroy();
      return;
    }
    if (script !== undefined) {
      record(script.status);
      if (script.delayMs) await new Promise((resolve) => setTimeout(resolve, script.delayMs));
      if (response.destroyed) return;
      return answer(response, script.status, script.body ?? '', script.headers);
    }
    record(verdict.status);
    if (verdict.status === 204) {
      for (const series of verdict.series ?? []) {
        const key = seriesKey(series.labels);
        written.set(key, [...(written.get(key) ?? []), ...series.samples]);
      }
    }
    return answer(response, verdict.status, verdict.message);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/api/v1/write`,
    requests,
    answerNext: (...answers) => {
      scripted.push(...answers);
    },
    written: () => written,
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const socket of sockets) socket.destroy();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

interface Verdict {
  readonly status: number;
  readonly message: string;
  readonly series?: readonly DecodedSeries[];
}

function judge(headers: Readonly<Record<string, string>>, body: Uint8Array): Verdict {
  for (const name of [
    'content-encoding',
    'content-type',
    'x-prometheus-remote-write-version',
    'user-agent',
  ]) {
    if (!headers[name])
      return { status: 400, message: `missing ${name} header: remote-write 1.0 requires it` };
  }
  const contentType = headers['content-type']!.split(';')[0]!.trim();
  if (contentType !== 'application/x-protobuf') {
    return {
      status: 415,
      message: `expected application/x-protobuf as the first (media) part, got ${headers['content-type']} content-type`,
    };
  }
  const encoding = headers['content-encoding']!;
  if (encoding.toLowerCase() !== 'snappy') {
    return {
      status: 415,
      message: `${encoding} encoding (compression) is not accepted by this server; only snappy is acceptable`,
    };
  }
  const version = headers['x-prometheus-remote-write-version']!;
  if (!/^0\.1\.\d+$/.test(version)) {
    return {
      status: 400,
      message: `unsupported X-Prometheus-Remote-Write-Version ${version}: expected 0.1.0`,
    };
  }

  let decompressed: Uint8Array;
  try {
    decompressed = uncompress(body, MAX_DECODED_BYTES);
  } catch {
    return { status: 400, message: 'snappy: corrupt input' };
  }
  let series: DecodedSeries[];
  try {
    series = decodeWriteRequest(decompressed);
  } catch (error) {
    return { status: 400, message: `proto: ${error instanceof Error ? error.message : String(error)}` };
  }
  const problem = series.map(seriesProblem).find((found) => found !== undefined);
  if (problem !== undefined) return { status: 400, message: problem, series };
  return { status: 204, message: '', series };
}

/** The sender rules of the remote-write 1.0 spec, as the compliance suite checks them. */
function seriesProblem(series: DecodedSeries): string | undefined {
  const name = seriesKey(series.labels);
  const metricName = series.labels.find((label) => label.name === '__name__');
  if (metricName === undefined || metricName.value === '') return `series ${name} has no __name__ label`;
  for (let i = 0; i < series.labels.length; i++) {
    const label = series.labels[i]!;
    if (label.name === '') return `series ${name} has a label with an empty name`;
    if (label.value === '') return `series ${name} has label ${label.name} with an empty value`;
    const previous = series.labels[i - 1];
    if (previous !== undefined && previous.name === label.name) {
      return `series ${name} repeats label ${label.name}`;
    }
    if (previous !== undefined && Buffer.compare(Buffer.from(previous.name), Buffer.from(label.name)) > 0) {
      return `series ${name} has labels out of order: ${previous.name} before ${label.name}`;
    }
  }
  for (let i = 1; i < series.samples.length; i++) {
    if (series.samples[i]!.timestampMs <= series.samples[i - 1]!.timestampMs) {
      return `series ${name} has samples out of timestamp order at ${series.samples[i]!.timestampMs}`;
    }
  }
  return undefined;
}

function seriesKey(labels: readonly DecodedLabel[]): string {
  const metricName = labels.find((label) => label.name === '__name__')?.value ?? '';
  const rest = labels
    .filter((label) => label.name !== '__name__')
    .map((label) => `${label.name}=${JSON.stringify(label.value)}`);
  return `${metricName}{${rest.join(',')}}`;
}

function answer(
  response: ServerResponse,
  status: number,
  text: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  const body = text === '' || status === 204 ? '' : `${text}\n`;
  response.writeHead(status, {
    ...(body === '' ? {} : { 'content-type': 'text/plain; charset=utf-8' }),
    ...headers,
  });
  response.end(body);
}

function readBody(request: IncomingMessage): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.once('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
    request.once('error', reject);
  });
}

function lowerCaseHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  // int64 fields decode to Long objects when the long package is present, as it is with protobufjs 7.
  if (typeof value === 'object' && value !== null && 'toNumber' in value) {
    return (value as { toNumber(): number }).toNumber();
  }
  return Number(value);
}

const bits = new DataView(new ArrayBuffer(8));

function hasStaleBits(value: number): boolean {
  bits.setFloat64(0, value);
  return bits.getUint32(0) === 0x7ff00000 && bits.getUint32(4) === 0x00000002;
}
