import { describe, expect, it } from 'vitest';
import { RecentMap } from '../../../functions/shared/recent-map.js';

describe('RecentMap', () => {
  it('keeps at most maxEntries, forgetting the least recently used first', () => {
    // Prepare
    const map = new RecentMap<string, string>(1_000);
    for (let n = 0; n < 1_000; n++) map.set(`key-${n}`, `value-${n}`);
    map.get('key-0'); // used again: no longer the oldest

    // Act
    map.set('one-more', 'more');
    map.set('and-another', 'another');

    // Assess
    expect(map.size).toBe(1_000);
    expect(map.get('key-0')).toBe('value-0');
    expect(map.get('key-1')).toBeUndefined();
    expect(map.get('key-2')).toBeUndefined();
    expect(map.get('key-3')).toBe('value-3');
    expect(map.get('and-another')).toBe('another');
  });

  it('replaces the value of a key set again without growing', () => {
    // Prepare
    const map = new RecentMap<string, number>(2);

    // Act
    map.set('a', 1);
    map.set('a', 2);
    map.set('b', 3);

    // Assess
    expect(map.size).toBe(2);
    expect(map.get('a')).toBe(2);
  });

  it('refuses a bound that is not a whole number of at least 1', () => {
    expect(() => new RecentMap(0)).toThrow(/maxEntries must be a whole number of at least 1, got 0/);
  });
});
