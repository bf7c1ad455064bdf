/**
 * Ports whose adapter is loaded on first use. A Lambda handler builds its ports at cold start; wrapping
 * the S3 store and the EventBridge bus in these keeps their SDK clients out of the import, and out of
 * the invocation altogether when the path does not touch them (an intake that rejects a request, an
 * Alertmanager notification small enough for the bus).
 */

import type { ToillessEvent } from '../../events/types.js';
import { lazily } from '../../lazily.js';
import type { EventBus } from '../../ports/event-bus.js';
import type { FileUpload, Message, MessageRef, Notifier } from '../../ports/notifier.js';
import type { ObjectStore, PutOptions, StoredObject } from '../../ports/object-store.js';

export class DeferredObjectStore implements ObjectStore {
  private readonly store: () => Promise<ObjectStore>;

  constructor(load: () => Promise<ObjectStore>) {
    this.store = lazily(load);
  }

  async get(key: string): Promise<StoredObject | undefined> {
    return (await this.store()).get(key);
  }

  async put(key: string, body: Buffer | string, options?: PutOptions): Promise<{ etag: string }> {
    return (await this.store()).put(key, body, options);
  }

  async putIfAbsent(
    key: string,
    body: Buffer | string,
    options?: Omit<PutOptions, 'ifMatch'>,
  ): Promise<boolean> {
    return (await this.store()).putIfAbsent(key, body, options);
  }

  async delete(key: string): Promise<void> {
    return (await this.store()).delete(key);
  }

  async *list(prefix: string): AsyncIterable<string> {
    yield* (await this.store()).list(prefix);
  }
}

export class DeferredEventBus implements EventBus {
  private readonly bus: () => Promise<EventBus>;

  constructor(load: () => Promise<EventBus>) {
    this.bus = lazily(load);
  }

  async publish(events: readonly ToillessEvent[]): Promise<void> {
    return (await this.bus()).publish(events);
  }
}

export class DeferredNotifier implements Notifier {
  private readonly notifier: () => Promise<Notifier>;

  constructor(load: () => Promise<Notifier>) {
    this.notifier = lazily(load);
  }

  async post(message: Message): Promise<MessageRef> {
    return (await this.notifier()).post(message);
  }

  async reply(thread: MessageRef, message: Message): Promise<MessageRef> {
    return (await this.notifier()).reply(thread, message);
  }

  async update(ref: MessageRef, message: Message): Promise<MessageRef> {
    return (await this.notifier()).update(ref, message);
  }

  async upload(file: FileUpload): Promise<{ readonly fileId: string }> {
    return (await this.notifier()).upload(file);
  }
}
