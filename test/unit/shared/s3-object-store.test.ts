import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../../functions/shared/adapters/aws/s3-object-store.js';
import { PreconditionFailedError, ToillessError } from '../../../functions/shared/errors.js';
import { collect, describeObjectStoreContract } from '../../support/object-store-contract.js';
import { CONDITIONAL_CONFLICT, INTERNAL_ERROR, S3TestServer } from '../../support/s3-server.js';

const BUCKET = 'toilless-test';

describeObjectStoreContract('S3ObjectStore', async () => {
  const server = await S3TestServer.start({ buckets: [BUCKET] });
  const client = server.client();
  return {
    store: new S3ObjectStore({ bucket: BUCKET, client }),
    close: async () => {
      client.destroy();
      await server.close();
    },
  };
});

describe('S3ObjectStore against the S3 protocol', () => {
  let server: S3TestServer;

  beforeEach(async () => {
    server = await S3TestServer.start({ buckets: [BUCKET] });
  });

  afterEach(async () => {
    await server.close();
  });

  it('pages through more than 1000 keys with continuation tokens', async () => {
    // Prepare
    const keys = Array.from(
      { length: 2345 },
      (_, i) => `deployments/acme/shop/production/${String(i).padStart(5, '0')}.json`,
    );
    for (const key of keys) server.seed(BUCKET, key, '{}');
    server.seed(BUCKET, 'incidents/a/timeline.json', '{}');
    const store = new S3ObjectStore({ bucket: BUCKET, client: server.client() });

    // Act
    const listed = await collect(store.list('deployments/'));

    // Assess
    expect(listed).toEqual(keys);
    const pages = server.requests.filter((request) => request.query['list-type'] === '2');
    expect(pages).toHaveLength(3);
    expect(pages[0]?.query['continuation-token']).toBeUndefined();
    expect(pages[1]?.query['continuation-token']).toBeDefined();
    expect(pages.every((request) => request.query['prefix'] === 'deployments/')).toBe(true);
  });

  it('sends If-None-Match: * for putIfAbsent and If-Match with the etag for a compare-and-swap', async () => {
    // Prepare
    const store = new S3ObjectStore({ bucket: BUCKET, client: server.client() });

    // Act
    await store.putIfAbsent('dedup/github/d-1', 'x');
    const { etag } = await store.put('incidents/a/timeline.json', '{"v":1}', {
      contentType: 'application/json',
    });
    await store.put('incidents/a/timeline.json', '{"v":2}', { ifMatch: etag });

    // Assess
    const puts = server.requests.filter((request) => request.method === 'PUT');
    expect(puts.map((request) => request.key)).toEqual([
      'dedup/github/d-1',
      'incidents/a/timeline.json',
      'incidents/a/timeline.json',
    ]);
    expect(puts[0]?.headers['if-none-match']).toBe('*');
    expect(puts[0]?.headers['if-match']).toBeUndefined();
    expect(puts[1]?.headers['if-match']).toBeUndefined();
    expect(puts[1]?.headers['content-type']).toBe('application/json');
    expect(puts[2]?.headers['if-match']).toBe(etag);
  });

  it('writes every key under the configured prefix and lists them without it', async () => {
    // Prepare
    server.seed(BUCKET, 'other/x.json', '{}');
    const store = new S3ObjectStore({ bucket: BUCKET, client: server.client(), prefix: 'toilless/' });

    // Act
    await store.put('incidents/a/timeline.json', '{}');
    const listed = await collect(store.list(''));
    const found = await store.get('incidents/a/timeline.json');

    // Assess
    expect(server.keys(BUCKET)).toEqual(['other/x.json', 'toilless/incidents/a/timeline.json']);
    expect(listed).toEqual(['incidents/a/timeline.json']);
    expect(found?.key).toBe('incidents/a/timeline.json');
  });

  it('defaults the content type from the key extension', async () => {
    // Prepare
    const store = new S3ObjectStore({ bucket: BUCKET, client: server.client() });

    // Act
    await store.put('incidents/a/timeline.md', '# t');
    await store.putIfAbsent('reports/2026-W48/report.pdf', Buffer.from('%PDF'));
    await store.put('outbox/slack/1', 'x');

    // Assess
    expect(server.object(BUCKET, 'incidents/a/timeline.md')?.contentType).toBe(
      'text/markdown; charset=utf-8',
    );
    expect(server.object(BUCKET, 'reports/2026-W48/report.pdf')?.contentType).toBe('application/pdf');
    expect(server.object(BUCKET, 'outbox/slack/1')?.contentType).toBe('application/octet-stream');
  });

  it('rides out S3 throttling through the SDK retries', async () => {
    // Prepare
    const store = new S3ObjectStore({ bucket: BUCKET, client: server.client({ maxAttempts: 3 }) });
    server.failNext(2);

    // Act
    await store.put('incidents/a/timeline.json', '{}');

    // Assess
    expect(server.object(BUCKET, 'incidents/a/timeline.json')?.body.toString()).toBe('{}');
    expect(server.requests).toHaveLength(3);
  });

  it('throws, rather than reporting a missing key, when S3 keeps failing', async () => {
    // Prepare
    server.seed(BUCKET, 'incidents/a/timeline.json', '{}');
    const store = new S3ObjectStore({ bucket: BUCKET, client: server.client({ maxAttempts: 3 }) });
    server.failNext(3, INTERNAL_ERROR);

    // Act
    const attempt = store.get('incidents/a/timeline.json');

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'InternalError' });
  });

  it('reads a missing key as absent when S3 answers AccessDenied to a role that may list only its prefixes', async () => {
    // Prepare
    const store = new S3ObjectStore({ bucket: BUCKET, client: server.client() });
    server.failNext(1, { status: 403, code: 'AccessDenied', message: 'Access Denied' });

    // Act
    const read = await store.get('incidents/a/timeline.json');

    // Assess
    expect(read).toBeUndefined();
    const listing = server.requests.find((request) => request.query['list-type'] === '2');
    expect(listing?.query.prefix).toBe('incidents/a/timeline.json');
  });

  it('explains AccessDenied on a key that exists', async () => {
    // Prepare
    server.seed(BUCKET, 'incidents/a/timeline.json', '{}');
    const store = new S3ObjectStore({ bucket: BUCKET, client: server.client() });
    server.failNext(1, { status: 403, code: 'AccessDenied', message: 'Access Denied' });

    // Act
    const attempt = store.get('incidents/a/timeline.json');

    // Assess
    await expect(attempt).rejects.toThrow(/s3:GetObject on the key and s3:ListBucket under its prefix/);
  });

  it('explains AccessDenied when the listing is refused as well', async () => {
    // Prepare
    const store = new S3ObjectStore({ bucket: BUCKET, client: server.client() });
    server.failNext(2, { status: 403, code: 'AccessDenied', message: 'Access Denied' });

    // Act
    const attempt = store.get('incidents/a/timeline.json');

    // Assess
    await expect(attempt).rejects.toThrow(/AccessDenied/);
  });

  it('throws when the bucket does not exist instead of reporting keys as missing', async () => {
    // Prepare
    const store = new S3ObjectStore({ bucket: 'no-such-bucket', client: server.client() });

    // Act
    const attempt = store.get('incidents/a/timeline.json');

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'NoSuchBucket' });
  });

  it('repeats putIfAbsent after 409 ConditionalRequestConflict and creates the object', async () => {
    // Prepare
    const store = new S3ObjectStore({ bucket: BUCKET, client: server.client() });
    server.failNext(2, CONDITIONAL_CONFLICT);

    // Act
    const created = await store.putIfAbsent('dedup/github/d-1', 'x');

    // Assess
    expect(created).toBe(true);
    expect(server.requests.filter((request) => request.method === 'PUT')).toHaveLength(3);
  });

  it('reports a lost race when conflicts persist and the object now exists', async () => {
    // Prepare
    server.seed(BUCKET, 'dedup/github/d-1', 'other writer');
    const store = new S3ObjectStore({ bucket: BUCKET, client: server.client(), conflictAttempts: 3 });
    server.failNext(3, CONDITIONAL_CONFLICT);

    // Act
    const created = await store.putIfAbsent('dedup/github/d-1', 'x');

    // Assess
    expect(created).toBe(false);
    expect(server.requests.map((request) => request.method)).toEqual(['PUT', 'PUT', 'PUT', 'HEAD']);
    expect(server.object(BUCKET, 'dedup/github/d-1')?.body.toString()).toBe('other writer');
  });

  it('throws when conflicts persist and the object still does not exist', async () => {
    // Prepare
    const store = new S3ObjectStore({ bucket: BUCKET, client: server.client(), conflictAttempts: 3 });
    server.failNext(3, CONDITIONAL_CONFLICT);

    // Act
    const attempt = store.putIfAbsent('dedup/github/d-1', 'x');

    // Assess
    await expect(attempt).rejects.toThrow(ToillessError);
    await expect(attempt).rejects.toThrow(/ConditionalRequestConflict .* retry the write/);
  });

  it('turns a 409 on a compare-and-swap into PreconditionFailedError so the caller re-reads', async () => {
    // Prepare
    const store = new S3ObjectStore({ bucket: BUCKET, client: server.client() });
    const { etag } = await store.put('incidents/a/timeline.json', '{"v":1}');
    server.failNext(1, CONDITIONAL_CONFLICT);

    // Act
    const attempt = store.put('incidents/a/timeline.json', '{"v":2}', { ifMatch: etag });

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(PreconditionFailedError);
    expect(server.object(BUCKET, 'incidents/a/timeline.json')?.body.toString()).toBe('{"v":1}');
  });

  it('refuses a prefix option that is not a folder', () => {
    // Act
    const build = () => new S3ObjectStore({ bucket: BUCKET, client: server.client(), prefix: 'toilless' });

    // Assess
    expect(build).toThrow(/must end with "\/"/);
  });
});
