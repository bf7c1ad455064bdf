/**
 * An in-memory OTLP/HTTP receiver that accepts what the OpenTelemetry JS exporters send in JSON
 * (POST /v1/traces, /v1/logs) and keeps the spans and log records for assertions.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

interface KeyValue {
  readonly key: string;
  readonly value: { readonly stringValue?: string; readonly intValue?: string | number };
}

/** A span as OTLP JSON carries it (ids in hex), with its resource's attributes. */
export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: number;
  readonly attributes?: readonly KeyValue[];
  readonly status?: { readonly code?: number };
  readonly resource: readonly KeyValue[];
}

/** A log record as OTLP JSON carries it, with its resource's attributes. */
export interface ReceivedLogRecord {
  readonly traceId?: string;
  readonly spanId?: string;
  readonly severityText?: string;
  readonly body?: { readonly stringValue?: string };
  readonly attributes?: readonly KeyValue[];
  readonly resource: readonly KeyValue[];
}

export interface OtlpReceiver {
  /** Base URL to give as OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string;
  readonly spans: readonly ReceivedSpan[];
  readonly logRecords: readonly ReceivedLogRecord[];
  /** Request bodies it could not read, with the reason. */
  readonly rejected: readonly string[];
  stop(): Promise<void>;
}

interface TracesRequest {
  resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { spans?: ReceivedSpan[] }[] }[];
}
interface LogsRequest {
  resourceLogs?: {
    resource?: { attributes?: KeyValue[] };
    scopeLogs?: { logRecords?: ReceivedLogRecord[] }[];
  }[];
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const logRecords: ReceivedLogRecord[] = [];
  const rejected: string[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      try {
        let body = Buffer.concat(chunks);
        if (request.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        if (!String(request.headers['content-type']).startsWith('application/json')) {
          throw new Error(`content-type ${request.headers['content-type']}: only OTLP JSON is read here`);
        }
        const parsed = JSON.parse(body.toString('utf8')) as TracesRequest & LogsRequest;
        if (request.url === '/v1/traces') {
          for (const resourceSpans of parsed.resourceSpans ?? []) {
            const resource = resourceSpans.resource?.attributes ?? [];
            for (const scope of resourceSpans.scopeSpans ?? []) {
              for (const span of scope.spans ?? []) spans.push({ ...span, resource });
            }
          }
        } else if (request.url === '/v1/logs') {
          for (const resourceLogs of parsed.resourceLogs ?? []) {
            const resource = resourceLogs.resource?.attributes ?? [];
            for (const scope of resourceLogs.scopeLogs ?? []) {
              for (const record of scope.logRecords ?? []) logRecords.push({ ...record, resource });
            }
          }
        } else {
          throw new Error(`no OTLP signal at ${request.url}`);
        }
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch (error) {
        rejected.push((error as Error).message);
        response.writeHead(400, { 'content-type': 'application/json' }).end('{}');
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolveListen) => server.once('listening', resolveListen));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    logRecords,
    rejected,
    stop: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}

/** The string value of attribute `key`, if any. */
export function attribute(attributes: readonly KeyValue[] | undefined, key: string): string | undefined {
  const found = attributes?.find((entry) => entry.key === key)?.value;
  return found?.stringValue ?? (found?.intValue === undefined ? undefined : String(found.intValue));
}
