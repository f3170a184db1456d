/**
 * The rule store shared by all replicas through Redis.
 *
 * Layout (all under `keyPrefix`):
 *   rules:learned   JSON array of the learned rules (replaced whole by the learner)
 *   rules:pins      hash pin id → JSON pin (so two replicas pinning at once both win)
 *   rules:dry-run   "1" or "0"
 *   rules:version   counter, incremented by every change
 *   rules:history   list of JSON changes, newest first, trimmed to `maxHistory`
 *   rules:changed   pub/sub channel; the message is the new version
 * Each change is one MULTI (data + history + version), then a PUBLISH. Every replica (the writer
 * included) reloads on the message, so all apply a change within one round trip; a poll of the
 * version every `pollMs` catches messages lost while a connection was down.
 *
 * `snapshot()` is served from memory. When Redis is down the last snapshot stays in force (fail
 * open); a change made meanwhile is applied locally and written to Redis when it is back.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Pin, Rule, RuleChange, RuleMatch, RuleSnapshot, RuleStore } from '../routing/rule.js';
import {
  describeRuleMatch,
  freezeSnapshot,
  isPin,
  isRule,
  isRuleChange,
  parseJson,
} from './rule-codec.js';

export interface RedisRuleStoreOptions {
  /** A connected (or connecting) client; the store does not close it. */
  readonly client: Redis;
  /** Prefix of every key, e.g. `switchyard:`. */
  readonly keyPrefix: string;
  readonly maxHistory?: number;
  /** Fallback poll of the version. Defaults to 5,000 ms. */
  readonly pollMs?: number;
  readonly now?: () => number;
  readonly newId?: () => string;
  /** Where Redis errors go (the store keeps serving its last snapshot). */
  readonly onError?: (error: unknown) => void;
}

export interface RedisRuleStore extends RuleStore {
  /** Reloads from Redis now (tests and start-up). Resolves false when Redis is unreachable. */
  reload(): Promise<boolean>;
}

/**
 * Creates the store and loads the current state (waits at most for one failed round trip when
 * Redis is down; the store then starts empty and catches up when Redis returns).
 * @example const store = await openRedisRuleStore({ client: redis, keyPrefix: 'switchyard:' });
 */
export async function openRedisRuleStore(options: RedisRuleStoreOptions): Promise<RedisRuleStore> {
  const { client } = options;
  const maxHistory = options.maxHistory ?? 1000;
  if (!Number.isInteger(maxHistory) || maxHistory < 1) {
    throw new RangeError(`maxHistory must be a positive integer, got ${maxHistory}`);
  }
  const now = options.now ?? Date.now;
  const newId = options.newId ?? randomUUID;
  const onError = options.onError ?? (() => {});
  const k = {
    learned: `${options.keyPrefix}rules:learned`,
    pins: `${options.keyPrefix}rules:pins`,
    dryRun: `${options.keyPrefix}rules:dry-run`,
    version: `${options.keyPrefix}rules:version`,
    history: `${options.keyPrefix}rules:history`,
    channel: `${options.keyPrefix}rules:changed`,
  };

  // The local version only ever grows, so the router's version check never mistakes two
  // different snapshots for one; the Redis version is tracked apart to spot stale reloads.
  let localVersion = 0;
  let redisVersion = -1;
  let snapshot: RuleSnapshot = freezeSnapshot({ version: 0, rules: [], pins: [], dryRun: false });
  // Changes made while Redis was unreachable, to be written when it is back.
  let pendingPush = false;
  let pendingHistory: RuleChange[] = [];
  let pushing: Promise<void> | undefined;
  let closed = false;
  const listeners = new Set<(s: RuleSnapshot) => void>();

  function publishLocal(patch: Omit<RuleSnapshot, 'version'>): void {
    localVersion += 1;
    snapshot = freezeSnapshot({ ...patch, version: localVersion });
    for (const l of listeners) {
      try {
        l(snapshot);
      } catch {
        // One listener's bug must not keep the others from seeing the new rules.
      }
    }
  }

  async function reload(): Promise<boolean> {
    if (closed) return false;
    try {
      if (pendingPush) {
        // Several reloads can start at once after an outage (poll, reconnect events): one push.
        pushing ??= push().finally(() => {
          pushing = undefined;
        });
        await pushing;
      }
      const res = await client
        .multi()
        .get(k.version)
        .get(k.learned)
        .hgetall(k.pins)
        .get(k.dryRun)
        .exec();
      if (res === null) return false;
      for (const [err] of res) if (err) throw err;
      const version = Number(res[0]?.[1] ?? 0);
      if (version === redisVersion && localVersion > 0) return true;
      redisVersion = version;
      const learnedRaw = parseJson(res[1]?.[1] as string | null);
      const rules = Array.isArray(learnedRaw) ? learnedRaw.filter(isRule) : [];
      const pinsRaw = (res[2]?.[1] ?? {}) as Record<string, string>;
      const pins = Object.values(pinsRaw)
        .map((t) => parseJson(t))
        .filter(isPin)
        .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
      publishLocal({ rules, pins, dryRun: res[3]?.[1] === '1' });
      return true;
    } catch (err) {
      onError(err);
      return false;
    }
  }

  /** Writes the whole local state (after an outage). */
  async function push(): Promise<void> {
    const m = client.multi().set(k.learned, JSON.stringify(snapshot.rules)).del(k.pins);
    for (const p of snapshot.pins) m.hset(k.pins, p.id, JSON.stringify(p));
    m.set(k.dryRun, snapshot.dryRun ? '1' : '0');
    const written = pendingHistory.length;
    for (const c of pendingHistory) m.lpush(k.history, JSON.stringify(c));
    m.ltrim(k.history, 0, maxHistory - 1).incr(k.version);
    const res = await m.exec();
    if (res === null) throw new Error('Redis transaction aborted');
    for (const [err] of res) if (err) throw err;
    pendingHistory = pendingHistory.slice(written);
    // A change made while this push was in flight is written by the next one.
    pendingPush = pendingHistory.length > 0;
    await client.publish(k.channel, String(res[res.length - 1]?.[1] ?? ''));
  }

  /**
   * Applies a change locally (so this replica is never behind its own writes, even with Redis
   * down) and writes it to Redis; other replicas pick it up from the publish.
   */
  async function change(
    local: Omit<RuleSnapshot, 'version'>,
    write: (m: ReturnType<Redis['multi']>) => void,
    changes: readonly RuleChange[],
  ): Promise<void> {
    publishLocal(local);
    if (pendingPush) {
      pendingHistory.push(...changes);
      await reload();
      return;
    }
    try {
      const m = client.multi();
      write(m);
      for (const c of changes) m.lpush(k.history, JSON.stringify(c));
      m.ltrim(k.history, 0, maxHistory - 1).incr(k.version);
      const res = await m.exec();
      if (res === null) throw new Error('Redis transaction aborted');
      for (const [err] of res) if (err) throw err;
      const version = Number(res[res.length - 1]?.[1]);
      await client.publish(k.channel, String(version));
      // Reload rather than trust the local view: another replica may have changed something
      // this one has not loaded yet, and its message may arrive after ours.
      redisVersion = -1;
      await reload();
    } catch (err) {
      onError(err);
      pendingPush = true;
      pendingHistory.push(...changes);
    }
  }

  // The subscriber queues its SUBSCRIBE until connected (and ioredis resubscribes after a
  // reconnect), whatever the main client's offline-queue setting is.
  const subscriber = client.duplicate({ lazyConnect: false, enableOfflineQueue: true });
  subscriber.on('error', (err: Error) => onError(err));
  subscriber.on('message', (channel: string, message: string) => {
    if (channel !== k.channel) return;
    if (Number(message) === redisVersion) return;
    void reload();
  });
  // After a reconnect, messages may have been missed: resubscribe (ioredis does) and reload.
  subscriber.on('ready', () => {
    void reload();
  });
  const subscribed = subscriber.subscribe(k.channel).catch((err: unknown) => onError(err));
  // The shared client may still be connecting at start-up (or come back after an outage).
  const onClientReady = (): void => {
    void reload();
  };
  client.on('ready', onClientReady);

  const pollMs = options.pollMs ?? 5_000;
  const poll = setInterval(() => {
    void reload();
  }, pollMs);
  poll.unref();

  await Promise.race([subscribed, new Promise((r) => setTimeout(r, 2_000).unref())]);
  await reload();

  const store: RedisRuleStore = {
    snapshot: () => snapshot,
    reload,
    async setLearnedRules(rules: readonly Rule[], changes: readonly RuleChange[]) {
      const frozen = Object.freeze([...rules]);
      await change(
        { rules: frozen, pins: snapshot.pins, dryRun: snapshot.dryRun },
        (m) => m.set(k.learned, JSON.stringify(frozen)),
        changes,
      );
    },
    async pin(match: RuleMatch, note?: string): Promise<Pin> {
      const at = now();
      const pin: Pin = Object.freeze({
        id: newId(),
        match: Object.freeze({ ...match }),
        createdAt: at,
        ...(note !== undefined ? { note } : {}),
      });
      await change(
        { rules: snapshot.rules, pins: [...snapshot.pins, pin], dryRun: snapshot.dryRun },
        (m) => m.hset(k.pins, pin.id, JSON.stringify(pin)),
        [{ at, action: 'pinned', pinId: pin.id, detail: describeRuleMatch(match) }],
      );
      return pin;
    },
    async unpin(id: string): Promise<boolean> {
      const kept = snapshot.pins.filter((p) => p.id !== id);
      if (kept.length === snapshot.pins.length) {
        // Another replica may hold a pin this one has not loaded yet.
        if (!(await reload()) || snapshot.pins.every((p) => p.id !== id)) return false;
        return store.unpin(id);
      }
      await change(
        { rules: snapshot.rules, pins: kept, dryRun: snapshot.dryRun },
        (m) => m.hdel(k.pins, id),
        [{ at: now(), action: 'unpinned', pinId: id, detail: `pin ${id} removed` }],
      );
      return true;
    },
    async setDryRun(on: boolean) {
      if (on === snapshot.dryRun) return;
      await change(
        { rules: snapshot.rules, pins: snapshot.pins, dryRun: on },
        (m) => m.set(k.dryRun, on ? '1' : '0'),
        [{ at: now(), action: 'dry-run', detail: `dry-run ${on ? 'on' : 'off'}` }],
      );
    },
    async history(limit = 100) {
      const n = Math.max(0, Math.min(limit, maxHistory));
      if (n === 0) return [];
      try {
        const raw = await client.lrange(k.history, 0, n - 1);
        const fromRedis = raw.map((t) => parseJson(t)).filter(isRuleChange);
        return [...[...pendingHistory].reverse(), ...fromRedis].slice(0, n);
      } catch (err) {
        onError(err);
        return [...pendingHistory].reverse().slice(0, n);
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(poll);
      client.off('ready', onClientReady);
      listeners.clear();
      subscriber.disconnect();
    },
  };
  return store;
}
