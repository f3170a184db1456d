/**
 * Memory first, then Redis; Redis hits are copied back into memory.
 *
 * Reads: `getMemory` is synchronous so the proxy can answer a memory hit without an extra
 * microtask; `get` tries memory, then Redis. Writes: memory at once, Redis fire-and-forget so a
 * slow or absent Redis never delays the response. A Redis hit is filled back into memory for no
 * longer than its remaining Redis lifetime (and no longer than the memory tier's own TTL).
 */
import type { CachedResponse } from './cached-response.js';
import type { MemoryTier } from './memory-tier.js';
import type { RedisTier } from './redis-tier.js';

export type CacheLookup = { entry: CachedResponse; status: 'hit-memory' | 'hit-redis' };

export interface TieredCacheOptions {
  readonly memory: MemoryTier;
  readonly redis?: RedisTier;
  /** Wall clock in epoch ms, to compute remaining lifetimes. Defaults to `Date.now`. */
  readonly now?: () => number;
}

/**
 * The two-tier cache the proxy uses.
 *
 * @example
 * const cache = new TieredCache({ memory: new MemoryTier(), redis: new RedisTier({ connection }) });
 * const hit = cache.getMemory(key) ?? (await cache.get(key));
 * if (!hit) cache.set(key, entry);
 */
export class TieredCache {
  readonly memory: MemoryTier;
  readonly redis: RedisTier | undefined;
  readonly #now: () => number;

  constructor(opts: TieredCacheOptions) {
    this.memory = opts.memory;
    this.redis = opts.redis;
    this.#now = opts.now ?? Date.now;
  }

  /** A memory-tier hit, synchronously, or `undefined`. */
  getMemory(key: string): CacheLookup | undefined {
    const entry = this.memory.get(key);
    return entry === undefined ? undefined : { entry, status: 'hit-memory' };
  }

  /** Memory, then Redis. Never rejects: a Redis fault is a miss. */
  async get(key: string): Promise<CacheLookup | undefined> {
    const hit = this.getMemory(key);
    if (hit !== undefined || this.redis === undefined) return hit;
    const decoded = await this.redis.get(key);
    if (decoded === undefined) return undefined;
    const remaining =
      decoded.expiresAt !== undefined
        ? Math.min(decoded.expiresAt - this.#now(), this.memory.options.ttlMs)
        : undefined;
    if (remaining === undefined || remaining > 0) this.memory.set(key, decoded.entry, remaining);
    return { entry: decoded.entry, status: 'hit-redis' };
  }

  /** Stores in memory now and in Redis in the background. `ttlMs` applies to both tiers. */
  set(key: string, entry: CachedResponse, ttlMs?: number): void {
    this.memory.set(key, entry, ttlMs);
    if (this.redis !== undefined) void this.redis.set(key, entry, ttlMs);
  }
}
