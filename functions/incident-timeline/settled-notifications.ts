/**
 * Notifications found fully applied with no work left, remembered for a minute. Identical copies
 * arrive in bursts (an Alertmanager HA pair sends each notification once per replica, and retries
 * resend it); answering them from memory spares two store reads each. After a minute a copy is
 * processed again, so pending work is still picked up by the resends of repeat_interval.
 */
import { RecentMap } from '../shared/recent-map.js';

export class SettledNotifications {
  static readonly TTL_MS = 60_000;
  static readonly MAX_ENTRIES = 10_000;
  private readonly settledAt = new RecentMap<string, number>(SettledNotifications.MAX_ENTRIES);

  get size(): number {
    return this.settledAt.size;
  }

  has(id: string, now: number): boolean {
    const at = this.settledAt.get(id);
    if (at === undefined) return false;
    if (now - at < SettledNotifications.TTL_MS) return true;
    this.settledAt.delete(id);
    return false;
  }

  add(id: string, now: number): void {
    this.settledAt.set(id, now);
  }
}
