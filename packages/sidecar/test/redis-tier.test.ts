import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CachedResponse } from '../src/cache/cached-response.js';
import { RedisTier } from '../src/cache/redis-tier.js';
import { createRedisConnection, type RedisConnection } from '../src/redis/redis-connection.js';
import {
  connectSharedRedis,
  deletePrefix,
  REDIS_URL,
  sleep,
  uniquePrefix,
  waitFor,
} from './redis-test-server.js';

const entry: CachedResponse = {
  status: 200,
  body: '{"id":"chatcmpl-1","choices":[{"message":{"content":"hi\\nthere"}}]}',
  stream: false,
  model: 'gpt-4o-mini',
  storedAt: Date.now(),
  inputTokens: 5,
  outputTokens: 2,
};

describe('RedisTier against the real Redis', () => {
  let admin: Redis;
  let connection: RedisConnection;
  const prefixes: string[] = [];
  const newTier = (opts: Partial<ConstructorParameters<typeof RedisTier>[0]> = {}) => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    return new RedisTier({ connection, prefix, ...opts });
  };

  beforeAll(async () => {
    admin = await connectSharedRedis();
    connection = createRedisConnection(REDIS_URL);
    await waitFor('the cache connection to be ready', () => connection.isReady());
  });
  afterEach(async () => {
    for (const p of prefixes.splice(0)) await deletePrefix(admin, p);
  });
  afterAll(async () => {
    await connection.close();
    admin.disconnect();
  });

  it('round-trips an entry under its prefix with a PX lifetime', async () => {
    const tier = newTier({ ttlMs: 60_000 });
    expect(await tier.set('k1', entry)).toBe(true);
    const got = await tier.get('k1');
    expect(got?.entry).toEqual(entry);
    expect(got?.expiresAt).toBeGreaterThan(Date.now());
    const pttl = await admin.pttl(`${tier.prefix}k1`);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(60_000);
    expect(await tier.get('other')).toBeUndefined();
    expect(tier.stats).toMatchObject({ hits: 1, misses: 1, writes: 1, errors: 0 });
  });

  it('lets entries expire', async () => {
    const tier = newTier();
    await tier.set('short', entry, 30);
    expect(await admin.pttl(`${tier.prefix}short`)).toBeLessThanOrEqual(30);
    await sleep(80);
    expect(await tier.get('short')).toBeUndefined();
  });

  it('reads a corrupt entry as a miss and counts it', async () => {
    const tier = newTier();
    await admin.set(`${tier.prefix}bad`, 'not a cache entry', 'PX', 60_000);
    await admin.set(`${tier.prefix}truncated`, 'sy1 {"s":200,"t":0', 'PX', 60_000);
    expect(await tier.get('bad')).toBeUndefined();
    expect(await tier.get('truncated')).toBeUndefined();
    expect(tier.stats.corrupt).toBe(2);
    expect(tier.stats.hits).toBe(0);
  });

  it('does not write entries over maxEntryBytes', async () => {
    const tier = newTier({ maxEntryBytes: 16 });
    expect(await tier.set('big', entry)).toBe(false);
    expect(await admin.exists(`${tier.prefix}big`)).toBe(0);
  });

  it('keeps prefixes apart', async () => {
    const a = newTier();
    const b = newTier();
    await a.set('same', entry);
    expect(await b.get('same')).toBeUndefined();
    expect((await a.get('same'))?.entry.body).toBe(entry.body);
  });

  it('turns a server error into a miss, never an exception', async () => {
    const tier = newTier();
    // A key holding a list makes GET fail with WRONGTYPE.
    await admin.rpush(`${tier.prefix}list`, 'x');
    await expect(tier.get('list')).resolves.toBeUndefined();
    expect(tier.stats.errors).toBe(1);
  });
});
