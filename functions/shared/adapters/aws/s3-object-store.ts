/**
 * The store on S3. Conditional writes make it safe under concurrent Lambdas: putIfAbsent is a
 * PutObject with If-None-Match: *, and a compare-and-swap update is a PutObject with If-Match.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { PreconditionFailedError, ToillessError } from '../../errors.js';
import {
  assertValidKey,
  type ObjectStore,
  type PutOptions,
  type StoredObject,
} from '../../ports/object-store.js';
import { contentTypeOf } from '../content-type.js';

export interface S3ObjectStoreProps {
  /** The bucket that holds the store's keys. */
  readonly bucket: string;
  /** @default a client with the SDK's default configuration (region and credentials from the environment) */
  readonly client?: S3Client;
  /** Puts every key under this folder of the bucket, e.g. `toilless/`. @default '' (the bucket root) */
  readonly prefix?: string;
  /** How many times putIfAbsent repeats a write that S3 refused with 409 ConditionalRequestConflict. @default 4 */
  readonly conflictAttempts?: number;
}

export class S3ObjectStore implements ObjectStore {
  private readonly bucket: string;
  private readonly client: S3Client;
  private readonly prefix: string;
  private readonly conflictAttempts: number;

  constructor(props: S3ObjectStoreProps) {
    if (props.bucket.trim() === '')
      throw new TypeError('S3ObjectStore needs a bucket name: set TOILLESS_BUCKET');
    const prefix = props.prefix ?? '';
    if (prefix !== '') {
      if (!prefix.endsWith('/')) {
        throw new TypeError(`S3ObjectStore prefix ${JSON.stringify(prefix)} must end with "/"`);
      }
      assertValidKey(prefix.slice(0, -1));
    }
    this.bucket = props.bucket;
    this.client = props.client ?? new S3Client({});
    this.prefix = prefix;
    this.conflictAttempts = props.conflictAttempts ?? 4;
  }

  async get(key: string): Promise<StoredObject | undefined> {
    const objectKey = this.objectKeyOf(key);
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      const body = Buffer.from((await response.Body?.transformToByteArray()) ?? new Uint8Array());
      return {
        key,
        body,
        etag: response.ETag ?? '',
        ...(response.ContentType === undefined ? {} : { contentType: response.ContentType }),
      };
    } catch (error) {
      if (errorName(error) === 'NoSuchKey') return undefined;
      if (errorName(error) === 'AccessDenied') {
        // S3 answers 404 for a missing key only to a role that may list the bucket without a prefix
        // condition; a role scoped to its prefixes gets 403, so ask a listing of that key instead.
        if (await this.listingShowsMissing(objectKey)) return undefined;
        throw new ToillessError(
          `S3 refused to read s3://${this.bucket}/${objectKey} (AccessDenied): the role needs s3:GetObject on the key and s3:ListBucket under its prefix`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  async put(key: string, body: Buffer | string, options: PutOptions = {}): Promise<{ etag: string }> {
    const objectKey = this.objectKeyOf(key);
    try {
      const response = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: objectKey,
          Body: toBuffer(body),
          ContentType: options.contentType ?? contentTypeOf(key),
          IfMatch: options.ifMatch,
        }),
      );
      return { etag: response.ETag ?? '' };
    } catch (error) {
      // 404: the object is gone; 409: another conditional write got there first. Both mean "re-read".
      const name = errorName(error);
      if (
        options.ifMatch !== undefined &&
        (name === 'PreconditionFailed' || name === 'NoSuchKey' || name === 'ConditionalRequestConflict')
      ) {
        throw new PreconditionFailedError(key);
      }
      throw error;
    }
  }

  async putIfAbsent(
    key: string,
    body: Buffer | string,
    options: Omit<PutOptions, 'ifMatch'> = {},
  ): Promise<boolean> {
    const objectKey = this.objectKeyOf(key);
    const bytes = toBuffer(body);
    let conflict: unknown;
    for (let attempt = 0; attempt < this.conflictAttempts; attempt++) {
      if (attempt > 0) await sleep(Math.random() * 25 * 2 ** attempt);
      try {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: objectKey,
            Body: bytes,
            ContentType: options.contentType ?? contentTypeOf(key),
            IfNoneMatch: '*',
          }),
        );
        return true;
      } catch (error) {
        const name = errorName(error);
        if (name === 'PreconditionFailed') return false;
        if (name !== 'ConditionalRequestConflict') throw error;
        conflict = error;
      }
    }
    // Still conflicting: another writer is creating it. Lost the race only if the object now exists.
    if (await this.exists(objectKey)) return false;
    throw new ToillessError(
      `S3 kept answering ConditionalRequestConflict for s3://${this.bucket}/${objectKey} after ${this.conflictAttempts} attempts and the object does not exist: retry the write`,
      { cause: conflict },
    );
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKeyOf(key) }));
  }

  async *list(prefix: string): AsyncIterable<string> {
    if (prefix !== '') assertValidKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
    let continuationToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.prefix + prefix,
          ContinuationToken: continuationToken,
        }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key !== undefined) yield object.Key.slice(this.prefix.length);
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken !== undefined);
  }

  /** True when the role may list under the key and the listing has no such key; false when it cannot tell. */
  private async listingShowsMissing(objectKey: string): Promise<boolean> {
    try {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: objectKey, MaxKeys: 1 }),
      );
      return !(page.Contents ?? []).some((object) => object.Key === objectKey);
    } catch {
      return false;
    }
  }

  private async exists(objectKey: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      return true;
    } catch (error) {
      if (errorName(error) === 'NotFound' || errorName(error) === 'NoSuchKey') return false;
      throw error;
    }
  }

  private objectKeyOf(key: string): string {
    assertValidKey(key);
    return this.prefix + key;
  }
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

function toBuffer(body: Buffer | string): Buffer {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
