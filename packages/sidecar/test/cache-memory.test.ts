import { describe, expect, it } from 'vitest';
import type { CachedResponse } from '../src/cache/cached-response.js';
import { MemoryTier } from '../src/cache/memory-tier.js';

const entry = (body: string): CachedResponse => ({
  status: 200,
  body,
  stream: false,
  model: 'gpt-4o-mini',
  storedAt: 1,
});

describe('MemoryTier', () => {
  it('expires entries by TTL on an injected clock', () => {
    let now = 1000;
    const tier = new MemoryTier({ maxBytes: 1 << 20, ttlMs: 100, now: () => now });
    tier.set('a', entry('{"a":1}'));
    tier.set('b', entry('{"b":1}'), 500);
    now += 99;
    expect(tier.get('a')?.body).toBe('{"a":1}');
    now += 2;
    expect(tier.get('a')).toBeUndefined();
    expect(tier.get('b')?.body).toBe('{"b":1}');
    now += 400;
    expect(tier.get('b')).toBeUndefined();
  });

  it('is bounded by bytes, evicting the least recently used', () => {
    const body = 'x'.repeat(1000);
    // Each entry costs its body plus a fixed overhead, so about three fit.
    const tier = new MemoryTier({ maxBytes: 4000, maxEntryBytes: 2000, ttlMs: 60_000 });
    tier.set('1', entry(body));
    tier.set('2', entry(body));
    tier.set('3', entry(body));
    expect(tier.get('1')).toBeDefined(); // now most recently used
    tier.set('4', entry(body));
    expect(tier.bytes).toBeLessThanOrEqual(4000);
    expect(tier.get('2')).toBeUndefined();
    expect(tier.get('1')).toBeDefined();
    expect(tier.get('4')).toBeDefined();
  });

  it('never stores an entry larger than maxEntryBytes', () => {
    const tier = new MemoryTier({ maxBytes: 10_000, maxEntryBytes: 1000, ttlMs: 60_000 });
    tier.set('big', entry('y'.repeat(5000)));
    expect(tier.get('big')).toBeUndefined();
    expect(tier.size).toBe(0);
  });

  it('rejects bad options with a message naming the setting', () => {
    expect(() => new MemoryTier({ maxBytes: 0 })).toThrow(/maxBytes/);
    expect(() => new MemoryTier({ ttlMs: -1 })).toThrow(/ttlMs/);
    expect(() => new MemoryTier({ maxBytes: 1000, maxEntryBytes: 2000 })).toThrow(/maxEntryBytes/);
  });
});
