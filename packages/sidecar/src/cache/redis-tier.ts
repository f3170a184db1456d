/**
 * The shared cache tier in Redis: every replica reads what any replica stored.
 *
 * Owner: the Redis server (shared by all replicas). Bound: `ttlMs` per entry (`SET ... PX`) and
 * `maxEntryBytes` per entry; total memory is bounded by the server's `maxmemory` policy, which
 * the operator sets (`allkeys-lru` suits a cache). Invalidation: TTL, or delete keys under the
 * prefix. Faults: it fails open. Any error, a connection that is not ready, or a command slower
 * than `timeoutMs` is a miss (or a skipped write), counted in `stats`, and never an exception.
 */
import type { RedisConnection } from '../redis/redis-connection.js';
import {
  type CachedResponse,
  type DecodedCachedResponse,
  deserializeCachedResponse,
  serializeCachedResponse,
} from './cached-response.js';

export interface RedisTierOptions {
  /** Only `client` and `isReady` are used, so tests may pass any such pair. */
  readonly connection: Pick<RedisConnection, 'client' | 'isReady'>;
  /** Prepended to every key. Defaults to `switchyard:cache:`. */
  readonly prefix?: string;
  /** Default lifetime of an entry. Defaults to 1 hour. */
  readonly ttlMs?: number;
  /** Longest wait for a GET or SET before it counts as a miss. Defaults to 200 ms. */
  readonly timeoutMs?: number;
  /** Larger entries are not written. Defaults to 4 MiB. */
  readonly maxEntryBytes?: number;
  /** Wall clock in epoch ms, for expiry metadata. Defaults to `Date.now`. */
  readonly now?: () => number;
}

/** What happened to the tier's commands since start; exported as metrics. */
export interface RedisTierStats {
  hits: number;
  misses: number;
  /** Commands that failed (connection errors, server errors, corrupt entries excluded). */
  errors: number;
  timeouts: number;
  /** Entries that were present but could not be decoded, read as misses. */
  corrupt: number;
  /** Lookups and writes skipped because the connection was not ready. */
  skipped: number;
  writes: number;
}

const TIMED_OUT = Symbol('timed out');

/**
 * A fail-open cache tier in Redis.
 *
 * @example
 * const tier = new RedisTier({ connection: createRedisConnection(url) });
 * await tier.set(key, entry);
 * (await tier.get(key))?.entry; // or undefined on a miss, an error or a timeout
 */
export class RedisTier {
  readonly prefix: string;
  readonly ttlMs: number;
  readonly timeoutMs: number;
  readonly maxEntryBytes: number;
  readonly stats: RedisTierStats = {
    hits: 0,
    misses: 0,
    errors: 0,
    timeouts: 0,
    corrupt: 0,
    skipped: 0,
    writes: 0,
  };
  readonly #connection: Pick<RedisConnection, 'client' | 'isReady'>;
  readonly #now: () => number;

  constructor(opts: RedisTierOptions) {
    this.#connection = opts.connection;
    this.prefix = opts.prefix ?? 'switchyard:cache:';
    this.ttlMs = opts.ttlMs ?? 60 * 60 * 1000;
    this.timeoutMs = opts.timeoutMs ?? 200;
    this.maxEntryBytes = opts.maxEntryBytes ?? 4 * 1024 * 1024;
    this.#now = opts.now ?? Date.now;
    for (const [name, value] of [
      ['ttlMs', this.ttlMs],
      ['timeoutMs', this.timeoutMs],
      ['maxEntryBytes', this.maxEntryBytes],
    ] as const) {
      if (!Number.isInteger(value) || value <= 0) {
        throw new TypeError(
          `redis cache: ${name} must be a positive integer, got ${String(value)}`,
        );
      }
    }
  }

  /** True when the connection can take commands right now. */
  isReady(): boolean {
    return this.#connection.isReady();
  }

  /** The entry for `key` and its expiry, or `undefined` on a miss or any fault. Never rejects. */
  async get(key: string): Promise<DecodedCachedResponse | undefined> {
    if (!this.#connection.isReady()) {
      this.stats.skipped++;
      return undefined;
    }
    let raw: string | null | typeof TIMED_OUT;
    try {
      raw = await this.#withTimeout(this.#connection.client.get(this.prefix + key));
    } catch {
      this.stats.errors++;
      return undefined;
    }
    if (raw === TIMED_OUT) {
      this.stats.timeouts++;
      return undefined;
    }
    if (raw === null) {
      this.stats.misses++;
      return undefined;
    }
    const decoded = deserializeCachedResponse(raw);
    if (decoded === undefined) {
      this.stats.corrupt++;
      return undefined;
    }
    this.stats.hits++;
    return decoded;
  }

  /**
   * Stores `entry` for `ttlMs` (default `this.ttlMs`). Resolves `true` when Redis acknowledged
   * the write, `false` when it was skipped or failed. Never rejects.
   */
  async set(key: string, entry: CachedResponse, ttlMs: number = this.ttlMs): Promise<boolean> {
    const ttl = Math.ceil(ttlMs);
    if (!(ttl > 0) || entry.body.length > this.maxEntryBytes) return false;
    if (!this.#connection.isReady()) {
      this.stats.skipped++;
      return false;
    }
    const value = serializeCachedResponse(entry, this.#now() + ttl);
    try {
      const result = await this.#withTimeout(
        this.#connection.client.set(this.prefix + key, value, 'PX', ttl),
      );
      if (result === TIMED_OUT) {
        this.stats.timeouts++;
        return false;
      }
      this.stats.writes++;
      return true;
    } catch {
      this.stats.errors++;
      return false;
    }
  }

  /** Removes one entry. Never rejects; resolves whether a key was removed. */
  async delete(key: string): Promise<boolean> {
    if (!this.#connection.isReady()) return false;
    try {
      const n = await this.#withTimeout(this.#connection.client.del(this.prefix + key));
      return n === 1;
    } catch {
      return false;
    }
  }

  #withTimeout<T>(promise: Promise<T>): Promise<T | typeof TIMED_OUT> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(resolve, this.timeoutMs, TIMED_OUT);
    });
    // The losing command may still reject later; nobody awaits it then, so swallow it here.
    promise.catch(() => undefined);
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }
}
