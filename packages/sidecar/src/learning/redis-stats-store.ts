/**
 * Learning statistics in Redis, so every replica aggregates the same numbers.
 *
 * One hash per time bucket, `<prefix>stats:<bucketStart>`, with a field per
 * (group, served model, counter) incremented by HINCRBYFLOAT and an expiry of the window plus
 * one bucket: the window is bounded in time by Redis itself. Additions are buffered in memory and
 * flushed every `flushMs` (and before each read) in one pipeline, so recording a call never waits
 * on Redis. When Redis is down the buffer is kept (up to `maxPendingFields`, then new additions
 * are dropped and counted) and flushed when it is back; decisions simply wait for it.
 *
 * `tryLead` is a lease (`<prefix>learner:lease`, SET NX PX) so that only one replica at a time
 * writes learned rules; the others read them through the rule store.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { bucketStart, type StatsStore, type StatsWindow, sumBuckets } from './stats-store.js';
import { ARM_FIELDS, type ArmField, type ArmStats, emptyArm, taskKeyId } from './task-stats.js';

export interface RedisStatsStoreOptions extends StatsWindow {
  readonly client: Redis;
  readonly keyPrefix: string;
  /** How often buffered additions are written. Defaults to 250 ms. */
  readonly flushMs?: number;
  /** Most buffered fields while Redis is unreachable. Defaults to 100,000. */
  readonly maxPendingFields?: number;
  /** Lease length for `tryLead`. Defaults to 5,000 ms. */
  readonly leaseMs?: number;
  readonly onError?: (error: unknown) => void;
}

export interface RedisStatsStore extends StatsStore {
  /** Writes buffered additions now. */
  flush(): Promise<void>;
  /** Additions dropped because the buffer was full during an outage. */
  readonly dropped: number;
}

// Field separator inside a bucket hash: group id (which uses \u001f) / model / counter.
const FS = '\u001e';
const FIELD_SET = new Set<string>(ARM_FIELDS);

// Renew the lease if it is ours, else take it if free.
const LEASE_SCRIPT = `
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if v == false then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`;

/**
 * @example const stats = createRedisStatsStore({ client, keyPrefix: 'switchyard:', bucketMs: 3_600_000, buckets: 24, maxSamplesPerArm: 5000, maxGroups: 10000 });
 */
export function createRedisStatsStore(options: RedisStatsStoreOptions): RedisStatsStore {
  const { client, bucketMs, buckets } = options;
  const onError = options.onError ?? (() => {});
  const maxPending = options.maxPendingFields ?? 100_000;
  const leaseMs = options.leaseMs ?? 5_000;
  const replicaId = randomUUID();
  const ttlMs = bucketMs * (buckets + 1);
  const bucketKey = (start: number) => `${options.keyPrefix}stats:${start}`;
  const leaseKey = `${options.keyPrefix}learner:lease`;
  // bucket start → field → increment
  let pending = new Map<number, Map<string, number>>();
  let pendingFields = 0;
  let dropped = 0;
  const knownGroups = new Set<string>();
  let flushing: Promise<void> | undefined;
  let closed = false;

  function add(
    groupId: string,
    model: string,
    field: ArmField,
    value: number,
    start: number,
  ): void {
    let b = pending.get(start);
    if (b === undefined) {
      b = new Map();
      pending.set(start, b);
    }
    const f = `${groupId}${FS}${model}${FS}${field}`;
    const old = b.get(f);
    if (old === undefined) {
      if (pendingFields >= maxPending) {
        dropped++;
        return;
      }
      pendingFields++;
    }
    b.set(f, (old ?? 0) + value);
  }

  async function flushOnce(): Promise<void> {
    if (pending.size === 0) return;
    const batch = pending;
    pending = new Map();
    pendingFields = 0;
    const m = client.pipeline();
    for (const [start, fields] of batch) {
      const key = bucketKey(start);
      for (const [f, v] of fields) m.hincrbyfloat(key, f, v);
      m.pexpire(key, ttlMs);
    }
    try {
      const res = await m.exec();
      if (res === null) throw new Error('Redis pipeline aborted');
      for (const [err] of res) if (err) throw err;
    } catch (err) {
      onError(err);
      // Put the batch back (merged with what arrived meanwhile) for the next flush. A partial
      // failure can count some fields twice; outages are rare and a window heals in a day.
      for (const [start, fields] of batch) {
        for (const [f, v] of fields) {
          let b = pending.get(start);
          if (b === undefined) {
            b = new Map();
            pending.set(start, b);
          }
          const old = b.get(f);
          if (old === undefined) pendingFields++;
          b.set(f, (old ?? 0) + v);
        }
      }
      throw err;
    }
  }

  function flush(): Promise<void> {
    if (flushing !== undefined) return flushing.then(() => flushOnce());
    flushing = flushOnce().finally(() => {
      flushing = undefined;
    });
    return flushing;
  }

  const timer = setInterval(() => {
    flush().catch(() => {});
  }, options.flushMs ?? 250);
  timer.unref();

  return {
    get dropped() {
      return dropped;
    },
    add(key, servedModel, delta, atMs) {
      if (closed) return;
      const groupId = taskKeyId(key);
      if (!knownGroups.has(groupId)) {
        if (knownGroups.size >= options.maxGroups) return;
        knownGroups.add(groupId);
      }
      const start = bucketStart(atMs, bucketMs);
      for (const f of ARM_FIELDS) {
        const v = delta[f];
        if (v !== undefined && v !== 0 && Number.isFinite(v))
          add(groupId, servedModel, f, v, start);
      }
    },
    async read(nowMs) {
      await flush();
      const newest = bucketStart(nowMs, bucketMs);
      const starts: number[] = [];
      for (let i = 0; i < buckets; i++) starts.push(newest - i * bucketMs);
      const m = client.pipeline();
      for (const s of starts) m.hgetall(bucketKey(s));
      const res = await m.exec();
      if (res === null) throw new Error('Redis pipeline aborted');
      const parsed: Map<string, Map<string, ArmStats>>[] = [];
      for (const [err, value] of res) {
        if (err) throw err;
        const bucket = new Map<string, Map<string, ArmStats>>();
        for (const [f, v] of Object.entries((value ?? {}) as Record<string, string>)) {
          const parts = f.split(FS);
          if (parts.length !== 3) continue;
          const [groupId, model, field] = parts as [string, string, string];
          if (!FIELD_SET.has(field)) continue;
          let arms = bucket.get(groupId);
          if (arms === undefined) {
            arms = new Map();
            bucket.set(groupId, arms);
          }
          let arm = arms.get(model);
          if (arm === undefined) {
            arm = emptyArm();
            arms.set(model, arm);
          }
          const n = Number(v);
          if (Number.isFinite(n)) arm[field as ArmField] += n;
        }
        parsed.push(bucket);
      }
      // Groups other replicas created count toward this replica's bound too.
      return sumBuckets(parsed, options.maxSamplesPerArm);
    },
    async tryLead() {
      try {
        const r = await client.eval(LEASE_SCRIPT, 1, leaseKey, replicaId, String(leaseMs));
        return r === 1;
      } catch (err) {
        onError(err);
        return false;
      }
    },
    flush,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await flush().catch(() => {});
      // Give the lease up so another replica takes over at once.
      await client
        .eval(
          "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
          1,
          leaseKey,
          replicaId,
        )
        .catch(() => {});
    },
  };
}
