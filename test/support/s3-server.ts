/**
 * A local S3 for tests: path-style object requests and ListObjectsV2 with the status codes, headers
 * and XML bodies S3 sends, including conditional writes (If-None-Match: *, If-Match), the 1000-key
 * page limit with continuation tokens, checksum validation, and injected 5xx failures.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { crc32 } from 'node:zlib';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { closeServer, listenOnLoopback, originOf, readBody } from './http-test-server.js';

export interface S3TestServerOptions {
  /** Buckets that exist; requests for others get NoSuchBucket. @default ['toilless-test'] */
  readonly buckets?: readonly string[];
  /** The most keys one ListObjectsV2 page returns. @default 1000 (S3's limit) */
  readonly maxKeysLimit?: number;
}

export interface StoredTestObject {
  readonly body: Buffer;
  readonly etag: string;
  readonly contentType: string;
  readonly lastModified: Date;
  /** x-amz-checksum-* headers sent with the upload, returned when the reader asks for checksums. */
  readonly checksums: Readonly<Record<string, string>>;
}

export interface RecordedS3Request {
  readonly method: string;
  readonly bucket: string;
  readonly key: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface InjectedFailure {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

export const SLOW_DOWN: InjectedFailure = {
  status: 503,
  code: 'SlowDown',
  message: 'Please reduce your request rate.',
};
export const INTERNAL_ERROR: InjectedFailure = {
  status: 500,
  code: 'InternalError',
  message: 'We encountered an internal error. Please try again.',
};
export const CONDITIONAL_CONFLICT: InjectedFailure = {
  status: 409,
  code: 'ConditionalRequestConflict',
  message:
    'A conflicting conditional operation is currently in progress against this resource. Please try again.',
};

const XML_HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n';
const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';

export class S3TestServer {
  /** Every request in arrival order, for assertions on the request shape. */
  readonly requests: RecordedS3Request[] = [];
  private readonly buckets = new Map<string, Map<string, StoredTestObject>>();
  private readonly maxKeysLimit: number;
  private readonly failures: InjectedFailure[] = [];
  /** Keys with a conditional write in flight: a second one gets 409 ConditionalRequestConflict. */
  private readonly conditionalWritesInFlight = new Set<string>();

  private constructor(
    private readonly server: Server,
    options: S3TestServerOptions,
  ) {
    for (const bucket of options.buckets ?? ['toilless-test']) this.buckets.set(bucket, new Map());
    this.maxKeysLimit = options.maxKeysLimit ?? 1000;
  }

  static async start(options: S3TestServerOptions = {}): Promise<S3TestServer> {
    let instance: S3TestServer | undefined;
    const server = createServer((request, response) => {
      instance?.handle(request, response).catch((error: unknown) => {
        sendError(response, 500, 'InternalError', `test server failed: ${String(error)}`);
      });
    });
    instance = new S3TestServer(server, options);
    await listenOnLoopback(server);
    return instance;
  }

  get endpoint(): string {
    return originOf(this.server);
  }

  /** An SDK client for this server: path-style, static fake credentials, us-east-1. */
  client(overrides: S3ClientConfig = {}): S3Client {
    return new S3Client({
      ...overrides,
      endpoint: this.endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIATOILLESSTEST0000', secretAccessKey: 'toilless-test-secret-key' },
    });
  }

  /** The next `count` requests fail with `failure` before being looked at. */
  failNext(count: number, failure: InjectedFailure = SLOW_DOWN): void {
    for (let i = 0; i < count; i++) this.failures.push(failure);
  }

  /** Stores an object directly, as if uploaded earlier. */
  seed(bucket: string, key: string, body: Buffer | string, contentType = 'binary/octet-stream'): void {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    this.bucketOf(bucket).set(key, {
      body: bytes,
      etag: etagOf(bytes),
      contentType,
      lastModified: new Date(),
      checksums: {},
    });
  }

  object(bucket: string, key: string): StoredTestObject | undefined {
    return this.bucketOf(bucket).get(key);
  }

  keys(bucket: string): string[] {
    return sortKeys([...this.bucketOf(bucket).keys()]);
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }

  private bucketOf(bucket: string): Map<string, StoredTestObject> {
    const objects = this.buckets.get(bucket);
    if (objects === undefined) throw new Error(`bucket ${bucket} is not served by this S3 test server`);
    return objects;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const [, bucket = '', ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const query = Object.fromEntries(url.searchParams);
    const method = request.method ?? 'GET';
    this.requests.push({ method, bucket, key, query, headers: { ...request.headers } });

    const failure = this.failures.shift();
    if (failure !== undefined) {
      await readBody(request);
      return sendError(response, failure.status, failure.code, failure.message, { method });
    }
    if (!String(request.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 Credential=')) {
      await readBody(request);
      return sendError(response, 403, 'AccessDenied', 'Access Denied', { method });
    }
    const objects = this.buckets.get(decodeURIComponent(bucket));
    if (objects === undefined) {
      await readBody(request);
      return sendError(response, 404, 'NoSuchBucket', 'The specified bucket does not exist', {
        method,
        extra: { BucketName: bucket },
      });
    }
    if (key === '') {
      if (method === 'GET' && query['list-type'] === '2')
        return this.listObjectsV2(bucket, objects, query, response);
      return sendError(
        response,
        501,
        'NotImplemented',
        'A header you provided implies functionality that is not implemented',
        { method },
      );
    }
    switch (method) {
      case 'PUT':
        return this.putObject(bucket, key, objects, request, response);
      case 'GET':
      case 'HEAD':
        return this.getObject(key, objects, request, response, method);
      case 'DELETE':
        objects.delete(key);
        response.writeHead(204, commonHeaders()).end();
        return;
      default:
        return sendError(
          response,
          405,
          'MethodNotAllowed',
          'The specified method is not allowed against this resource.',
          { method },
        );
    }
  }

  private async putObject(
    bucket: string,
    key: string,
    objects: Map<string, StoredTestObject>,
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> {
    const ifNoneMatch = header(request, 'if-none-match');
    const ifMatch = header(request, 'if-match');
    const conditional = ifNoneMatch !== undefined || ifMatch !== undefined;
    const flightKey = `${bucket}/${key}`;
    if (ifNoneMatch !== undefined && ifNoneMatch !== '*') {
      await readBody(request);
      return sendError(
        response,
        501,
        'NotImplemented',
        'A header you provided implies functionality that is not implemented',
        {
          extra: { Header: 'If-None-Match' },
        },
      );
    }
    if (conditional && this.conditionalWritesInFlight.has(flightKey)) {
      await readBody(request);
      return sendError(
        response,
        CONDITIONAL_CONFLICT.status,
        CONDITIONAL_CONFLICT.code,
        CONDITIONAL_CONFLICT.message,
        {
          extra: { Key: key },
        },
      );
    }
    if (conditional) this.conditionalWritesInFlight.add(flightKey);
    try {
      const raw = await readBody(request);
      const payloadHash = header(request, 'x-amz-content-sha256') ?? '';
      if (
        /^[0-9a-f]{64}$/.test(payloadHash) &&
        payloadHash !== createHash('sha256').update(raw).digest('hex')
      ) {
        return sendError(
          response,
          400,
          'XAmzContentSHA256Mismatch',
          "The provided 'x-amz-content-sha256' header does not match what was computed.",
        );
      }
      const body = decodePayload(raw, request);
      const digestProblem = checkDigests(body, request);
      if (digestProblem !== undefined)
        return sendError(response, 400, digestProblem.code, digestProblem.message);

      // The condition is evaluated once the upload is complete, against the object at that moment.
      const current = objects.get(key);
      if (ifNoneMatch === '*' && current !== undefined) {
        return sendError(
          response,
          412,
          'PreconditionFailed',
          'At least one of the pre-conditions you specified did not hold',
          {
            extra: { Condition: 'If-None-Match' },
          },
        );
      }
      if (ifMatch !== undefined) {
        if (current === undefined) {
          return sendError(response, 404, 'NoSuchKey', 'The specified key does not exist.', {
            extra: { Key: key },
          });
        }
        if (!etagMatches(current.etag, ifMatch)) {
          return sendError(
            response,
            412,
            'PreconditionFailed',
            'At least one of the pre-conditions you specified did not hold',
            {
              extra: { Condition: 'If-Match' },
            },
          );
        }
      }
      const checksums = Object.fromEntries(
        Object.entries(request.headers).flatMap(([name, value]) =>
          name.startsWith('x-amz-checksum-') && name !== 'x-amz-checksum-type' && typeof value === 'string'
            ? [[name, value]]
            : [],
        ),
      );
      const stored: StoredTestObject = {
        body,
        etag: etagOf(body),
        contentType: header(request, 'content-type') ?? 'binary/octet-stream',
        lastModified: new Date(),
        checksums,
      };
      objects.set(key, stored);
      response
        .writeHead(200, { ...commonHeaders(), ETag: stored.etag, ...checksums, 'Content-Length': '0' })
        .end();
    } finally {
      if (conditional) this.conditionalWritesInFlight.delete(flightKey);
    }
  }

  private getObject(
    key: string,
    objects: Map<string, StoredTestObject>,
    request: IncomingMessage,
    response: ServerResponse,
    method: 'GET' | 'HEAD',
  ) {
    const stored = objects.get(key);
    if (stored === undefined) {
      return sendError(response, 404, 'NoSuchKey', 'The specified key does not exist.', {
        method,
        extra: { Key: key },
      });
    }
    const ifMatch = header(request, 'if-match');
    if (ifMatch !== undefined && !etagMatches(stored.etag, ifMatch)) {
      return sendError(
        response,
        412,
        'PreconditionFailed',
        'At least one of the pre-conditions you specified did not hold',
        {
          method,
          extra: { Condition: 'If-Match' },
        },
      );
    }
    const ifNoneMatch = header(request, 'if-none-match');
    if (ifNoneMatch !== undefined && etagMatches(stored.etag, ifNoneMatch)) {
      response.writeHead(304, { ...commonHeaders(), ETag: stored.etag }).end();
      return;
    }
    const withChecksums = header(request, 'x-amz-checksum-mode') === 'ENABLED' ? stored.checksums : {};
    response.writeHead(200, {
      ...commonHeaders(),
      ETag: stored.etag,
      'Content-Type': stored.contentType,
      'Content-Length': String(stored.body.length),
      'Last-Modified': stored.lastModified.toUTCString(),
      'Accept-Ranges': 'bytes',
      ...withChecksums,
    });
    response.end(method === 'GET' ? stored.body : undefined);
  }

  private listObjectsV2(
    bucket: string,
    objects: Map<string, StoredTestObject>,
    query: Readonly<Record<string, string>>,
    response: ServerResponse,
  ) {
    const prefix = query['prefix'] ?? '';
    const delimiter = query['delimiter'] ?? '';
    const encodeKeys = query['encoding-type'] === 'url';
    const requestedMaxKeys = query['max-keys'] === undefined ? 1000 : Number(query['max-keys']);
    if (!Number.isInteger(requestedMaxKeys) || requestedMaxKeys < 0) {
      return sendError(
        response,
        400,
        'InvalidArgument',
        'Provided max-keys not an integer or within integer range',
        {
          extra: { ArgumentName: 'max-keys', ArgumentValue: query['max-keys'] ?? '' },
        },
      );
    }
    const maxKeys = Math.min(requestedMaxKeys, this.maxKeysLimit);
    let startAfter = query['start-after'] ?? '';
    const token = query['continuation-token'];
    if (token !== undefined) {
      const decoded = decodeToken(token);
      if (decoded === undefined) {
        return sendError(response, 400, 'InvalidArgument', 'The continuation token provided is incorrect', {
          extra: { ArgumentName: 'continuation-token' },
        });
      }
      startAfter = decoded;
    }

    const contents: { key: string; object: StoredTestObject }[] = [];
    const commonPrefixes: string[] = [];
    let lastReturned = '';
    let isTruncated = false;
    for (const key of sortKeys([...objects.keys()])) {
      if (!key.startsWith(prefix) || Buffer.compare(Buffer.from(key), Buffer.from(startAfter)) <= 0) continue;
      const cut = delimiter === '' ? -1 : key.indexOf(delimiter, prefix.length);
      const commonPrefix = cut === -1 ? undefined : key.slice(0, cut + delimiter.length);
      if (commonPrefix !== undefined && commonPrefixes.at(-1) === commonPrefix) {
        lastReturned = key;
        continue;
      }
      if (contents.length + commonPrefixes.length === maxKeys) {
        isTruncated = true;
        break;
      }
      if (commonPrefix !== undefined) commonPrefixes.push(commonPrefix);
      else contents.push({ key, object: objects.get(key)! });
      lastReturned = key;
    }

    const encode = (value: string) =>
      escapeXml(encodeKeys ? encodeURIComponent(value).replace(/%2F/g, '/') : value);
    const parts = [
      `<ListBucketResult xmlns="${S3_NAMESPACE}">`,
      `<Name>${escapeXml(bucket)}</Name>`,
      `<Prefix>${encode(prefix)}</Prefix>`,
      ...(delimiter === '' ? [] : [`<Delimiter>${encode(delimiter)}</Delimiter>`]),
      `<KeyCount>${contents.length + commonPrefixes.length}</KeyCount>`,
      `<MaxKeys>${requestedMaxKeys}</MaxKeys>`,
      ...(encodeKeys ? ['<EncodingType>url</EncodingType>'] : []),
      `<IsTruncated>${isTruncated}</IsTruncated>`,
      ...(token === undefined ? [] : [`<ContinuationToken>${escapeXml(token)}</ContinuationToken>`]),
      ...(isTruncated
        ? [`<NextContinuationToken>${escapeXml(encodeToken(lastReturned))}</NextContinuationToken>`]
        : []),
      ...(query['start-after'] === undefined
        ? []
        : [`<StartAfter>${encode(query['start-after'])}</StartAfter>`]),
      ...contents.map(
        ({ key, object }) =>
          `<Contents><Key>${encode(key)}</Key><LastModified>${object.lastModified.toISOString()}</LastModified>` +
          `<ETag>${escapeXml(object.etag)}</ETag><ChecksumAlgorithm>CRC32</ChecksumAlgorithm><ChecksumType>FULL_OBJECT</ChecksumType>` +
          `<Size>${object.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
      ),
      ...commonPrefixes.map((value) => `<CommonPrefixes><Prefix>${encode(value)}</Prefix></CommonPrefixes>`),
      '</ListBucketResult>',
    ];
    const xml = XML_HEADER + parts.join('');
    response.writeHead(200, {
      ...commonHeaders(),
      'Content-Type': 'application/xml',
      'Content-Length': String(Buffer.byteLength(xml)),
    });
    response.end(xml);
  }
}

function commonHeaders(): Record<string, string> {
  return {
    'x-amz-request-id': randomBytes(8).toString('hex').toUpperCase(),
    'x-amz-id-2': randomBytes(32).toString('base64'),
    Date: new Date().toUTCString(),
    Server: 'AmazonS3',
  };
}

function sendError(
  response: ServerResponse,
  status: number,
  code: string,
  message: string,
  options: { readonly method?: string; readonly extra?: Readonly<Record<string, string>> } = {},
): void {
  const headers = commonHeaders();
  // HEAD responses carry no body: the SDK reads the error from the status code alone.
  if (options.method === 'HEAD') {
    response.writeHead(status, headers).end();
    return;
  }
  const extra = Object.entries(options.extra ?? {})
    .map(([name, value]) => `<${name}>${escapeXml(value)}</${name}>`)
    .join('');
  const xml =
    `${XML_HEADER}<Error><Code>${code}</Code><Message>${escapeXml(message)}</Message>${extra}` +
    `<RequestId>${headers['x-amz-request-id']}</RequestId><HostId>${headers['x-amz-id-2']}</HostId></Error>`;
  response.writeHead(status, {
    ...headers,
    'Content-Type': 'application/xml',
    'Content-Length': String(Buffer.byteLength(xml)),
  });
  response.end(xml);
}

/** Undoes aws-chunked content encoding (streaming uploads with trailing checksums). */
function decodePayload(raw: Buffer, request: IncomingMessage): Buffer {
  const encoding = header(request, 'content-encoding') ?? '';
  const sha = header(request, 'x-amz-content-sha256') ?? '';
  if (!encoding.split(',').some((part) => part.trim() === 'aws-chunked') && !sha.startsWith('STREAMING-'))
    return raw;
  const chunks: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', offset);
    if (lineEnd === -1) break;
    const size = Number.parseInt(raw.subarray(offset, lineEnd).toString('latin1').split(';')[0] ?? '', 16);
    if (!Number.isFinite(size) || size === 0) {
      // Trailers such as x-amz-checksum-crc32 follow the last chunk.
      for (const line of raw
        .subarray(lineEnd + 2)
        .toString('latin1')
        .split('\r\n')) {
        const separator = line.indexOf(':');
        if (separator > 0)
          request.headers[line.slice(0, separator).trim().toLowerCase()] = line.slice(separator + 1).trim();
      }
      break;
    }
    chunks.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(chunks);
}

function checkDigests(body: Buffer, request: IncomingMessage): { code: string; message: string } | undefined {
  const md5 = header(request, 'content-md5');
  if (md5 !== undefined && md5 !== createHash('md5').update(body).digest('base64')) {
    return { code: 'BadDigest', message: 'The Content-MD5 you specified did not match what we received.' };
  }
  const crc = header(request, 'x-amz-checksum-crc32');
  if (crc !== undefined) {
    const computed = Buffer.alloc(4);
    computed.writeUInt32BE(crc32(body));
    if (crc !== computed.toString('base64')) {
      return { code: 'BadDigest', message: 'The CRC32 you specified did not match the calculated checksum.' };
    }
  }
  return undefined;
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function etagOf(body: Buffer): string {
  return `"${createHash('md5').update(body).digest('hex')}"`;
}

function etagMatches(stored: string, given: string): boolean {
  return given
    .split(',')
    .map((part) => part.trim())
    .some((candidate) => candidate === '*' || candidate === stored || `"${candidate}"` === stored);
}

function sortKeys(keys: string[]): string[] {
  return keys.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

function encodeToken(lastKey: string): string {
  return Buffer.from(`v1:${lastKey}`).toString('base64');
}

function decodeToken(token: string): string | undefined {
  const decoded = Buffer.from(token, 'base64').toString('utf8');
  return decoded.startsWith('v1:') ? decoded.slice(3) : undefined;
}

function escapeXml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
