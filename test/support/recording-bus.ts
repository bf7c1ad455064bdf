/** An EventBus that keeps what it was given, and can be told to refuse, as EventBridge sometimes does. */
import { EventPublishError } from '../../functions/shared/errors.js';
import type { ToillessEvent } from '../../functions/shared/events/types.js';
import type { EventBus } from '../../functions/shared/ports/event-bus.js';

export class RecordingBus implements EventBus {
  /** Every event accepted, in order. */
  readonly published: ToillessEvent[] = [];
  /** How many publish calls were made, accepted or not. */
  attempts = 0;
  private failuresLeft = 0;
  private delayMs = 0;

  /** The next `times` publish calls reject with EventPublishError. */
  failNext(times = 1): this {
    this.failuresLeft = times;
    return this;
  }

  /** Each publish waits this long first, so concurrent requests overlap. */
  delay(ms: number): this {
    this.delayMs = ms;
    return this;
  }

  async publish(events: readonly ToillessEvent[]): Promise<void> {
    this.attempts++;
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      throw new EventPublishError(
        'the bus refused the events (simulated throttling)',
        events.map((event) => event.id),
      );
    }
    this.published.push(...events);
  }
}
