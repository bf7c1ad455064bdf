import { describe, expect, it } from 'vitest';
import { SettledNotifications } from '../../../functions/incident-timeline/settled-notifications.js';

describe('Settled notifications', () => {
  it('remembers at most MAX_ENTRIES notifications, forgetting the oldest first', () => {
    // Prepare
    const settled = new SettledNotifications();
    const now = 1_000_000;

    // Act: one more than the bound, as an alert storm of distinct groups would add
    for (let index = 0; index <= SettledNotifications.MAX_ENTRIES; index++) settled.add(`n-${index}`, now);

    // Assess
    expect(settled.size).toBe(SettledNotifications.MAX_ENTRIES);
    expect(settled.has('n-0', now)).toBe(false);
    expect(settled.has('n-1', now)).toBe(true);
    expect(settled.has(`n-${SettledNotifications.MAX_ENTRIES}`, now)).toBe(true);
  });

  it('forgets a notification once its minute has passed', () => {
    // Prepare
    const settled = new SettledNotifications();
    settled.add('n-1', 0);

    // Act and Assess
    expect(settled.has('n-1', SettledNotifications.TTL_MS - 1)).toBe(true);
    expect(settled.has('n-1', SettledNotifications.TTL_MS)).toBe(false);
    expect(settled.size).toBe(0);
  });
});
