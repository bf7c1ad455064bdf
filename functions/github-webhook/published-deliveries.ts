/**
 * Deliveries this intake knows are published, by claim key, with their event id. A published record
 * never changes again, so a re-send of one (GitHub's redeliveries, a replay, a person) can be answered
 * 200 duplicate from memory instead of two store reads. Bounded: the least recently seen key goes first.
 */
export class PublishedDeliveries {
  static readonly MAX_ENTRIES = 10_000;
  private readonly eventIds = new Map<string, string>();

  get size(): number {
    return this.eventIds.size;
  }

  /** The event id published for this claim key, when this intake saw it published. */
  eventIdOf(key: string): string | undefined {
    const eventId = this.eventIds.get(key);
    if (eventId !== undefined) {
      // Seen again: it moves to the end, away from eviction.
      this.eventIds.delete(key);
      this.eventIds.set(key, eventId);
    }
    return eventId;
  }

  remember(key: string, eventId: string): void {
    this.eventIds.delete(key);
    this.eventIds.set(key, eventId);
    // Map keeps insertion order: the first entry is the least recently seen.
    if (this.eventIds.size > PublishedDeliveries.MAX_ENTRIES) {
      const oldest = this.eventIds.keys().next().value;
      if (oldest !== undefined) this.eventIds.delete(oldest);
    }
  }
}
