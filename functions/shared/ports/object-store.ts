/**
 * The store: S3 on AWS, a data directory locally. Keys are the same in both
 * (see docs/architecture.md, "Store keys"). Bodies are bytes; callers choose the encoding.
 */
export interface StoredObject {
  readonly key: string;
  readonly body: Buffer;
  /** Opaque version tag; pass it back as `ifMatch` for a compare-and-swap update. */
  readonly etag: string;
  readonly contentType?: string;
}

export interface PutOptions {
  readonly contentType?: string;
  /** Write only if the stored object still has this etag (optimistic concurrency). */
  readonly ifMatch?: string;
  /**
   * Whether the body must survive a power loss once the call resolves. The data directory flushes it to
   * disk first (a few ms each); pass false for objects toilless renders again or never reads back (a
   * Markdown rendering, an outbox copy): a killed process still leaves them whole, a power loss may leave
   * the old body or none. S3 ignores it: every write there is durable. @default true
   */
  readonly flush?: boolean;
}

export interface ObjectStore {
  /** The object, or undefined when there is none at `key`. */
  get(key: string): Promise<StoredObject | undefined>;
  /**
   * Writes atomically: readers see the old or the new body, never a torn one.
   * With `ifMatch`, throws PreconditionFailedError when the object changed or is gone.
   */
  put(key: string, body: Buffer | string, options?: PutOptions): Promise<{ etag: string }>;
  /** Creates the object only if no object exists at `key`; true when this call created it. Atomic. */
  putIfAbsent(key: string, body: Buffer | string, options?: Omit<PutOptions, 'ifMatch'>): Promise<boolean>;
  /** Removes the object; removing a missing object is not an error. */
  delete(key: string): Promise<void>;
  /** All keys under `prefix`, in lexicographic order. */
  list(prefix: string): AsyncIterable<string>;
}

/** Store keys must be relative, slash-separated, and free of `..` so both adapters map them the same way. */
export function assertValidKey(key: string): void {
  if (
    key.length === 0 ||
    key.length > 1024 ||
    key.startsWith('/') ||
    key.endsWith('/') ||
    key.split('/').some((part) => part === '' || part === '.' || part === '..') ||
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
    /[\u0000-\u001f\\]/.test(key)
  ) {
    throw new TypeError(`invalid store key ${JSON.stringify(key)}: use relative, slash-separated segments`);
  }
}
