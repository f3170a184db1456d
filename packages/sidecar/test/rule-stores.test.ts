import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStatsStore } from '../src/learning/redis-stats-store.js';
import { createMemoryStatsStore } from '../src/learning/stats-store.js';
import type { Rule, RuleSnapshot, RuleStore } from '../src/routing/rule.js';
import { openFileSnapshotRuleStore } from '../src/rules/file-snapshot-rule-store.js';
import { openRedisRuleStore } from '../src/rules/redis-rule-store.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

function rule(id: string, share = 1): Rule {
  return {
    id,
    source: 'learned',
    kind: 'downgrade',
    match: { agent: 'a', task: id, model: 'gpt-4o' },
    targetModel: 'gpt-4o-mini',
    share,
    createdAt: 1,
    updatedAt: 2,
  };
}

/** Resolves with the first snapshot for which `test` holds (the store's own subscription). */
function waitFor(store: RuleStore, test: (s: RuleSnapshot) => boolean): Promise<RuleSnapshot> {
  if (test(store.snapshot())) return Promise.resolve(store.snapshot());
  return new Promise((resolve) => {
    const off = store.subscribe((s) => {
      if (test(s)) {
        off();
        resolve(s);
      }
    });
  });
}

describe('file snapshot rule store', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sy-rules-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps rules, pins, dry-run, history and statistics across a restart', async () => {
    const path = join(dir, 'state', 'rules.json');
    const window = { bucketMs: 60_000, buckets: 10, maxSamplesPerArm: 1000, maxGroups: 100 };
    const stats = createMemoryStatsStore(window);
    const key = { agent: 'a', task: 't', model: 'gpt-4o' };
    stats.add(key, 'gpt-4o', { calls: 3, judged: 2, qualitySum: 1.5 }, 1_000);
    const first = await openFileSnapshotRuleStore({ path, stats, now: () => 5 });
    let v = first.snapshot().version;
    await first.setLearnedRules(
      [rule('t')],
      [{ at: 5, action: 'created', ruleId: 't', detail: 'x' }],
    );
    expect(first.snapshot().version).toBeGreaterThan(v);
    v = first.snapshot().version;
    const pin = await first.pin({ agent: 'refinement' }, 'never');
    await first.setDryRun(true);
    expect(first.snapshot().version).toBeGreaterThan(v);
    await first.close();

    const stats2 = createMemoryStatsStore(window);
    const second = await openFileSnapshotRuleStore({ path, stats: stats2 });
    expect(second.snapshot().rules).toEqual([rule('t')]);
    expect(second.snapshot().pins).toEqual([pin]);
    expect(second.snapshot().dryRun).toBe(true);
    expect((await second.history()).map((h) => h.action)).toEqual(['dry-run', 'pinned', 'created']);
    const [restored] = await stats2.read(1_000);
    expect(restored?.arms['gpt-4o']).toMatchObject({ calls: 3, judged: 2, qualitySum: 1.5 });
    expect(await second.unpin(pin.id)).toBe(true);
    expect(await second.unpin(pin.id)).toBe(false);
    await second.close();
    const onDisk = JSON.parse(await readFile(path, 'utf8'));
    expect(onDisk.pins).toEqual([]);
  });

  it('moves a corrupt file aside and starts empty', async () => {
    const path = join(dir, 'corrupt.json');
    await writeFile(path, '{not json');
    const errors: unknown[] = [];
    const store = await openFileSnapshotRuleStore({ path, onError: (e) => errors.push(e) });
    expect(store.snapshot().rules).toEqual([]);
    expect(String(errors[0])).toContain('unreadable');
    await store.setLearnedRules([rule('u')], []);
    await store.close();
    const again = await openFileSnapshotRuleStore({ path });
    expect(again.snapshot().rules.map((r) => r.id)).toEqual(['u']);
    await again.close();
  });
});

async function connect(url: string): Promise<Redis> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    client.disconnect();
    throw new Error(
      `Redis tests need a Redis at ${url} (set REDIS_URL): ${(err as Error).message}`,
    );
  }
  return client;
}

async function cleanup(client: Redis, prefix: string): Promise<void> {
  const keys = await client.keys(`${prefix}*`);
  if (keys.length > 0) await client.del(...keys);
}

describe('Redis rule store', () => {
  let a: Redis;
  let b: Redis;
  const prefix = `sy-test:${randomUUID()}:`;
  beforeAll(async () => {
    a = await connect(REDIS_URL);
    b = await connect(REDIS_URL);
  });
  afterAll(async () => {
    await cleanup(a, prefix);
    a.disconnect();
    b.disconnect();
  });

  it("shows each replica the other's changes through pub/sub", async () => {
    const one = await openRedisRuleStore({ client: a, keyPrefix: prefix, pollMs: 600_000 });
    const two = await openRedisRuleStore({ client: b, keyPrefix: prefix, pollMs: 600_000 });
    try {
      const seen = waitFor(two, (s) => s.rules.length === 1);
      await one.setLearnedRules(
        [rule('t1', 0.5)],
        [{ at: 1, action: 'created', ruleId: 't1', detail: 'd' }],
      );
      expect((await seen).rules[0]).toEqual(rule('t1', 0.5));

      const pinned = waitFor(one, (s) => s.pins.length === 1);
      const pin = await two.pin({ task: 't1' }, 'hold');
      expect((await pinned).pins[0]).toEqual(pin);

      const dry = waitFor(two, (s) => s.dryRun);
      await one.setDryRun(true);
      await dry;

      const unpinned = waitFor(two, (s) => s.pins.length === 0);
      expect(await one.unpin(pin.id)).toBe(true);
      await unpinned;
      const history = await two.history(10);
      expect(history.map((h) => h.action)).toEqual(['unpinned', 'dry-run', 'pinned', 'created']);
    } finally {
      await one.close();
      await two.close();
    }
  });

  it('loads existing state when a replica starts', async () => {
    const late = await openRedisRuleStore({ client: b, keyPrefix: prefix });
    expect(late.snapshot().rules.map((r) => r.id)).toEqual(['t1']);
    expect(late.snapshot().dryRun).toBe(true);
    await late.close();
  });
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() =>
        typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port')),
      );
    });
  });
}

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  for (let i = 0; i < 100; i++) {
    const c = new Redis(port, '127.0.0.1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    c.on('error', () => {});
    try {
      await c.connect();
      await c.ping();
      c.disconnect();
      return child;
    } catch {
      c.disconnect();
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  child.kill();
  throw new Error('own redis-server did not start');
}

describe('Redis rule store during an outage', () => {
  it('keeps serving the last snapshot, applies local changes, and writes them back', async () => {
    const port = await freePort();
    let server = await startRedis(port);
    const client = new Redis(port, '127.0.0.1', {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => 50,
    });
    const errors: unknown[] = [];
    client.on('error', () => {});
    const prefix = 'sy-test:outage:';
    await new Promise((r) => client.once('ready', r));
    const store = await openRedisRuleStore({
      client,
      keyPrefix: prefix,
      pollMs: 100,
      onError: (e) => errors.push(e),
    });
    try {
      await store.setLearnedRules([rule('kept')], []);
      server.kill('SIGKILL');
      await new Promise((r) => server.once('exit', r));
      expect(await store.reload()).toBe(false);
      expect(store.snapshot().rules.map((r) => r.id)).toEqual(['kept']);
      await store.setLearnedRules(
        [rule('kept'), rule('offline')],
        [{ at: 1, action: 'created', detail: 'offline' }],
      );
      expect(store.snapshot().rules.map((r) => r.id)).toEqual(['kept', 'offline']);
      expect(errors.length).toBeGreaterThan(0);

      server = await startRedis(port); // empty: the offline change must be written back
      const check = new Redis(port, '127.0.0.1');
      try {
        for (let i = 0; i < 100; i++) {
          const raw = await check.get(`${prefix}rules:learned`);
          if (raw?.includes('offline')) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        const raw = await check.get(`${prefix}rules:learned`);
        expect(JSON.parse(raw ?? '[]').map((r: Rule) => r.id)).toEqual(['kept', 'offline']);
        expect(await check.lrange(`${prefix}rules:history`, 0, -1)).toHaveLength(1);
      } finally {
        check.disconnect();
      }
    } finally {
      await store.close();
      client.disconnect();
      server.kill('SIGKILL');
    }
  });
});

describe('Redis stats store', () => {
  let a: Redis;
  let b: Redis;
  const prefix = `sy-test:${randomUUID()}:`;
  const window = { bucketMs: 60_000, buckets: 5, maxSamplesPerArm: 1000, maxGroups: 100 };
  beforeAll(async () => {
    a = await connect(REDIS_URL);
    b = await connect(REDIS_URL);
  });
  afterAll(async () => {
    await cleanup(a, prefix);
    a.disconnect();
    b.disconnect();
  });

  it('aggregates the same numbers on every replica, windowed by bucket', async () => {
    const one = createRedisStatsStore({ client: a, keyPrefix: prefix, ...window, flushMs: 60_000 });
    const two = createRedisStatsStore({ client: b, keyPrefix: prefix, ...window, flushMs: 60_000 });
    const key = { agent: 'a', task: 't', model: 'gpt-4o' };
    const t0 = 10 * 60_000;
    one.add(key, 'gpt-4o', { calls: 1, judged: 1, qualitySum: 1, qualitySquares: 1 }, t0);
    two.add(key, 'gpt-4o', { calls: 1, judged: 1, qualitySum: 0.5, qualitySquares: 0.25 }, t0 + 1);
    two.add(key, 'gpt-4o-mini', { calls: 2, costUsd: 0.002 }, t0 + 60_000);
    await one.flush();
    await two.flush();
    const fromOne = await one.read(t0 + 60_000);
    const fromTwo = await two.read(t0 + 60_000);
    expect(fromOne).toEqual(fromTwo);
    expect(fromOne[0]?.key).toEqual(key);
    expect(fromOne[0]?.arms['gpt-4o']).toMatchObject({
      calls: 2,
      judged: 2,
      qualitySum: 1.5,
      qualitySquares: 1.25,
    });
    expect(fromOne[0]?.arms['gpt-4o-mini']?.costUsd).toBeCloseTo(0.002, 12);
    // Five buckets later the first bucket has left the window.
    const later = await one.read(t0 + 5 * 60_000);
    expect(later[0]?.arms['gpt-4o']).toBeUndefined();
    expect(await a.pttl(`${prefix}stats:${t0}`)).toBeGreaterThan(0);

    expect(await one.tryLead(0)).toBe(true);
    expect(await two.tryLead(0)).toBe(false);
    expect(await one.tryLead(0)).toBe(true);
    await one.close();
    expect(await two.tryLead(0)).toBe(true);
    await two.close();
  });
});
