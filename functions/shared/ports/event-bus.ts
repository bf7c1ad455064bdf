import type { ToillessEvent } from '../events/types.js';

/** Publishes toilless events: EventBridge on AWS, in-process locally. Delivery is at-least-once. */
export interface EventBus {
  /** Resolves once every event is accepted by the bus; rejects (EventPublishError) if any is not. */
  publish(events: readonly ToillessEvent[]): Promise<void>;
}

export type EventHandler = (event: ToillessEvent) => Promise<void>;

export interface Subscription {
  /** Names the consumer in logs and in the dead-letter folder. */
  readonly name: string;
  readonly types: readonly ToillessEvent['type'][];
  readonly handler: EventHandler;
}

/** The local bus also delivers: subscribers get events asynchronously, with retries. */
export interface SubscribableEventBus extends EventBus {
  subscribe(subscription: Subscription): void;
  /** Resolves when no delivery is pending or retrying (tests and graceful shutdown use it). */
  idle(): Promise<void>;
}
