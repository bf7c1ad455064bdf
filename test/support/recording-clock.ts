/** A Clock for tests whose time stands still and whose sleeps return at once. */
import type { Clock } from '../../functions/shared/ports/clock.js';

/** Sleeps are remembered, so backoff is visible in assertions and costs no time. */
export class RecordingClock implements Clock {
  /** Every sleep asked for, in milliseconds, in order. */
  readonly sleeps: number[] = [];

  constructor(private readonly time = new Date('2026-11-28T10:00:00.000Z')) {}

  now(): Date {
    return new Date(this.time);
  }

  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
  }
}
