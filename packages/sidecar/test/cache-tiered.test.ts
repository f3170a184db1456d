import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CachedResponse } from '../src/cache/cached-response.js';
import { MemoryTier } from '../src/cache/memory-tier.js';
import { RedisTier } from '../src/cache/redis-tier.js';
import { TieredCache } from '../src/cache/tiered-cache.js';
import { createRedisConnection, type RedisConnection } from '../src/redis/redis-connection.js';
import {
  connectSharedRedis,
  deletePrefix,
  REDIS_URL,
  uniquePrefix,
  waitFor,
} from './redis-test-server.js';

const entry: CachedResponse = {
  status: 200,
  body: 'data: {"choices":[]}\n\ndata: [DONE]\n\n',
  stream: true,
  model: 'gpt-4o-mini',
  storedAt: Date.now(),
};

describe('TieredCache with the real Redis', () => {
  let admin: Redis;
  let connection: RedisConnection;
  const prefix = uniquePrefix();

  beforeAll(async () => {
    admin = await connectSharedRedis();
    connection = createRedisConnection(REDIS_URL);
    await waitFor('the cache connection to be ready', () => connection.isReady());
  });
  afterAll(async () => {
    await deletePrefix(admin, prefix);
    await connection.close();
    admin.disconnect();
  });

  it('serves a Redis hit to a fresh process and fills it back into memory', async () => {
    const redis = new RedisTier({ connection, prefix, ttlMs: 60_000 });
    const first = new TieredCache({ memory: new MemoryTier({ ttlMs: 600_000 }), redis });
    first.set('k', entry);
    expect(first.getMemory('k')?.status).toBe('hit-memory');
    await waitFor(
      'the background Redis write',
      async () => (await admin.exists(`${prefix}k`)) === 1,
    );

    // A restarted sidecar: empty memory, same Redis.
    const memory = new MemoryTier({ ttlMs: 600_000 });
    const second = new TieredCache({ memory, redis });
    expect(second.getMemory('k')).toBeUndefined();
    const hit = await second.get('k');
    expect(hit).toEqual({ entry, status: 'hit-redis' });
    expect(second.getMemory('k')).toEqual({ entry, status: 'hit-memory' });
    expect(await second.get('missing')).toBeUndefined();
  });

  it('fills back no longer than the Redis entry has left to live', async () => {
    let wall = Date.now();
    const redis = new RedisTier({ connection, prefix, ttlMs: 60_000, now: () => wall });
    await redis.set('short', entry, 60_000);
    let mono = 0;
    const memory = new MemoryTier({ ttlMs: 600_000, now: () => mono });
    // 59 s later by the wall clock, the Redis copy has 1 s left.
    wall += 59_000;
    const cache = new TieredCache({ memory, redis, now: () => wall });
    expect((await cache.get('short'))?.status).toBe('hit-redis');
    mono += 900;
    expect(cache.getMemory('short')).toBeDefined();
    mono += 200;
    expect(cache.getMemory('short')).toBeUndefined();
  });

  it('works with memory alone', async () => {
    const cache = new TieredCache({ memory: new MemoryTier() });
    cache.set('m', entry);
    expect(await cache.get('m')).toEqual({ entry, status: 'hit-memory' });
    expect(await cache.get('n')).toBeUndefined();
  });
});
