import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CachedResponse } from '../src/cache/cached-response.js';
import { MemoryTier } from '../src/cache/memory-tier.js';
import { RedisTier } from '../src/cache/redis-tier.js';
import { TieredCache } from '../src/cache/tiered-cache.js';
import {
  createRedisConnection,
  type RedisConnection,
  reconnectDelay,
  redactRedisUrl,
} from '../src/redis/redis-connection.js';
import { OwnRedisServer, waitFor } from './redis-test-server.js';

const entry: CachedResponse = {
  status: 200,
  body: '{"ok":true}',
  stream: false,
  model: 'm',
  storedAt: Date.now(),
};

describe('Redis outage (own redis-server child)', () => {
  let server: OwnRedisServer;
  let connection: RedisConnection;
  const states: boolean[] = [];
  const errors: string[] = [];

  beforeAll(async () => {
    server = await OwnRedisServer.start();
    connection = createRedisConnection(server.url, {
      onStateChange: (ready) => states.push(ready),
      onError: (err) => errors.push(err.message),
      maxReconnectDelayMs: 200,
    });
    await waitFor('the connection to be ready', () => connection.isReady());
  });
  afterAll(async () => {
    await connection?.close();
    await server?.kill();
  });

  it('times out a hung server as a miss, then fails open while it is dead, then recovers', async () => {
    const redis = new RedisTier({ connection, prefix: 'sy-test:outage:', timeoutMs: 100 });
    const cache = new TieredCache({ memory: new MemoryTier(), redis });
    expect(await redis.set('before', entry)).toBe(true);
    expect((await redis.get('before'))?.entry).toEqual(entry);

    // Frozen: the socket stays open, commands get no answer; the tier's timeout turns them into misses.
    server.signal('SIGSTOP');
    await expect(redis.get('before')).resolves.toBeUndefined();
    await expect(redis.set('during-freeze', entry)).resolves.toBe(false);
    expect(redis.stats.timeouts).toBe(2);
    server.signal('SIGCONT');

    // Killed: the connection drops, lookups are skipped at once and writes are dropped.
    await server.kill();
    await waitFor('the connection to notice the outage', () => !connection.isReady());
    expect(states.at(-1)).toBe(false);
    const skippedBefore = redis.stats.skipped;
    await expect(redis.get('before')).resolves.toBeUndefined();
    await expect(redis.set('during-outage', entry)).resolves.toBe(false);
    expect(redis.stats.skipped).toBe(skippedBefore + 2);
    // The tiered cache keeps serving from memory.
    cache.set('mem', entry);
    expect(await cache.get('mem')).toEqual({ entry, status: 'hit-memory' });
    expect(await cache.get('before')).toBeUndefined();

    // Back on the same port: the connection reconnects by itself.
    await server.start();
    await waitFor('the connection to recover by itself', () => connection.isReady());
    expect(states.at(-1)).toBe(true);
    expect(await redis.set('after', entry)).toBe(true);
    expect((await redis.get('after'))?.entry).toEqual(entry);
  });
});

describe('Redis connection start-up and helpers', () => {
  it('returns at once and keeps trying when Redis is down at start', async () => {
    const server = await OwnRedisServer.start();
    await server.kill();
    const connection = createRedisConnection(server.url, { maxReconnectDelayMs: 100 });
    try {
      expect(connection.isReady()).toBe(false);
      const tier = new RedisTier({ connection });
      await expect(tier.get('x')).resolves.toBeUndefined();
      await server.start();
      await waitFor('a late Redis to be picked up', () => connection.isReady());
    } finally {
      await connection.close();
      await server.kill();
    }
  });

  it('never shows the password and backs off with a cap', () => {
    expect(redactRedisUrl('redis://user:s3cret@host:6379/0')).toBe('redis://user:***@host:6379/0');
    expect(redactRedisUrl('redis://host:6379')).not.toContain('***');
    expect(redactRedisUrl('::')).not.toContain('::');
    expect([1, 2, 3, 10, 100].map((n) => reconnectDelay(n, 2000))).toEqual([
      50, 100, 200, 2000, 2000,
    ]);
  });
});
