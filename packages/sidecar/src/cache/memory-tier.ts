/**
 * The in-process cache tier: an LRU bounded by bytes and by time.
 *
 * Owner: one sidecar process; it dies with the process. Bound: `maxBytes` in total (an entry's
 * size is its body length plus a fixed allowance for the key and metadata) and `ttlMs` per
 * entry; an entry larger than `maxEntryBytes` is never stored. Invalidation: TTL only (answers
 * for a given key never change meaning; a new routed model or body makes a new key).
 */
import { LRUCache } from 'lru-cache';
import type { CachedResponse } from './cached-response.js';

// Rough cost of the key string, the entry object and the LRU's own slots, per entry.
const ENTRY_OVERHEAD_BYTES = 256;

export interface MemoryTierOptions {
  /** Total bytes of cached bodies. Defaults to 64 MiB. */
  readonly maxBytes?: number;
  /** Entries larger than this are not stored. Defaults to `maxBytes / 8`. */
  readonly maxEntryBytes?: number;
  /** Default lifetime of an entry. Defaults to 5 minutes. */
  readonly ttlMs?: number;
  /** Clock in milliseconds (tests move a number). Defaults to `performance.now`. */
  readonly now?: () => number;
}

/** Validated, frozen options with defaults applied. */
export interface ResolvedMemoryTierOptions {
  readonly maxBytes: number;
  readonly maxEntryBytes: number;
  readonly ttlMs: number;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw new TypeError(`memory cache: ${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/**
 * An LRU of cached answers bounded by bytes and TTL.
 *
 * @example
 * const memory = new MemoryTier({ maxBytes: 64 * 1024 * 1024, ttlMs: 300_000 });
 * memory.set(key, entry);
 * memory.get(key); // entry, until it expires or is evicted
 */
export class MemoryTier {
  readonly options: ResolvedMemoryTierOptions;
  readonly #lru: LRUCache<string, CachedResponse>;

  constructor(opts: MemoryTierOptions = {}) {
    const maxBytes = positiveInteger('maxBytes', opts.maxBytes ?? 64 * 1024 * 1024);
    const maxEntryBytes = positiveInteger(
      'maxEntryBytes',
      opts.maxEntryBytes ?? Math.max(1, Math.floor(maxBytes / 8)),
    );
    if (maxEntryBytes > maxBytes) {
      throw new TypeError(
        `memory cache: maxEntryBytes (${maxEntryBytes}) cannot exceed maxBytes (${maxBytes}); lower it or raise maxBytes`,
      );
    }
    const ttlMs = positiveInteger('ttlMs', opts.ttlMs ?? 5 * 60 * 1000);
    this.options = Object.freeze({ maxBytes, maxEntryBytes, ttlMs });
    const now = opts.now;
    this.#lru = new LRUCache<string, CachedResponse>({
      maxSize: maxBytes,
      maxEntrySize: maxEntryBytes,
      sizeCalculation: (entry) => entry.body.length + ENTRY_OVERHEAD_BYTES,
      ttl: ttlMs,
      // An injected clock must be read on every call, not through lru-cache's 1 ms memo. The +1
      // matters: lru-cache reads a start time of 0 as "no TTL", and test clocks often start at 0.
      ...(now !== undefined ? { perf: { now: () => now() + 1 }, ttlResolution: 0 } : {}),
    });
  }

  /** The entry for `key`, or `undefined` when absent or expired. */
  get(key: string): CachedResponse | undefined {
    return this.#lru.get(key);
  }

  /** Stores `entry`; `ttlMs` overrides the default lifetime. Oversized entries are skipped. */
  set(key: string, entry: CachedResponse, ttlMs?: number): void {
    if (ttlMs !== undefined && !(ttlMs > 0)) return;
    this.#lru.set(key, entry, ttlMs !== undefined ? { ttl: Math.ceil(ttlMs) } : undefined);
  }

  delete(key: string): boolean {
    return this.#lru.delete(key);
  }

  clear(): void {
    this.#lru.clear();
  }

  /** Number of entries (including expired ones not yet purged). */
  get size(): number {
    return this.#lru.size;
  }

  /** Bytes currently accounted for. */
  get bytes(): number {
    return this.#lru.calculatedSize;
  }
}
