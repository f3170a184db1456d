/**
 * A `RuleStore` held in one process's memory: what the sidecar uses without Redis, and what
 * tests use. Owner: one process; the history is bounded to `maxHistory` entries.
 */
import { randomUUID } from 'node:crypto';
import type { Pin, Rule, RuleChange, RuleMatch, RuleSnapshot, RuleStore } from './rule.js';

export interface MemoryRuleStoreOptions {
  /** Initial content (e.g. restored from a file snapshot). */
  readonly initial?: Partial<Omit<RuleSnapshot, 'version'>>;
  /** Newest entries kept in the history. Defaults to 1000. */
  readonly maxHistory?: number;
  /** Epoch ms. Defaults to `Date.now`. */
  readonly now?: () => number;
  /** Pin id generator. Defaults to `randomUUID`. */
  readonly newId?: () => string;
}

/**
 * Rules and pins in memory. `snapshot()` returns the same frozen object until something changes.
 *
 * @example
 * const store = new MemoryRuleStore();
 * await store.setLearnedRules([rule], [{ at: Date.now(), action: 'created', ruleId: rule.id, detail: '...' }]);
 * store.snapshot().rules; // [rule]
 */
export class MemoryRuleStore implements RuleStore {
  #snapshot: RuleSnapshot;
  readonly #history: RuleChange[] = [];
  readonly #listeners = new Set<(snapshot: RuleSnapshot) => void>();
  readonly #maxHistory: number;
  readonly #now: () => number;
  readonly #newId: () => string;

  constructor(options: MemoryRuleStoreOptions = {}) {
    const maxHistory = options.maxHistory ?? 1000;
    if (!Number.isInteger(maxHistory) || maxHistory < 1) {
      throw new RangeError(
        `MemoryRuleStore: maxHistory must be a positive integer, got ${maxHistory}`,
      );
    }
    this.#maxHistory = maxHistory;
    this.#now = options.now ?? Date.now;
    this.#newId = options.newId ?? randomUUID;
    const init = options.initial ?? {};
    this.#snapshot = Object.freeze({
      version: 1,
      rules: Object.freeze([...(init.rules ?? [])]),
      pins: Object.freeze([...(init.pins ?? [])]),
      dryRun: init.dryRun ?? false,
    });
  }

  snapshot(): RuleSnapshot {
    return this.#snapshot;
  }

  async setLearnedRules(rules: readonly Rule[], changes: readonly RuleChange[]): Promise<void> {
    this.#replace({ rules: Object.freeze([...rules]) });
    this.#record(changes);
  }

  async pin(match: RuleMatch, note?: string): Promise<Pin> {
    const at = this.#now();
    const pin: Pin = Object.freeze({
      id: this.#newId(),
      match: Object.freeze({ ...match }),
      createdAt: at,
      ...(note !== undefined ? { note } : {}),
    });
    this.#replace({ pins: Object.freeze([...this.#snapshot.pins, pin]) });
    this.#record([{ at, action: 'pinned', pinId: pin.id, detail: describeMatch(match) }]);
    return pin;
  }

  async unpin(id: string): Promise<boolean> {
    const pins = this.#snapshot.pins.filter((p) => p.id !== id);
    if (pins.length === this.#snapshot.pins.length) return false;
    this.#replace({ pins: Object.freeze(pins) });
    this.#record([{ at: this.#now(), action: 'unpinned', pinId: id, detail: `pin ${id} removed` }]);
    return true;
  }

  async setDryRun(dryRun: boolean): Promise<void> {
    if (dryRun === this.#snapshot.dryRun) return;
    this.#replace({ dryRun });
    this.#record([
      { at: this.#now(), action: 'dry-run', detail: `dry-run ${dryRun ? 'on' : 'off'}` },
    ]);
  }

  async history(limit = 100): Promise<readonly RuleChange[]> {
    const n = Math.max(0, Math.min(limit, this.#history.length));
    return this.#history.slice(this.#history.length - n).reverse();
  }

  subscribe(listener: (snapshot: RuleSnapshot) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    this.#listeners.clear();
  }

  #replace(patch: Partial<Omit<RuleSnapshot, 'version'>>): void {
    this.#snapshot = Object.freeze({
      ...this.#snapshot,
      ...patch,
      version: this.#snapshot.version + 1,
    });
    for (const listener of this.#listeners) {
      try {
        listener(this.#snapshot);
      } catch {
        // A listener's bug must not stop the others from seeing the new rules.
      }
    }
  }

  #record(changes: readonly RuleChange[]): void {
    for (const c of changes) this.#history.push(c);
    const excess = this.#history.length - this.#maxHistory;
    if (excess > 0) this.#history.splice(0, excess);
  }
}

/** A short human description of a match, for history entries. */
export function describeMatch(match: RuleMatch): string {
  const parts: string[] = [];
  if (match.agent !== undefined) parts.push(`agent=${match.agent}`);
  if (match.task !== undefined) parts.push(`task=${match.task}`);
  if (match.model !== undefined) parts.push(`model=${match.model}`);
  if (match.minPromptTokens !== undefined) parts.push(`promptTokens>=${match.minPromptTokens}`);
  if (match.maxPromptTokens !== undefined) parts.push(`promptTokens<=${match.maxPromptTokens}`);
  if (match.messagePattern !== undefined) parts.push('messagePattern');
  return parts.length === 0 ? 'all requests' : parts.join(' ');
}
