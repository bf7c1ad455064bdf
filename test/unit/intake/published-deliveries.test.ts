import { describe, expect, it } from 'vitest';
import { PublishedDeliveries } from '../../../functions/github-webhook/published-deliveries.js';

describe('PublishedDeliveries', () => {
  it('keeps at most MAX_ENTRIES keys, forgetting the least recently seen first', () => {
    // Prepare
    const published = new PublishedDeliveries();
    for (let n = 0; n < PublishedDeliveries.MAX_ENTRIES; n++) published.remember(`key-${n}`, `event-${n}`);
    published.eventIdOf('key-0'); // seen again: no longer the oldest

    // Act
    published.remember('one-more', 'event-more');
    published.remember('and-another', 'event-another');

    // Assess
    expect(published.size).toBe(PublishedDeliveries.MAX_ENTRIES);
    expect(published.eventIdOf('key-0')).toBe('event-0');
    expect(published.eventIdOf('key-1')).toBeUndefined();
    expect(published.eventIdOf('key-2')).toBeUndefined();
    expect(published.eventIdOf('key-3')).toBe('event-3');
    expect(published.eventIdOf('and-another')).toBe('event-another');
  });

  it('knows nothing it was not told', () => {
    expect(new PublishedDeliveries().eventIdOf('webhooks/github/abc.json')).toBeUndefined();
  });
});
