/**
 * The rule store without Redis: rules, pins, dry-run and history in memory, written whole to a
 * JSON file after every change (temp file + rename, so a crash mid-write leaves the old file) and
 * read back at start, so a restart loses no rule. The learner's in-memory statistics ride along
 * in the same file (saved with every rule change and at most every `statsSaveIntervalMs`).
 *
 * Owner: one process. Two processes must not share one file (they would overwrite each other);
 * replicas share state through Redis instead.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { MemoryStatsStore, StatsState } from '../learning/stats-store.js';
import type { Pin, Rule, RuleChange, RuleMatch, RuleSnapshot, RuleStore } from '../routing/rule.js';
import { describeRuleMatch, freezeSnapshot, isPin, isRule, isRuleChange } from './rule-codec.js';

export interface FileSnapshotRuleStoreOptions {
  /** The snapshot file. Without it the store is memory only (tests, or an operator's choice). */
  readonly path?: string;
  /** Statistics saved into and restored from the same file. */
  readonly stats?: MemoryStatsStore;
  /** Newest history entries kept. Defaults to 1000. */
  readonly maxHistory?: number;
  /** How often dirty statistics are saved. Defaults to 5,000 ms; 0 saves them only with rules. */
  readonly statsSaveIntervalMs?: number;
  readonly now?: () => number;
  readonly newId?: () => string;
  /** Where write errors go (the store keeps working in memory). Defaults to ignoring them. */
  readonly onError?: (error: unknown) => void;
}

/** What the file holds. */
interface SnapshotFile {
  readonly format: 'switchyard-rules/1';
  readonly savedAt: number;
  readonly rules: readonly Rule[];
  readonly pins: readonly Pin[];
  readonly dryRun: boolean;
  /** Oldest first. */
  readonly history: readonly RuleChange[];
  readonly stats?: StatsState;
}

export interface FileSnapshotRuleStore extends RuleStore {
  /** Writes the file now (rules, and statistics if any). */
  flush(): Promise<void>;
}

/**
 * Opens the store, reading the snapshot file if it exists. A corrupt file is reported through
 * `onError` and renamed aside (`.corrupt-<time>`) so that it is not overwritten.
 * @example const store = await openFileSnapshotRuleStore({ path: '.switchyard/rules.json', stats });
 */
export async function openFileSnapshotRuleStore(
  options: FileSnapshotRuleStoreOptions = {},
): Promise<FileSnapshotRuleStore> {
  const maxHistory = options.maxHistory ?? 1000;
  if (!Number.isInteger(maxHistory) || maxHistory < 1) {
    throw new RangeError(`maxHistory must be a positive integer, got ${maxHistory}`);
  }
  const now = options.now ?? Date.now;
  const newId = options.newId ?? randomUUID;
  const onError = options.onError ?? (() => {});
  const path = options.path;

  let rules: readonly Rule[] = [];
  let pins: readonly Pin[] = [];
  let dryRun = false;
  let history: RuleChange[] = [];
  if (path !== undefined) {
    const loaded = await load(path, onError, now);
    if (loaded !== undefined) {
      rules = loaded.rules;
      pins = loaded.pins;
      dryRun = loaded.dryRun;
      history = [...loaded.history].slice(-maxHistory);
      if (loaded.stats !== undefined) options.stats?.importState(loaded.stats);
    }
  }
  let version = 1;
  let snapshot = freezeSnapshot({ version, rules, pins, dryRun });
  const listeners = new Set<(s: RuleSnapshot) => void>();
  let writing: Promise<void> = Promise.resolve();
  let closed = false;

  function replace(patch: Partial<Omit<RuleSnapshot, 'version'>>): void {
    version += 1;
    snapshot = freezeSnapshot({ ...snapshot, ...patch, version });
    for (const l of listeners) {
      try {
        l(snapshot);
      } catch {
        // One listener's bug must not keep the others from seeing the new rules.
      }
    }
  }

  function record(changes: readonly RuleChange[]): void {
    history.push(...changes);
    if (history.length > maxHistory) history = history.slice(-maxHistory);
  }

  // Writes are serialised: each waits for the previous, so the file always ends with the newest.
  function save(): Promise<void> {
    if (path === undefined) return Promise.resolve();
    const next = writing.then(async () => {
      const file: SnapshotFile = {
        format: 'switchyard-rules/1',
        savedAt: now(),
        rules: snapshot.rules,
        pins: snapshot.pins,
        dryRun: snapshot.dryRun,
        history,
        ...(options.stats !== undefined ? { stats: options.stats.exportState() } : {}),
      };
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.${newId()}.tmp`;
      await writeFile(tmp, JSON.stringify(file), { mode: 0o600 });
      await rename(tmp, path);
    });
    writing = next.catch((err) => onError(err));
    return next;
  }

  const statsInterval = options.statsSaveIntervalMs ?? 5_000;
  const timer =
    path !== undefined && options.stats !== undefined && statsInterval > 0
      ? setInterval(() => {
          if (options.stats?.dirty) save().catch(() => {});
        }, statsInterval)
      : undefined;
  timer?.unref();

  return {
    snapshot: () => snapshot,
    async setLearnedRules(next, changes) {
      replace({ rules: Object.freeze([...next]) });
      record(changes);
      await save();
    },
    async pin(match: RuleMatch, note?: string) {
      const at = now();
      const pin: Pin = Object.freeze({
        id: newId(),
        match: Object.freeze({ ...match }),
        createdAt: at,
        ...(note !== undefined ? { note } : {}),
      });
      replace({ pins: Object.freeze([...snapshot.pins, pin]) });
      record([{ at, action: 'pinned', pinId: pin.id, detail: describeRuleMatch(match) }]);
      await save();
      return pin;
    },
    async unpin(id) {
      const kept = snapshot.pins.filter((p) => p.id !== id);
      if (kept.length === snapshot.pins.length) return false;
      replace({ pins: Object.freeze(kept) });
      record([{ at: now(), action: 'unpinned', pinId: id, detail: `pin ${id} removed` }]);
      await save();
      return true;
    },
    async setDryRun(on) {
      if (on === snapshot.dryRun) return;
      replace({ dryRun: on });
      record([{ at: now(), action: 'dry-run', detail: `dry-run ${on ? 'on' : 'off'}` }]);
      await save();
    },
    async history(limit = 100) {
      const n = Math.max(0, Math.min(limit, history.length));
      return history.slice(history.length - n).reverse();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    flush: save,
    async close() {
      if (closed) return;
      closed = true;
      if (timer !== undefined) clearInterval(timer);
      if (options.stats?.dirty) await save().catch(() => {});
      await writing;
      listeners.clear();
    },
  };
}

async function load(
  path: string,
  onError: (error: unknown) => void,
  now: () => number,
): Promise<SnapshotFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const raw = JSON.parse(text) as Partial<SnapshotFile>;
    if (raw === null || typeof raw !== 'object' || raw.format !== 'switchyard-rules/1') {
      throw new Error('not a switchyard-rules/1 snapshot');
    }
    return {
      format: raw.format,
      savedAt: typeof raw.savedAt === 'number' ? raw.savedAt : 0,
      rules: Array.isArray(raw.rules) ? raw.rules.filter(isRule) : [],
      pins: Array.isArray(raw.pins) ? raw.pins.filter(isPin) : [],
      dryRun: raw.dryRun === true,
      history: Array.isArray(raw.history) ? raw.history.filter(isRuleChange) : [],
      ...(raw.stats !== undefined ? { stats: raw.stats } : {}),
    };
  } catch (err) {
    const aside = `${path}.corrupt-${now()}`;
    onError(
      new Error(
        `rule snapshot ${path} is unreadable (${(err as Error).message}); moved to ${aside}`,
      ),
    );
    await rename(path, aside).catch(() => {});
    return undefined;
  }
}
