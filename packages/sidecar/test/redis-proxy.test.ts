/**
 * The whole proxy with Redis: a restarted sidecar answers from Redis, and a Redis outage
 * degrades to memory and upstream, shows in /readyz and /metrics, and heals by itself.
 * Real sockets, the real openai SDK (only baseURL changed), a fake upstream on a real socket.
 */
import type { Redis } from 'ioredis';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSidecar } from '../src/main.js';
import { type FakeUpstream, startFakeUpstream, startTestSidecar } from './proxy-fixtures.js';
import {
  connectSharedRedis,
  deletePrefix,
  OwnRedisServer,
  REDIS_URL,
  uniquePrefix,
  waitFor,
} from './redis-test-server.js';

function clientOf(sidecar: RunningSidecar, apiKey = 'sk-tenant-a'): OpenAI {
  return new OpenAI({ baseURL: sidecar.baseURL, apiKey, maxRetries: 0 });
}

async function ask(client: OpenAI, content: string) {
  const { data, response } = await client.chat.completions
    .create({ model: 'gpt-4o', temperature: 0, messages: [{ role: 'user', content }] })
    .withResponse();
  return { data, cache: response.headers.get('x-switchyard-cache') };
}

async function askStream(client: OpenAI, content: string) {
  const { data: stream, response } = await client.chat.completions
    .create({
      model: 'gpt-4o',
      temperature: 0,
      stream: true,
      messages: [{ role: 'user', content }],
    })
    .withResponse();
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  return { text, cache: response.headers.get('x-switchyard-cache') };
}

async function readyz(sidecar: RunningSidecar): Promise<{ status: number; redis: string }> {
  const res = await fetch(`${sidecar.url}/readyz`);
  const body = (await res.json()) as { redis: string };
  return { status: res.status, redis: body.redis };
}

async function redisUpMetric(sidecar: RunningSidecar): Promise<number> {
  const text = await (await fetch(`${sidecar.url}/metrics`)).text();
  const m = /^switchyard_redis_up(?:\{\})? (\d+)/m.exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

/** `switchyard_redis_cache_operations_total` by outcome, as /metrics shows it. */
async function redisOps(sidecar: RunningSidecar): Promise<Record<string, number>> {
  const text = await (await fetch(`${sidecar.url}/metrics`)).text();
  const ops: Record<string, number> = {};
  for (const m of text.matchAll(
    /^switchyard_redis_cache_operations_total\{outcome="(\w+)"\} (\d+)$/gm,
  )) {
    ops[m[1] as string] = Number(m[2]);
  }
  return ops;
}

async function keysUnder(client: Redis, prefix: string): Promise<string[]> {
  return client.keys(`${prefix}*`);
}

describe('sidecar restart with the shared Redis', () => {
  let upstream: FakeUpstream;
  let admin: Redis;
  const prefix = uniquePrefix();
  const env = { REDIS_URL, SWITCHYARD_REDIS_PREFIX: prefix };
  const started: RunningSidecar[] = [];

  beforeAll(async () => {
    admin = await connectSharedRedis();
    upstream = await startFakeUpstream();
  });
  afterAll(async () => {
    for (const s of started) await s.close();
    await upstream?.close();
    await deletePrefix(admin, prefix);
    admin.disconnect();
  });

  async function start(): Promise<RunningSidecar> {
    const s = await startTestSidecar(upstream, { extraEnv: env });
    started.push(s);
    await waitFor('the sidecar to reach Redis', async () => (await readyz(s)).redis === 'up');
    return s;
  }

  it('answers from Redis after a restart, with memory empty, then from memory', async () => {
    const first = await start();
    const a = await ask(clientOf(first), 'restart question');
    expect(a.cache).toBe('miss');
    const streamed = await askStream(clientOf(first), 'restart stream');
    expect(streamed.cache).toBe('miss');
    expect(streamed.text).toBe('Hello from gpt-4o');
    expect((await ask(clientOf(first), 'restart question')).cache).toBe('hit-memory');
    await waitFor(
      'both answers in Redis',
      async () => (await keysUnder(admin, prefix)).length >= 2,
    );
    const callsBefore = upstream.requests.length;
    const firstOps = await redisOps(first);
    expect(firstOps.write).toBe(2);
    expect(firstOps.miss).toBe(2);
    expect(firstOps.hit).toBe(0);
    await first.close();

    const second = await start();
    const b = await ask(clientOf(second), 'restart question');
    expect(b.cache).toBe('hit-redis');
    expect(b.data).toEqual(a.data);
    const replayed = await askStream(clientOf(second), 'restart stream');
    expect(replayed.cache).toBe('hit-redis');
    expect(replayed.text).toBe(streamed.text);
    // Filled back into the new process's memory.
    expect((await ask(clientOf(second), 'restart question')).cache).toBe('hit-memory');
    expect(upstream.requests.length).toBe(callsBefore);
    const secondOps = await redisOps(second);
    expect(secondOps.hit).toBe(2);
    expect(secondOps.error).toBe(0);

    // Another tenant (another credential) never reads it, from either tier.
    const other = await ask(clientOf(second, 'sk-tenant-b'), 'restart question');
    expect(other.cache).toBe('miss');
    expect(upstream.requests.length).toBe(callsBefore + 1);
  });
});

describe('Redis killed mid-run (own redis-server)', () => {
  let upstream: FakeUpstream;
  let server: OwnRedisServer;
  let probe: Redis;
  const prefix = 'sy-test:outage-proxy:';
  const started: RunningSidecar[] = [];

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    server = await OwnRedisServer.start();
  });
  afterAll(async () => {
    for (const s of started) await s.close();
    probe?.disconnect();
    await upstream?.close();
    await server?.kill();
  });

  async function start(): Promise<RunningSidecar> {
    const s = await startTestSidecar(upstream, {
      extraEnv: { REDIS_URL: server.url, SWITCHYARD_REDIS_PREFIX: prefix },
    });
    started.push(s);
    return s;
  }

  it('keeps serving from memory and upstream, says so, and recovers by itself', async () => {
    const sidecar = await start();
    await waitFor('Redis up', async () => (await readyz(sidecar)).redis === 'up');
    const { Redis: RedisClient } = await import('ioredis');
    probe = new RedisClient(server.url, { lazyConnect: true, retryStrategy: () => 200 });
    probe.on('error', () => undefined);
    await probe.connect();
    const client = clientOf(sidecar);

    expect((await ask(client, 'before outage')).cache).toBe('miss');
    await waitFor('the answer in Redis', async () => (await keysUnder(probe, prefix)).length === 1);

    await server.kill();
    await waitFor(
      'readyz to say Redis is down',
      async () => (await readyz(sidecar)).redis === 'down',
    );
    expect(await redisUpMetric(sidecar)).toBe(0);
    // Degraded but still ready: an outage must not take replicas out of a load balancer.
    expect((await readyz(sidecar)).status).toBe(200);

    // Everything is still served: memory hits, and misses through the upstream.
    const calls = upstream.requests.length;
    expect((await ask(client, 'before outage')).cache).toBe('hit-memory');
    const during = await ask(client, 'during outage');
    expect(during.cache).toBe('miss');
    expect(during.data.choices[0]?.message.content).toBe('answer from gpt-4o');
    expect((await ask(client, 'during outage')).cache).toBe('hit-memory');
    const streamed = await askStream(client, 'stream during outage');
    expect(streamed.text).toBe('Hello from gpt-4o');
    expect(upstream.requests.length).toBe(calls + 2);
    // The outage shows in the tier's own counts: commands skipped (not connected) or failed.
    const ops = await redisOps(sidecar);
    expect((ops.skipped ?? 0) + (ops.error ?? 0) + (ops.timeout ?? 0)).toBeGreaterThan(0);

    // Redis comes back on the same port (empty: no persistence); the sidecar reconnects alone.
    await server.start();
    await waitFor(
      'readyz to say Redis is up again',
      async () => (await readyz(sidecar)).redis === 'up',
    );
    expect((await readyz(sidecar)).status).toBe(200);
    expect(await redisUpMetric(sidecar)).toBe(1);
    expect((await ask(client, 'after outage')).cache).toBe('miss');
    await waitFor('new answers reach Redis again', async () => {
      await probe.ping().catch(() => undefined);
      return (await keysUnder(probe, prefix).catch(() => [])).length === 1;
    });

    // And a second replica reads what the first stored after the recovery.
    const replica = await start();
    await waitFor('replica up', async () => (await readyz(replica)).redis === 'up');
    expect((await ask(clientOf(replica), 'after outage')).cache).toBe('hit-redis');
  });
});
