/**
 * JSON records in the store, read with their etag and updated with compare-and-swap: an update is
 * computed from what is stored, written only if its bytes differ, and computed again when another
 * writer got there first. Shared by the workers that keep JSON records (incidents, DORA records).
 */
import { PreconditionFailedError, ToillessError } from './errors.js';
import type { ObjectStore, StoredObject } from './ports/object-store.js';

/** Attempts of one update before giving up (each lost race means another writer made progress). */
const MAX_UPDATE_ATTEMPTS = 20;
const JSON_TYPE = 'application/json';

/** A stored value with the etag to pass back as `ifMatch` when replacing it. */
export interface Versioned<T> {
  readonly value: T;
  readonly etag: string;
}

export async function readJson<T>(store: ObjectStore, key: string): Promise<Versioned<T> | undefined> {
  const object = await store.get(key);
  return object === undefined ? undefined : { value: parseJson<T>(object), etag: object.etag };
}

/** The stored JSON; `remedy` adds what deleting the object would do (e.g. that it is rebuilt). */
export function parseJson<T>(object: StoredObject, remedy?: string): T {
  try {
    return JSON.parse(object.body.toString('utf8')) as T;
  } catch (error) {
    throw new ToillessError(
      `${object.key} is not valid JSON: restore it from a backup or delete it${remedy === undefined ? '' : ` (${remedy})`}`,
      { cause: error },
    );
  }
}

/** Records are indented for people reading them; ledgers are compact because they are large. */
export function serializeRecord(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export function serializeCompact(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

export interface UpdateResult<T> {
  /** What is stored now (undefined when nothing was and the update created nothing). */
  readonly value: T | undefined;
  /** Whether this call wrote. */
  readonly changed: boolean;
}

export interface UpdateOptions<T> {
  readonly serialize?: (value: T) => string;
  /** Reads the current value; defaults to parsing the stored JSON. */
  readonly parse?: (object: StoredObject) => T;
}

/**
 * Applies `update` to the stored value until the write wins. `update` returns the new value, or undefined
 * to leave the store as it is; a value serialising to the stored bytes is not written again.
 */
export async function updateJson<T>(
  store: ObjectStore,
  key: string,
  update: (current: T | undefined) => T | undefined | Promise<T | undefined>,
  options: UpdateOptions<T> = {},
): Promise<UpdateResult<T>> {
  const serialize = options.serialize ?? serializeRecord;
  const parse = options.parse ?? ((object: StoredObject) => parseJson<T>(object));
  for (let attempt = 1; ; attempt++) {
    const object = await store.get(key);
    const current = object === undefined ? undefined : parse(object);
    const next = await update(current);
    if (next === undefined) return { value: current, changed: false };
    const body = serialize(next);
    if (object !== undefined && object.body.toString('utf8') === body)
      return { value: current, changed: false };
    try {
      if (object === undefined) {
        if (await store.putIfAbsent(key, body, { contentType: JSON_TYPE }))
          return { value: next, changed: true };
      } else {
        await store.put(key, body, { contentType: JSON_TYPE, ifMatch: object.etag });
        return { value: next, changed: true };
      }
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
    }
    if (attempt >= MAX_UPDATE_ATTEMPTS) {
      throw new ToillessError(
        `${key} kept changing under ${MAX_UPDATE_ATTEMPTS} attempts to update it: the event is left to the bus to retry`,
      );
    }
  }
}
