/**
 * Where the learner's windowed statistics live. The window is a ring of time buckets (bounded in
 * time) and a decision reads at most `maxSamplesPerArm` judged calls per arm, newest buckets first
 * (bounded in count), so old behaviour ages out and a busy task does not drown a quiet one.
 *
 * `createMemoryStatsStore` keeps them in this process (and can be saved into the snapshot file);
 * `createRedisStatsStore` (redis-stats-store.ts) keeps them in Redis for all replicas.
 */
import {
  type ArmStats,
  addArm,
  emptyArm,
  parseTaskKeyId,
  type TaskKey,
  type TaskStats,
  taskKeyId,
} from './task-stats.js';

export interface StatsWindow {
  /** Width of one bucket in ms. */
  readonly bucketMs: number;
  /** Buckets kept. */
  readonly buckets: number;
  /** Newest judged calls per arm that a read sums; older buckets are skipped once reached. */
  readonly maxSamplesPerArm: number;
  /** Most groups tracked; additions for further groups are dropped. */
  readonly maxGroups: number;
}

export interface StatsStore {
  /** Adds to one arm's counters in the bucket of `atMs`. Synchronous, never throws. */
  add(key: TaskKey, servedModel: string, delta: Partial<ArmStats>, atMs: number): void;
  /** Every group's sums over the window ending at `nowMs`. */
  read(nowMs: number): Promise<readonly TaskStats[]>;
  /**
   * With several replicas only one should write learned rules at a time; this says whether this
   * replica may (a short lease). A store for one process always answers true.
   */
  tryLead(nowMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** A serialisable copy of in-memory statistics, for the snapshot file. */
export interface StatsState {
  readonly bucketMs: number;
  /** bucket start (ms) → group id → served model → sums. */
  readonly buckets: Record<string, Record<string, Record<string, ArmStats>>>;
}

export interface MemoryStatsStore extends StatsStore {
  exportState(): StatsState;
  importState(state: StatsState): void;
  /** True when something was added since the last `exportState()`. */
  readonly dirty: boolean;
}

type Bucket = Map<string, Map<string, ArmStats>>;

/** Sums buckets newest first, stopping per arm once `maxSamplesPerArm` judged calls are reached. */
export function sumBuckets(
  bucketsNewestFirst: Iterable<ReadonlyMap<string, ReadonlyMap<string, ArmStats>>>,
  maxSamplesPerArm: number,
): TaskStats[] {
  const groups = new Map<string, Map<string, ArmStats>>();
  for (const bucket of bucketsNewestFirst) {
    for (const [groupId, arms] of bucket) {
      let g = groups.get(groupId);
      if (g === undefined) {
        g = new Map();
        groups.set(groupId, g);
      }
      for (const [model, arm] of arms) {
        let total = g.get(model);
        if (total === undefined) {
          total = emptyArm();
          g.set(model, total);
        }
        if (total.judged >= maxSamplesPerArm) continue;
        addArm(total, arm);
      }
    }
  }
  const out: TaskStats[] = [];
  for (const [groupId, arms] of groups) {
    const key = parseTaskKeyId(groupId);
    if (key === undefined) continue;
    out.push({ key, arms: Object.fromEntries(arms) });
  }
  return out;
}

/**
 * Statistics in this process's memory.
 * @example const stats = createMemoryStatsStore({ bucketMs: 3_600_000, buckets: 24, maxSamplesPerArm: 5000, maxGroups: 10000 });
 */
export function createMemoryStatsStore(window: StatsWindow): MemoryStatsStore {
  // bucket start → bucket; Map keeps insertion order, and buckets are created in time order
  // except after an import or a late span, so reads sort explicitly.
  const buckets = new Map<number, Bucket>();
  const knownGroups = new Set<string>();
  let dirty = false;

  function prune(nowMs: number): void {
    const oldest = bucketStart(nowMs, window.bucketMs) - (window.buckets - 1) * window.bucketMs;
    for (const start of buckets.keys()) if (start < oldest) buckets.delete(start);
    if (buckets.size === 0) knownGroups.clear();
  }

  const store: MemoryStatsStore = {
    get dirty() {
      return dirty;
    },
    add(key, servedModel, delta, atMs) {
      const groupId = taskKeyId(key);
      if (!knownGroups.has(groupId)) {
        if (knownGroups.size >= window.maxGroups) return;
        knownGroups.add(groupId);
      }
      const start = bucketStart(atMs, window.bucketMs);
      let bucket = buckets.get(start);
      if (bucket === undefined) {
        prune(atMs);
        bucket = new Map();
        buckets.set(start, bucket);
        // A late span can create a bucket older than the window; pruning again drops it.
        if (buckets.size > window.buckets) prune(Math.max(atMs, newestStart()));
      }
      let arms = bucket.get(groupId);
      if (arms === undefined) {
        arms = new Map();
        bucket.set(groupId, arms);
      }
      let arm = arms.get(servedModel);
      if (arm === undefined) {
        arm = emptyArm();
        arms.set(servedModel, arm);
      }
      addArm(arm, delta);
      dirty = true;
    },
    async read(nowMs) {
      prune(nowMs);
      const newest = [...buckets.entries()]
        .filter(([start]) => start <= nowMs)
        .sort((a, b) => b[0] - a[0])
        .map(([, b]) => b);
      return sumBuckets(newest, window.maxSamplesPerArm);
    },
    async tryLead() {
      return true;
    },
    async close() {},
    exportState() {
      dirty = false;
      const out: StatsState['buckets'] = {};
      for (const [start, bucket] of buckets) {
        const b: Record<string, Record<string, ArmStats>> = {};
        for (const [groupId, arms] of bucket) b[groupId] = Object.fromEntries(arms);
        out[String(start)] = b;
      }
      return { bucketMs: window.bucketMs, buckets: out };
    },
    importState(state) {
      if (state === null || typeof state !== 'object' || typeof state.buckets !== 'object') return;
      for (const [startText, groups] of Object.entries(state.buckets)) {
        const start = Number(startText);
        if (!Number.isFinite(start) || groups === null || typeof groups !== 'object') continue;
        for (const [groupId, arms] of Object.entries(groups)) {
          const key = parseTaskKeyId(groupId);
          if (key === undefined || arms === null || typeof arms !== 'object') continue;
          for (const [model, arm] of Object.entries(arms)) {
            if (arm !== null && typeof arm === 'object') store.add(key, model, arm, start);
          }
        }
      }
      dirty = false;
    },
  };

  function newestStart(): number {
    let max = Number.NEGATIVE_INFINITY;
    for (const s of buckets.keys()) if (s > max) max = s;
    return max;
  }

  return store;
}

export function bucketStart(atMs: number, bucketMs: number): number {
  return Math.floor(atMs / bucketMs) * bucketMs;
}
